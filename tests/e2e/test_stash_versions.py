"""Which Stash versions the real-Stash tiers accept, and which release-check URL each asks.

These run without Stash. The facts come from Stash's internal/build/version.go (IsDevelop)
and internal/api/check_version.go (GetLatestRelease), the same at v0.30.1 and on develop.
"""
from __future__ import annotations

import pytest

from tests.e2e.stash_versions import (
    LATEST_DEVELOP_URL,
    LATEST_RELEASE_URL,
    MINIMUM_VERSION,
    StashVersion,
    UnreadableVersion,
    is_develop_build,
    is_supported,
    release_check_url,
)


def test_a_release_and_a_develop_build_are_parsed() -> None:
    assert StashVersion.parse("v0.30.1") == StashVersion(0, 30, 1, 0)
    develop = StashVersion.parse("v0.30.1-57-gabc")
    assert (develop.major, develop.minor, develop.patch, develop.commits_after_release) == (0, 30, 1, 57)
    assert str(develop) == "v0.30.1-57-gabc"


@pytest.mark.parametrize("older, newer", [
    ("v0.30.0", "v0.30.1"),
    ("v0.30.1", "v0.30.1-1-gabc"),           # develop after a release comes after it
    ("v0.30.1-19-gcf3489efd", "v0.30.1-57-gabc"),
    ("v0.30.1-57-gabc", "v0.30.2"),
    ("v0.30.9", "v0.31.0"),
    ("v0.31.0", "v0.100.0"),                  # numbers, not text
    ("v0.99.99", "v1.0.0"),
])
def test_versions_are_ordered_by_release_then_commits(older: str, newer: str) -> None:
    assert StashVersion.parse(older) < StashVersion.parse(newer)


@pytest.mark.parametrize("text, supported", [
    ("v0.30.1", True),
    ("v0.30.1-57-gabc", True),
    ("v0.31.0", True),
    ("v1.0.0", True),
    ("v0.30.0", False),
    ("v0.30.0-200-g1234567", False),          # develop before v0.30.1 was tagged
    ("v0.29.3", False),
])
def test_v0_30_1_and_later_are_supported(text: str, supported: bool) -> None:
    assert is_supported(StashVersion.parse(text)) is supported
    assert str(MINIMUM_VERSION) == "v0.30.1"


@pytest.mark.parametrize("text", [
    "", "unknown", "cf3489efd", "0.30.1", "v0.30", "v0.30.1 (b23b0267a)", "v0.0.0-alpha",
    "v0.30.1-gabc", "v0.30.1-57-g", "v0.30.1-57-gABC", " v0.30.1", "v0.30.1\n",
])
def test_anything_else_is_refused(text: str) -> None:
    # "unknown" and a bare hash are what Stash reports when built without a version.
    with pytest.raises(UnreadableVersion):
        StashVersion.parse(text)


@pytest.mark.parametrize("version, githash, develop", [
    ("v0.30.1", "b23b0267a", False),
    ("v0.30.1-19-gcf3489efd", "cf3489efd", True),
    ("v0.30.1-57-gabc", "abc", True),
    ("v0.30.1-19-gcf3489efd", "", False),     # Stash needs a git hash too
    ("v0.30.1-19-gcf3489efd\n", "cf3489efd", False),  # Go's $ is the very end
    ("v0.30.1-rc1", "abc", False),
])
def test_develop_build_as_stash_decides_it(version: str, githash: str, develop: bool) -> None:
    assert is_develop_build(version, githash) is develop


def test_release_check_url_is_the_one_that_build_asks() -> None:
    assert release_check_url("v0.30.1", "b23b0267a") == LATEST_RELEASE_URL
    assert release_check_url("v0.30.1-57-gabc", "abc") == LATEST_DEVELOP_URL
    assert release_check_url("v0.30.1-57-gabc", "") == LATEST_RELEASE_URL
    assert LATEST_RELEASE_URL == "https://api.github.com/repos/stashapp/stash/releases/latest"
    assert LATEST_DEVELOP_URL == "https://api.github.com/repos/stashapp/stash/releases/tags/latest_develop"
