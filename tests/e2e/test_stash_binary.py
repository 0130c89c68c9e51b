"""Where the tier finds its Stash binaries, and what it says when there is none.

These run without Stash: they only look at paths and the environment.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.stash_binary import REQUIRE_E2E_ENV, stash_binary_or_skip
from tests.e2e.stash_server import (
    STASH_BINARY_ENV,
    STASH_UI_BINARY_ENV,
    default_stash_binary_path,
    default_stash_ui_binary_path,
    find_stash_binary,
    find_stash_ui_binary,
)


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An XDG cache folder with nothing in it, and no binary named by the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in (STASH_BINARY_ENV, STASH_UI_BINARY_ENV, REQUIRE_E2E_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_cache_paths_sit_side_by_side(empty_cache: Path) -> None:
    assert default_stash_binary_path() == empty_cache / "tagmanager-e2e" / "stash-v0.30.1" / "stash"
    assert default_stash_ui_binary_path() == empty_cache / "tagmanager-e2e" / "stash-v0.30.1-ui" / "stash"


def test_binaries_are_found_at_their_cache_paths(empty_cache: Path) -> None:
    assert find_stash_binary() is None and find_stash_ui_binary() is None
    server = executable(default_stash_binary_path())
    assert find_stash_binary() == server
    assert find_stash_ui_binary() is None
    with_ui = executable(default_stash_ui_binary_path())
    assert find_stash_ui_binary() == with_ui


def test_environment_overrides_the_cache_paths(empty_cache: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    executable(default_stash_binary_path())
    named = executable(tmp_path / "elsewhere" / "stash")
    monkeypatch.setenv(STASH_BINARY_ENV, str(named))
    monkeypatch.setenv(STASH_UI_BINARY_ENV, str(named))
    assert find_stash_binary() == named
    assert find_stash_ui_binary() == named
    named.chmod(0o644)
    assert find_stash_binary() is None, "a named file that cannot run is not used"


def test_no_binary_skips_saying_where_to_put_one(empty_cache: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        stash_binary_or_skip()
    message = str(skipped.value)
    assert str(default_stash_binary_path()) in message
    assert f"${STASH_BINARY_ENV} is not set" in message
    assert "never builds Stash" in message


def test_a_named_binary_that_is_missing_is_named_in_the_skip(empty_cache: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STASH_BINARY_ENV, str(tmp_path / "no-such-stash"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        stash_binary_or_skip()
    assert f"${STASH_BINARY_ENV}={tmp_path / 'no-such-stash'} is not an executable file" in str(skipped.value)


def test_required_tier_fails_instead_of_skipping(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_E2E_ENV, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        stash_binary_or_skip()
    assert str(failed.value).startswith(f"{REQUIRE_E2E_ENV}=1 but no Stash v0.30.1 binary at ")
