"""Where the tiers find their Stash binaries, which ones they run, and what they say when
there is none.

These run without Stash: they look at paths and the environment, and at what a script in
a binary's place prints for `--version` (the real binary's answer is checked against its
GraphQL version in test_real_stash_boots.py).
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
    cached_stash_binaries,
    find_stash_binary,
    find_stash_ui_binary,
    stash_binaries,
)
from tests.e2e.tier_plan import PlannedRun, main, plan_for


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An XDG cache folder with nothing in it, and no binary named by the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in (STASH_BINARY_ENV, STASH_UI_BINARY_ENV, REQUIRE_E2E_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "cache"


def executable(path: Path, script: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}", encoding="utf-8")
    path.chmod(0o755)
    return path


def reporting(path: Path, version_line: str) -> Path:
    """An executable that answers `--version` with the line given, as Stash does."""
    return executable(path, f'[ "$1" = --version ] && echo "{version_line}" && exit 0\nexit 3\n')


def in_cache(empty_cache: Path, folder: str) -> Path:
    return empty_cache / "tagmanager-e2e" / folder / "stash"


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
    assert str(failed.value).startswith(f"{REQUIRE_E2E_ENV}=1 but no Stash v0.30.1-or-later server binary at ")


def test_every_build_in_the_cache_is_found_baseline_first(empty_cache: Path) -> None:
    develop = executable(in_cache(empty_cache, "stash-develop"))
    newer = executable(in_cache(empty_cache, "stash-v0.31.0"))
    baseline = executable(default_stash_binary_path())
    newer_ui = executable(in_cache(empty_cache, "stash-v0.31.0-ui"))
    baseline_ui = executable(default_stash_ui_binary_path())
    not_runnable = in_cache(empty_cache, "stash-v0.32.0")
    executable(not_runnable).chmod(0o644)
    executable(empty_cache / "tagmanager-e2e" / "stash-box" / "stash-box")
    executable(empty_cache / "tagmanager-e2e" / "stash-v0.31.0" / "nested" / "stash")

    assert cached_stash_binaries(with_ui=False) == [baseline, develop, newer]
    assert cached_stash_binaries(with_ui=True) == [baseline_ui, newer_ui]
    assert find_stash_binary() == baseline and find_stash_ui_binary() == baseline_ui


def test_without_the_baseline_the_first_build_by_folder_name_is_used(empty_cache: Path) -> None:
    executable(in_cache(empty_cache, "stash-v0.31.0"))
    develop = executable(in_cache(empty_cache, "stash-develop"))
    assert find_stash_binary() == develop
    assert find_stash_ui_binary() is None


def test_a_named_binary_is_the_only_one_a_tier_uses(empty_cache: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    executable(default_stash_binary_path())
    executable(default_stash_ui_binary_path())
    named = executable(tmp_path / "elsewhere" / "stash")
    monkeypatch.setenv(STASH_UI_BINARY_ENV, str(named))
    assert stash_binaries(with_ui=True) == [named]
    assert stash_binaries(with_ui=False) == [default_stash_binary_path()]
    monkeypatch.setenv(STASH_BINARY_ENV, str(tmp_path / "missing"))
    assert stash_binaries(with_ui=False) == [], "a named file that is not there is not swapped for the cache"


@pytest.mark.parametrize("version_line, verdict, detail", [
    ("v0.30.1 (b23b0267a) - Unofficial Build - 2026-01-11 07:40:19", "run", "v0.30.1"),
    ("v0.30.1-19-gcf3489efd - Unofficial Build - 2026-01-11 08:40:19", "run", "v0.30.1-19-gcf3489efd"),
    ("v0.31.0 (0123abcd) - Official Build", "run", "v0.31.0"),
    ("v0.30.0 (a1b2c3d4) - Official Build", "skip",
     "Stash v0.30.0 is older than v0.30.1, the oldest Stash the tiers support"),
    ("v0.30.0-200-g1234567 - Unofficial Build", "skip",
     "Stash v0.30.0-200-g1234567 is older than v0.30.1, the oldest Stash the tiers support"),
    ("unknown - Unofficial Build", "broken",
     "cannot tell which Stash this is: 'unknown' is not a Stash version (vX.Y.Z or vX.Y.Z-N-g<hash>)"),
    ("", "broken", "cannot tell which Stash this is: '' is not a Stash version (vX.Y.Z or vX.Y.Z-N-g<hash>)"),
])
def test_each_binary_is_run_skipped_or_broken_by_the_version_it_reports(
        empty_cache: Path, version_line: str, verdict: str, detail: str) -> None:
    binary = reporting(in_cache(empty_cache, "stash-any"), version_line)
    assert plan_for(binary) == PlannedRun(verdict, binary, detail)


def test_a_binary_that_fails_to_answer_is_broken(empty_cache: Path) -> None:
    failing = executable(in_cache(empty_cache, "stash-failing"), "exit 3\n")
    assert plan_for(failing) == PlannedRun(
        "broken", failing, f"cannot tell which Stash this is: `{failing} --version` exited with code 3")
    not_a_program = executable(in_cache(empty_cache, "stash-garbage"))
    not_a_program.write_bytes(b"\x00\x01not an executable format")
    verdict = plan_for(not_a_program)
    assert (verdict.verdict, verdict.detail.split(":")[0]) == ("broken", "cannot tell which Stash this is")


def test_the_plan_lists_one_tab_separated_line_per_binary(empty_cache: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    baseline = reporting(default_stash_binary_path(), "v0.30.1 (b23b0267a) - Unofficial Build")
    older = reporting(in_cache(empty_cache, "stash-v0.29.3"), "v0.29.3 (aaaa1111) - Official Build")
    ui = reporting(default_stash_ui_binary_path(), "v0.30.1 (b23b0267a) - Unofficial Build")

    assert main(["server"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"run\t{baseline}\tv0.30.1",
        f"skip\t{older}\tStash v0.29.3 is older than v0.30.1, the oldest Stash the tiers support"]
    assert main(["ui"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"run\t{ui}\tv0.30.1"]
    assert main([]) == 2 and main(["all"]) == 2
    assert capsys.readouterr().out == ""
