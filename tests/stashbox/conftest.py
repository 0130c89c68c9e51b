"""The stash-box tier's servers: one PostgreSQL and one seeded stash-box for the whole session.

Nothing here runs without the hand-built binary and Debian's PostgreSQL. Without them the
tests that need the servers are left out of the run, and the run ends with ONE line naming
what the tier looked for; under TAGMANAGER_REQUIRE_STASHBOX=1 (.ci/run sets it when it finds
the binary) they stay in and fail with that line instead. The modules that also run a real
Stash (REAL_STASH_MODULES) need its binary too (tests/e2e/stash_binary.py): without one they
are left out the same way, with one line of their own, unless TAGMANAGER_REQUIRE_E2E=1.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.e2e.stash_import import import_exact_library
from tests.simulators import generate_library
from tests.stashbox.postgres_server import DebianPostgres, find_postgres_bin_dir
from tests.stashbox.stashbox_binary import (
    REQUIRE_STASHBOX_ENV,
    find_stashbox_binary,
    missing_parts_reason,
    skip_or_fail,
)
from tests.stashbox.real_stash_parts import REQUIRE_E2E_ENV, missing_stash_reason
from tests.stashbox.stashbox_seed import SeededLibrary, seed_library
from tests.stashbox.stashbox_server import RealStashBox

# 2,200 local scenes give about 2,190 StashDB scenes (with the decoys that share fingerprints),
# ~48 of them deleted, ~660 whose fingerprints stash-box does not know, ~165 of those MD5-only.
TIER_SCENES = 2200
TIER_SEED = 21
MD5_ONLY_SHARE = 0.25

TIER_DIR = Path(__file__).resolve().parent
SERVER_FREE_MODULES = frozenset({"test_stashbox_binary.py"})
REAL_STASH_MODULES = frozenset({"test_whole_loop_with_real_stash.py"})
_SKIP_LINES = pytest.StashKey[list]()


def pytest_collection_modifyitems(config, items):
    """Without the binary or PostgreSQL, leave out the tests that need them, and say so once;
    likewise the real-Stash modules without a Stash binary."""
    in_tier = [item for item in items if TIER_DIR in item.path.parents]
    lines = config.stash.setdefault(_SKIP_LINES, [])
    reason = missing_parts_reason()
    if reason is not None and os.environ.get(REQUIRE_STASHBOX_ENV) != "1":
        _leave_out(items, [item for item in in_tier if item.path.name not in SERVER_FREE_MODULES], reason, config)
    with_stash = [item for item in items if item in in_tier and item.path.name in REAL_STASH_MODULES]
    if with_stash and os.environ.get(REQUIRE_E2E_ENV) != "1":
        stash_reason = missing_stash_reason()
        if stash_reason is not None:
            _leave_out(items, with_stash, stash_reason, config)


def _leave_out(items, leaving, reason: str, config) -> None:
    if leaving:
        config.hook.pytest_deselected(items=leaving)
        items[:] = [item for item in items if item not in leaving]
        config.stash[_SKIP_LINES].append(f"{reason} ({len(leaving)} tests left out)")


def pytest_terminal_summary(terminalreporter, config):
    for line in config.stash.get(_SKIP_LINES, []):
        terminalreporter.write_line(f"SKIPPED {line}")


@pytest.fixture(scope="session")
def stashbox_parts() -> tuple[Path, Path]:
    reason = missing_parts_reason()
    if reason is not None:
        skip_or_fail(reason)
    return find_stashbox_binary(), find_postgres_bin_dir()


@pytest.fixture(scope="session")
def postgres(stashbox_parts):
    with DebianPostgres(stashbox_parts[1]) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def stashbox(stashbox_parts, postgres) -> RealStashBox:
    work_dir = Path(tempfile.mkdtemp(prefix="tagmanager-stashbox-"))
    try:
        with RealStashBox(stashbox_parts[0], work_dir, postgres.url_for_stashbox()) as server:
            yield server
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def seeded(stashbox) -> SeededLibrary:
    # Every phash cut to what Stash's import keeps (tests/e2e/stash_import.py), so that the
    # real-Stash modules can import the local side with the very fingerprints stash-box holds.
    library = import_exact_library(generate_library(TIER_SCENES, seed=TIER_SEED, md5_only_share=MD5_ONLY_SHARE))
    return seed_library(stashbox, library)
