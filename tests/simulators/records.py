"""Plain records shared by the library generator and the two simulators.

StashDB side: tags and scenes keyed by uuid strings, fingerprints as the hex
strings a client sends. Local (Stash) side: integer ids, as Stash stores them;
the simulators turn them into GraphQL ``ID`` strings.
"""
from __future__ import annotations

from dataclasses import dataclass

OSHASH = "oshash"
PHASH = "phash"
MD5 = "md5"


@dataclass(frozen=True, slots=True)
class StashDBTag:
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    category: str | None = None
    description: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class StashDBFingerprint:
    """``algorithm`` is a stash-box enum value: ``OSHASH``, ``PHASH`` or ``MD5``."""

    algorithm: str
    hash: str
    duration: int = 0


@dataclass(frozen=True, slots=True)
class StashDBScene:
    id: str
    title: str
    tag_ids: tuple[str, ...] = ()
    fingerprints: tuple[StashDBFingerprint, ...] = ()
    deleted: bool = False
    date: str | None = None
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class LocalStashID:
    endpoint: str
    stash_id: str
    updated_at: str = "2024-12-01T00:00:00Z"


@dataclass(frozen=True, slots=True)
class LocalFingerprint:
    """``type`` is one of Stash's fingerprint types: ``oshash``, ``phash``, ``md5``."""

    type: str
    value: str


@dataclass(frozen=True, slots=True)
class LocalFile:
    id: int
    path: str
    fingerprints: tuple[LocalFingerprint, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalTag:
    id: int
    name: str
    sort_name: str | None = None
    aliases: tuple[str, ...] = ()
    stash_ids: tuple[LocalStashID, ...] = ()
    description: str | None = None
    parent_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalScene:
    """A scene as generated; ``tag_ids`` are the tags it has before any sync."""

    id: int
    title: str
    stash_ids: tuple[LocalStashID, ...] = ()
    files: tuple[LocalFile, ...] = ()
    tag_ids: tuple[int, ...] = ()
    organized: bool = False

    def stash_id_for(self, endpoint: str) -> str | None:
        for stash_id in self.stash_ids:
            if stash_id.endpoint == endpoint:
                return stash_id.stash_id
        return None
