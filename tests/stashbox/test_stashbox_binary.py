"""Where the tier looks for stash-box, and the one line it says when it finds none.

These run without stash-box or PostgreSQL: they only look at paths and the environment.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_stash_binary import executable
from tests.stashbox import stashbox_binary
from tests.stashbox.stashbox_binary import (
    REQUIRE_STASHBOX_ENV,
    STASHBOX_BINARY_ENV,
    default_stashbox_binary_path,
    find_stashbox_binary,
    missing_parts_reason,
    skip_or_fail,
)


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
