"""Find the real Stash binary for the end-to-end tier, building it when Go is here.

The rule every end-to-end module follows:

* a binary at $TAGMANAGER_STASH_BIN or in the cache folder -> use it;
* else, with Go installed -> run ``build_stash.sh`` (module proxy, cached build);
* else, or when the build fails -> skip with the reason, or FAIL with it when
  ``TAGMANAGER_REQUIRE_E2E=1`` (CI sets it, so a skipped tier cannot pass there).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e.stash_server import (
    STASH_BINARY_ENV,
    STASH_VERSION,
    default_stash_binary_path,
    find_stash_binary,
)

REQUIRE_E2E_ENV = "TAGMANAGER_REQUIRE_E2E"
BUILD_SCRIPT = Path(__file__).resolve().parent / "build_stash.sh"
BUILD_TIMEOUT_SECONDS = 45 * 60.0
BUILD_OUTPUT_TAIL_LINES = 12


class StashUnavailable(Exception):
    """No Stash binary could be found or built; the message says why."""


def build_stash(timeout: float = BUILD_TIMEOUT_SECONDS) -> Path:
    """Run build_stash.sh and return the binary it leaves, or raise StashUnavailable."""
    try:
        finished = subprocess.run(
            ["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise StashUnavailable(f"{BUILD_SCRIPT.name} did not finish within {timeout:.0f}s") from None
    binary = find_stash_binary()
    if finished.returncode != 0 or binary is None:
        tail = "\n".join((finished.stderr or finished.stdout).strip().splitlines()[-BUILD_OUTPUT_TAIL_LINES:])
        raise StashUnavailable(f"{BUILD_SCRIPT.name} failed (exit {finished.returncode}):\n{tail}")
    return binary


def locate_or_build_stash() -> Path:
    """The Stash binary to run; builds it when missing and Go is installed."""
    binary = find_stash_binary()
    if binary is not None:
        return binary
    if shutil.which("go") is None:
        raise StashUnavailable(
            f"no Stash {STASH_VERSION} binary (set ${STASH_BINARY_ENV} or place one at "
            f"{default_stash_binary_path()}) and no Go to build one with {BUILD_SCRIPT.name}")
    return build_stash()


def stash_binary_or_skip() -> Path:
    """For fixtures: the binary, else pytest.skip (or pytest.fail under TAGMANAGER_REQUIRE_E2E=1)."""
    import pytest

    try:
        return locate_or_build_stash()
    except StashUnavailable as reason:
        if os.environ.get(REQUIRE_E2E_ENV) == "1":
            pytest.fail(f"{REQUIRE_E2E_ENV}=1 but {reason}", pytrace=False)
        pytest.skip(str(reason))
