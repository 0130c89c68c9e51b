"""What a full live sync should do to a generated library, worked out on its own.

This is a deliberately simple second reading of Stash's tag matching
(stash-platform.md §3), written for generated data and independent of the
plugin's matcher:

1. a StashDB tag whose lower-cased name matches an exclude pattern
   (``re.search`` of the lower-cased pattern) is dropped;
2. a local tag with a stash id ``{endpoint == E exactly, stash_id == tag id}``
   wins (the lowest local id if several: SQLite returns rows in rowid order);
3. else a local tag whose name equals the StashDB name, ASCII letters
   compared case-insensitively; 4. else one whose alias does. Several
   candidates: the first by ``sort_name or name`` in natural order.

StashDB names with ``%`` or ``_`` (LIKE wildcards) are outside what this
oracle models; it refuses them rather than guess.

Scene outcomes, for a scene with a stash id for E (others are
``no_stash_id`` and untouched):

* pass 1 finds the scene when any oshash/phash of any of its files matches a
  live StashDB scene whose id is the scene's stash id (``found_by`` =
  ``fingerprint``); otherwise pass 2 looks the id up (``found_by`` = ``id``);
* ``updated``: found and at least one matched tag is new to the scene;
* ``unchanged``: found and nothing new (no tags, none matched, or all present);
* ``stashdb_deleted``: the id names a deleted StashDB scene (stale);
* ``stashdb_not_found``: StashDB does not know the id.

Expected tags after the run: existing ∪ matched for found scenes, existing
otherwise. Unmatched (and excluded) StashDB tag names are counted once per
found scene that carries them.
"""
from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from .records import MD5, LocalScene, LocalTag, StashDBScene, StashDBTag
from .text_rules import ascii_fold, natural_key

UPDATED = "updated"
UNCHANGED = "unchanged"
STASHDB_DELETED = "stashdb_deleted"
STASHDB_NOT_FOUND = "stashdb_not_found"
NO_STASH_ID = "no_stash_id"
CATEGORIES = (UPDATED, UNCHANGED, STASHDB_DELETED, STASHDB_NOT_FOUND, NO_STASH_ID)

FOUND_BY_FINGERPRINT = "fingerprint"
FOUND_BY_ID = "id"

EXCLUDED = "excluded"


class TagOracle:
    """Maps a StashDB tag to a local tag id, ``None`` (no match) or ``EXCLUDED``."""

    def __init__(self, local_tags: Iterable[LocalTag], endpoint: str, exclude_patterns: Iterable[str] = ()) -> None:
        self._patterns = [re.compile(p.lower()) for p in exclude_patterns]
        self._by_link: dict[str, list[LocalTag]] = collections.defaultdict(list)
        self._by_name: dict[str, list[LocalTag]] = collections.defaultdict(list)
        self._by_alias: dict[str, list[LocalTag]] = collections.defaultdict(list)
        for tag in local_tags:
            for link in tag.stash_ids:
                if link.endpoint == endpoint:
                    self._by_link[link.stash_id].append(tag)
            self._by_name[ascii_fold(tag.name)].append(tag)
            for alias in tag.aliases:
                self._by_alias[ascii_fold(alias)].append(tag)
        self._cache: dict[str, int | str | None] = {}

    def match(self, tag: StashDBTag) -> int | str | None:
        if tag.id not in self._cache:
            self._cache[tag.id] = self._match(tag)
        return self._cache[tag.id]

    def _match(self, tag: StashDBTag) -> int | str | None:
        if "%" in tag.name or "_" in tag.name:
            raise NotImplementedError(f"the oracle does not model LIKE wildcards: {tag.name!r}")
        if any(p.search(tag.name.lower()) for p in self._patterns):
            return EXCLUDED
        linked = self._by_link.get(tag.id)
        if linked:
            return min(t.id for t in linked)
        for index in (self._by_name, self._by_alias):
            candidates = index.get(ascii_fold(tag.name))
            if candidates:
                return min(candidates, key=lambda t: (natural_key(t.sort_name or t.name), t.id)).id
        return None


@dataclass(frozen=True)
class SceneOutcome:
    scene_id: int
    category: str
    stashdb_id: str | None
    found_by: str | None
    existing_tag_ids: tuple[int, ...]
    matched_tag_ids: tuple[int, ...] = ()
    unmatched_tag_names: tuple[str, ...] = ()
    excluded_tag_names: tuple[str, ...] = ()

    @property
    def new_tag_ids(self) -> frozenset[int]:
        return frozenset(self.matched_tag_ids) - frozenset(self.existing_tag_ids)

    @property
    def expected_tag_ids(self) -> frozenset[int]:
        return frozenset(self.existing_tag_ids) | frozenset(self.matched_tag_ids)


@dataclass(frozen=True)
class ExpectedSummary:
    """Counts over the whole library; ``scenes_in_scope`` have a stash id for E."""

    scenes_total: int
    scenes_in_scope: int
    found_by_fingerprint: int
    found_by_id: int
    updated: int
    unchanged: int
    stashdb_deleted: int
    stashdb_not_found: int
    no_stash_id: int
    tags_added: int
    unmatched_tag_counts: Mapping[str, int] = field(default_factory=dict)
    excluded_tag_counts: Mapping[str, int] = field(default_factory=dict)


def _hash_number(text: str) -> int:
    return int(text, 16)


class _LiveFingerprintIndex:
    """hash number -> ids of live StashDB scenes holding it (MD5 never stored)."""

    def __init__(self, scenes: Iterable[StashDBScene]) -> None:
        self._index: dict[int, set[str]] = collections.defaultdict(set)
        for scene in scenes:
            if not scene.deleted:
                for fingerprint in scene.fingerprints:
                    self._index[_hash_number(fingerprint.hash)].add(scene.id)

    def knows(self, scene: LocalScene, stashdb_id: str) -> bool:
        return any(
            stashdb_id in self._index.get(_hash_number(fp.value), ())
            for file in scene.files
            for fp in file.fingerprints
            if fp.type != MD5
        )


def compute_outcomes(
    local_tags: Iterable[LocalTag],
    local_scenes: Iterable[LocalScene],
    stashdb_tags: Iterable[StashDBTag],
    stashdb_scenes: Iterable[StashDBScene],
    endpoint: str,
    exclude_patterns: Iterable[str] = (),
) -> dict[int, SceneOutcome]:
    oracle = TagOracle(local_tags, endpoint, exclude_patterns)
    tags_by_id = {tag.id: tag for tag in stashdb_tags}
    scenes_by_id = {scene.id: scene for scene in stashdb_scenes}
    fingerprints = _LiveFingerprintIndex(scenes_by_id.values())
    return {
        scene.id: scene_outcome(scene, endpoint, oracle, tags_by_id, scenes_by_id, fingerprints)
        for scene in local_scenes
    }


def scene_outcome(
    scene: LocalScene,
    endpoint: str,
    oracle: TagOracle,
    tags_by_id: Mapping[str, StashDBTag],
    scenes_by_id: Mapping[str, StashDBScene],
    fingerprints: _LiveFingerprintIndex,
) -> SceneOutcome:
    existing = scene.tag_ids
    stashdb_id = scene.stash_id_for(endpoint)
    if stashdb_id is None:
        return SceneOutcome(scene.id, NO_STASH_ID, None, None, existing)
    remote = scenes_by_id.get(stashdb_id)
    if remote is None:
        return SceneOutcome(scene.id, STASHDB_NOT_FOUND, stashdb_id, None, existing)
    if remote.deleted:
        return SceneOutcome(scene.id, STASHDB_DELETED, stashdb_id, None, existing)
    found_by = FOUND_BY_FINGERPRINT if fingerprints.knows(scene, stashdb_id) else FOUND_BY_ID
    matched: dict[int, None] = {}
    unmatched, excluded = [], []
    for tag_id in remote.tag_ids:
        tag = tags_by_id[tag_id]
        result = oracle.match(tag)
        if result == EXCLUDED:
            excluded.append(tag.name)
        elif result is None:
            unmatched.append(tag.name)
        else:
            matched[result] = None
    category = UPDATED if set(matched) - set(existing) else UNCHANGED
    return SceneOutcome(
        scene.id, category, stashdb_id, found_by, existing,
        tuple(matched), tuple(unmatched), tuple(excluded),
    )


def summarize(outcomes: Iterable[SceneOutcome]) -> ExpectedSummary:
    outcomes = list(outcomes)
    categories = collections.Counter(o.category for o in outcomes)
    found = [o for o in outcomes if o.category in (UPDATED, UNCHANGED)]
    return ExpectedSummary(
        scenes_total=len(outcomes),
        scenes_in_scope=len(outcomes) - categories[NO_STASH_ID],
        found_by_fingerprint=sum(o.found_by == FOUND_BY_FINGERPRINT for o in found),
        found_by_id=sum(o.found_by == FOUND_BY_ID for o in found),
        updated=categories[UPDATED],
        unchanged=categories[UNCHANGED],
        stashdb_deleted=categories[STASHDB_DELETED],
        stashdb_not_found=categories[STASHDB_NOT_FOUND],
        no_stash_id=categories[NO_STASH_ID],
        tags_added=sum(len(o.new_tag_ids) for o in found),
        unmatched_tag_counts=dict(collections.Counter(n for o in found for n in set(o.unmatched_tag_names))),
        excluded_tag_counts=dict(collections.Counter(n for o in found for n in set(o.excluded_tag_names))),
    )


def in_library_terms(tags, served_endpoint: str, library_endpoint: str) -> list:
    """The Stash simulator's tags with the StashDB simulator's URL (what the plugin writes in a
    new link) written as the library's endpoint, so the library's oracle sees those links."""
    def link(stash_id):
        return replace(stash_id, endpoint=library_endpoint) if stash_id.endpoint == served_endpoint else stash_id

    return [replace(tag, stash_ids=tuple(map(link, tag.stash_ids))) for tag in tags]
