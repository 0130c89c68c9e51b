"""The real Stash binary for the end-to-end tier, or why there is none.

The project never builds Stash: a Stash server binary, v0.30.1 or later, is built by
hand and placed at $TAGMANAGER_STASH_BIN or in the cache folder (`stash-<version>/stash`,
see stash_server.stash_binaries). The rule every end-to-end module follows:

* a binary there -> use it;
* none -> skip, saying where to put one; or FAIL with the same words when
  ``TAGMANAGER_REQUIRE_E2E=1`` (CI sets it, so a skipped tier cannot pass there).
"""
from __future__ import annotations

import os
from pathlib import Path

from tests.e2e.stash_server import (
    STASH_BINARY_ENV,
    default_stash_binary_path,
    find_stash_binary,
)
from tests.e2e.stash_versions import MINIMUM_STASH_VERSION

WANTED = f"Stash {MINIMUM_STASH_VERSION}-or-later server binary"

REQUIRE_E2E_ENV = "TAGMANAGER_REQUIRE_E2E"


def missing_binary_reason() -> str:
    """Why find_stash_binary() found nothing, and where a binary must go."""
    named = os.environ.get(STASH_BINARY_ENV)
    default = default_stash_binary_path()
    if named:
        return (f"${STASH_BINARY_ENV}={named} is not an executable file. The tier never builds Stash: "
                f"point ${STASH_BINARY_ENV} at a {WANTED} built by hand, "
                f"or unset it and put one at {default}")
    return (f"no {WANTED} at {default} (nor at any stash-<version>/stash beside it) and "
            f"${STASH_BINARY_ENV} is not set. The tier never builds Stash: put a {WANTED} built "
            f"by hand at that path, or set ${STASH_BINARY_ENV} to one")


def stash_binary_or_skip() -> Path:
    """For fixtures: the binary, else pytest.skip (or pytest.fail under TAGMANAGER_REQUIRE_E2E=1)."""
    binary = find_stash_binary()
    if binary is not None:
        return binary
    skip_or_fail(missing_binary_reason())


def skip_or_fail(reason: str) -> None:
    """pytest.skip with the reason, or pytest.fail under TAGMANAGER_REQUIRE_E2E=1 (CI sets it
    where the tier can run, so a skip there cannot hide a failure)."""
    import pytest

    if os.environ.get(REQUIRE_E2E_ENV) == "1":
        pytest.fail(f"{REQUIRE_E2E_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)
