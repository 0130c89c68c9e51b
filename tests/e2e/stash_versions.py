"""Which Stash builds the real-Stash tiers accept, and what each build does differently.

The tiers take any Stash from v0.30.1 on: a release (`v0.30.1`, `v0.31.0`) or a build of
Stash's develop line, whose version is `git describe`'s `<tag>-<commits>-g<hash>` (Stash's
Makefile sets it that way), e.g. `v0.30.1-19-gcf3489efd`, which comes after `v0.30.1`.

A build is develop when it has a git hash and its version ends in `-<digits>-g<word>`
(internal/build/version.go IsDevelop). Its start-up release check then asks GitHub for the
release tagged `latest_develop` instead of the latest full release
(internal/api/check_version.go GetLatestRelease); v0.30.1 and the develop line agree on this.

Pure: tier_plan.py reads a binary's version, stash_server.py finds the binaries.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MINIMUM_STASH_VERSION = "v0.30.1"
RELEASES_API = "https://api.github.com/repos/stashapp/stash/releases"
LATEST_RELEASE_URL = f"{RELEASES_API}/latest"
LATEST_DEVELOP_URL = f"{RELEASES_API}/tags/latest_develop"

_VERSION_PATTERN = re.compile(r"v(\d+)\.(\d+)\.(\d+)(?:-(\d+)-g([0-9a-f]+))?")
# Go's \w is ASCII only and its $ is the very end (Python's \w takes any letter, its $ a final newline).
_DEVELOP_SUFFIX = re.compile(r"-\d+-g[0-9A-Za-z_]+\Z")


class UnreadableVersion(ValueError):
    """A version string that is neither a Stash release nor a develop build of one."""


@dataclass(frozen=True, order=True)
class StashVersion:
    """A parsed Stash version; ordered by release, then by commits after that release."""

    major: int
    minor: int
    patch: int
    commits_after_release: int = 0
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> StashVersion:
        match = _VERSION_PATTERN.fullmatch(text)
        if match is None:
            raise UnreadableVersion(f"{text!r} is not a Stash version (vX.Y.Z or vX.Y.Z-N-g<hash>)")
        major, minor, patch, commits, _hash = match.groups()
        return cls(int(major), int(minor), int(patch), int(commits or 0), text)

    def __str__(self) -> str:
        return self.text or f"v{self.major}.{self.minor}.{self.patch}"


MINIMUM_VERSION = StashVersion.parse(MINIMUM_STASH_VERSION)


def is_supported(version: StashVersion) -> bool:
    return version >= MINIMUM_VERSION


def is_develop_build(version_text: str, githash: str) -> bool:
    """Stash's own test: a git hash is set and the version ends in -<digits>-g<word>."""
    return bool(githash) and _DEVELOP_SUFFIX.search(version_text) is not None


def release_check_url(version_text: str, githash: str) -> str:
    """The GitHub URL a Stash with this version and git hash asks for at start-up."""
    return LATEST_DEVELOP_URL if is_develop_build(version_text, githash) else LATEST_RELEASE_URL
