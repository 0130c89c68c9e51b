"""Where the stash-box tier finds its server binary and its PostgreSQL, or why it cannot run.

The project never builds stash-box: a binary built by hand from stash-box's public source
(docs/stashbox.md says how) sits at $TAGMANAGER_STASHBOX_BIN or at
`$XDG_CACHE_HOME/tagmanager-e2e/stash-box/stash-box` (~/.cache when XDG_CACHE_HOME is unset).

* both there (binary and Debian PostgreSQL with pg_trgm) -> the tier runs;
* either missing -> the tier skips with one line naming what it looked for, or FAILS with
  that line when TAGMANAGER_REQUIRE_STASHBOX=1 (.ci/run sets it when the binary is there).
"""
from __future__ import annotations

import os
from pathlib import Path

from tests.stashbox.postgres_server import find_postgres_bin_dir, missing_postgres_reason, missing_trigram_reason

STASHBOX_BINARY_ENV = "TAGMANAGER_STASHBOX_BIN"
REQUIRE_STASHBOX_ENV = "TAGMANAGER_REQUIRE_STASHBOX"


def default_stashbox_binary_path() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "tagmanager-e2e" / "stash-box" / "stash-box"


def stashbox_binary_path() -> Path:
    """The path the tier looks at: $TAGMANAGER_STASHBOX_BIN, else the cache path."""
    named = os.environ.get(STASHBOX_BINARY_ENV)
    return Path(named) if named else default_stashbox_binary_path()


def find_stashbox_binary() -> Path | None:
    path = stashbox_binary_path()
    return path if path.is_file() and os.access(path, os.X_OK) else None


def missing_parts_reason() -> str | None:
    """One line naming what is missing and where the tier looked, or None when all is there."""
    if find_stashbox_binary() is None:
        named = " ($TAGMANAGER_STASHBOX_BIN)" if os.environ.get(STASHBOX_BINARY_ENV) else ""
        return (f"stash-box tier: no stash-box binary at {stashbox_binary_path()}{named}; "
                "build one by hand as docs/stashbox.md says")
    bin_dir = find_postgres_bin_dir()
    if bin_dir is None:
        return f"stash-box tier: {missing_postgres_reason()}"
    trigram = missing_trigram_reason(bin_dir)
    return None if trigram is None else f"stash-box tier: {trigram}"


def skip_or_fail(reason: str) -> None:
    import pytest

    if os.environ.get(REQUIRE_STASHBOX_ENV) == "1":
        pytest.fail(f"{REQUIRE_STASHBOX_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)
