"""Where the tier looks for stash-box, and the one line it says when it finds none.

These run without stash-box or PostgreSQL: they only look at paths and the environment.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stash_binary import REQUIRE_E2E_ENV
from tests.e2e.stash_server import STASH_BINARY_ENV, default_stash_binary_path
from tests.e2e.test_stash_binary import executable, reporting
from tests.stashbox import stashbox_binary
from tests.stashbox.stashbox_binary import (
    REQUIRE_STASHBOX_ENV,
    STASHBOX_BINARY_ENV,
    default_stashbox_binary_path,
    find_stashbox_binary,
    missing_parts_reason,
    skip_or_fail,
)
from tests.stashbox.real_stash_parts import missing_stash_reason, real_stash_binary_or_skip


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(STASHBOX_BINARY_ENV, raising=False)
    monkeypatch.delenv(REQUIRE_STASHBOX_ENV, raising=False)
    return tmp_path / "cache"


def test_the_binary_sits_beside_the_stash_binaries(empty_cache):
    assert default_stashbox_binary_path() == empty_cache / "tagmanager-e2e" / "stash-box" / "stash-box"
    assert find_stashbox_binary() is None
    binary = executable(default_stashbox_binary_path())
    assert find_stashbox_binary() == binary


def test_the_environment_names_another_binary(empty_cache, monkeypatch, tmp_path):
    executable(default_stashbox_binary_path())
    named = tmp_path / "elsewhere" / "stash-box"
    monkeypatch.setenv(STASHBOX_BINARY_ENV, str(named))
    assert find_stashbox_binary() is None
    reason = missing_parts_reason()
    assert str(named) in reason and STASHBOX_BINARY_ENV in reason and "\n" not in reason
    executable(named)
    assert find_stashbox_binary() == named


def test_without_postgres_the_reason_names_where_it_looked(empty_cache, monkeypatch):
    executable(default_stashbox_binary_path())
    monkeypatch.setattr(stashbox_binary, "find_postgres_bin_dir", lambda: None)
    reason = missing_parts_reason()
    assert "/usr/lib/postgresql/*/bin" in reason and "\n" not in reason


def test_a_missing_binary_skips_or_fails_when_required(empty_cache, monkeypatch):
    reason = missing_parts_reason()
    assert str(default_stashbox_binary_path()) in reason
    with pytest.raises(pytest.skip.Exception):
        skip_or_fail(reason)
    monkeypatch.setenv(REQUIRE_STASHBOX_ENV, "1")
    with pytest.raises(pytest.fail.Exception):
        skip_or_fail(reason)


@pytest.fixture
def no_stash(empty_cache, monkeypatch) -> Path:
    for name in (STASH_BINARY_ENV, REQUIRE_E2E_ENV):
        monkeypatch.delenv(name, raising=False)
    return default_stash_binary_path()


def test_the_whole_loop_says_in_one_line_where_it_looked_for_stash(no_stash, monkeypatch):
    reason = missing_stash_reason()
    assert reason.startswith("stash-box tier, whole loop with a real Stash: ")
    assert str(no_stash) in reason and STASH_BINARY_ENV in reason and "\n" not in reason
    with pytest.raises(pytest.skip.Exception):
        real_stash_binary_or_skip()
    monkeypatch.setenv(REQUIRE_E2E_ENV, "1")
    with pytest.raises(pytest.fail.Exception):
        real_stash_binary_or_skip()


def test_the_whole_loop_takes_stash_v0_30_1_and_refuses_an_older_one(no_stash):
    older = reporting(no_stash, "v0.29.3 (aaaa1111) - Official Build")
    reason = missing_stash_reason()
    assert "v0.29.3 is older than v0.30.1" in reason and str(older) in reason and "\n" not in reason
    reporting(no_stash, "v0.30.1 (b23b0267a) - Unofficial Build")
    assert missing_stash_reason() is None
    assert real_stash_binary_or_skip() == no_stash
