"""A seeded, deterministic test library: local Stash data plus the StashDB side.

``generate_library(scene_count, seed, **spec_fields)`` returns a
:class:`Library`; the same arguments always give the same library.

Tags. Every StashDB tag (from the real vocabulary in ``../shared``, or a
synthetic one) gets a uuid and one way of being known locally
(``Library.tag_link_kinds``, by StashDB tag id):

* ``stash_id``            local tag of the same name, linked by stash id for E;
* ``stash_id_renamed``    linked local tag with another name (``X (local)``);
* ``stash_id_over_name``  linked ``X (linked)`` plus an unlinked ``X``: the link wins;
* ``other_endpoint_only`` ``X (other box)`` linked for another endpoint only: no match;
* ``name``                local tag named exactly ``X``;
* ``name_case_variant``   local tag named ``x``/``X``/... (ASCII case differs);
* ``alias``               local tag named after one of X's aliases, with ``X``
                          (in some ASCII case) as its alias;
* ``missing``             nothing local: the tag stays unmatched;
* ``near_miss``           (only with ``near_miss_share``) a local tag Stash does not
                          match but a person would: a StashDB alias as its name, other
                          punctuation, or the other number (the suggestions' targets).

Local names and aliases are unique ASCII-case-insensitively (as Stash
enforces), never contain ``%`` or ``_``, and have no Unicode case twins.
Some unrelated personal tags (``Local Collection 01``...) exist too.

Scenes (``Library.scene_kinds``, by local scene id):

* ``fingerprint_match``        StashDB knows the first file's oshash and phash;
* ``fingerprint_shared``       ...and another StashDB scene shares the phash
                               (the fingerprint answer lists two scenes);
* ``fingerprint_other_scene``  the oshash belongs only to another StashDB scene;
* ``fingerprints_unknown``     StashDB knows the scene, not its fingerprints
                               (``fallback_share``: pass 2 finds it by id); with
                               ``md5_only_share``, that share of them have files
                               that carry an MD5 alone (stash-box stores no MD5);
* ``no_files``                 no files, so no fingerprints (pass 2);
* ``deleted_merged``           the StashDB scene is deleted and its fingerprints
                               now belong to a live merge target;
* ``deleted_destroyed``        deleted, no tags, no fingerprints;
* ``unknown_id``               the stash id for E is unknown to StashDB;
* ``no_stash_id``              no stash id for E (some have one for another box).

Files: 0-2 per scene, each with oshash (16 hex digits), phash (lower-case
hex, no zero padding; 5% of files lack one) and md5 (32 hex digits). Some
scenes have existing local tags, which a sync must keep; a share of the
found scenes already carry every tag the sync would add (``unchanged``).

Expected results are computed by :mod:`expectations`, independently of the
plugin; see that module for the outcome categories.
"""
from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .expectations import ExpectedSummary, SceneOutcome, TagOracle, compute_outcomes, summarize
from .library_tags import build_tags
from .records import (
    MD5, OSHASH, PHASH,
    LocalFile, LocalFingerprint, LocalScene, LocalStashID, LocalTag, StashDBFingerprint, StashDBScene, StashDBTag,
)
from .vocabulary import load_vocabulary

DEFAULT_ENDPOINT = "https://stashdb.org/graphql"
OTHER_ENDPOINT = "https://fansdb.cc/graphql"

FINGERPRINT_MATCH = "fingerprint_match"
FINGERPRINT_SHARED = "fingerprint_shared"
FINGERPRINT_OTHER_SCENE = "fingerprint_other_scene"
FINGERPRINTS_UNKNOWN = "fingerprints_unknown"
NO_FILES = "no_files"
DELETED_MERGED = "deleted_merged"
DELETED_DESTROYED = "deleted_destroyed"
UNKNOWN_ID = "unknown_id"
NO_STASH_ID = "no_stash_id"
FOUND_KINDS = (FINGERPRINT_MATCH, FINGERPRINT_SHARED, FINGERPRINT_OTHER_SCENE, FINGERPRINTS_UNKNOWN, NO_FILES)


@dataclass(frozen=True)
class LibrarySpec:
    scene_count: int = 1000
    seed: int = 1
    endpoint: str = DEFAULT_ENDPOINT
    fallback_share: float = 0.3
    deleted_share: float = 0.02
    unknown_id_share: float = 0.01
    no_stash_id_share: float = 0.05
    no_files_share: float = 0.02
    shared_fingerprint_share: float = 0.03
    other_scene_fingerprint_share: float = 0.01
    multi_file_share: float = 0.1
    existing_tags_share: float = 0.3
    already_synced_share: float = 0.05
    min_scene_tags: int = 5
    max_scene_tags: int = 25
    exclude_tag_patterns: tuple[str, ...] = ()
    vocabulary_file: Path | None = None
    near_miss_share: float = 0.0   # of the MISSING tags: a near-miss local tag instead (library_tags.py)
    md5_only_share: float = 0.0    # of the FINGERPRINTS_UNKNOWN scenes: files with an MD5 and nothing else

    def kind_shares(self) -> list[tuple[str, float]]:
        shares = [
            (NO_STASH_ID, self.no_stash_id_share),
            (UNKNOWN_ID, self.unknown_id_share),
            (DELETED_MERGED, self.deleted_share / 2),
            (DELETED_DESTROYED, self.deleted_share / 2),
            (FINGERPRINTS_UNKNOWN, self.fallback_share),
            (NO_FILES, self.no_files_share),
            (FINGERPRINT_SHARED, self.shared_fingerprint_share),
            (FINGERPRINT_OTHER_SCENE, self.other_scene_fingerprint_share),
        ]
        rest = 1.0 - sum(share for _, share in shares)
        if rest < 0:
            raise ValueError("scene kind shares add up to more than 1")
        return shares + [(FINGERPRINT_MATCH, rest)]


@dataclass
class Library:
    spec: LibrarySpec
    stashdb_tags: list[StashDBTag]
    stashdb_scenes: list[StashDBScene]
    local_tags: list[LocalTag]
    local_scenes: list[LocalScene]
    scene_kinds: dict[int, str]
    tag_link_kinds: dict[str, str]

    @property
    def endpoint(self) -> str:
        return self.spec.endpoint

    @functools.cached_property
    def outcomes(self) -> dict[int, SceneOutcome]:
        return compute_outcomes(
            self.local_tags, self.local_scenes, self.stashdb_tags, self.stashdb_scenes,
            self.endpoint, self.spec.exclude_tag_patterns,
        )

    def expected_outcome(self, scene_id: int) -> SceneOutcome:
        return self.outcomes[scene_id]

    def expected_tag_ids(self, scene_id: int) -> frozenset[int]:
        """Tag ids the scene should have after a full live sync: existing ∪ matched."""
        return self.outcomes[scene_id].expected_tag_ids

    @functools.cached_property
    def expected_summary(self) -> ExpectedSummary:
        return summarize(self.outcomes.values())

    def with_endpoint(self, endpoint: str) -> Library:
        """The same library with its stash-box at `endpoint`: the spec and every local StashID
        for the old endpoint name the new one (a server's real URL, say)."""
        old = self.endpoint

        def links(stash_ids: tuple[LocalStashID, ...]) -> tuple[LocalStashID, ...]:
            return tuple(replace(link, endpoint=endpoint) if link.endpoint == old else link for link in stash_ids)

        return replace(self, spec=replace(self.spec, endpoint=endpoint),
                       local_tags=[replace(tag, stash_ids=links(tag.stash_ids)) for tag in self.local_tags],
                       local_scenes=[replace(scene, stash_ids=links(scene.stash_ids)) for scene in self.local_scenes])


def generate_library(scene_count: int = 1000, seed: int = 1, **spec_fields: Any) -> Library:
    """Build a library from ``LibrarySpec(scene_count, seed, **spec_fields)``."""
    spec = LibrarySpec(scene_count=scene_count, seed=seed, **spec_fields)
    return _SceneGenerator(spec).build()


class _SceneGenerator:
    def __init__(self, spec: LibrarySpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.tag_set = build_tags(load_vocabulary(spec.vocabulary_file), self.rng, spec.endpoint, OTHER_ENDPOINT,
                                  spec.near_miss_share)
        self.oracle = TagOracle(self.tag_set.local_tags, spec.endpoint, spec.exclude_tag_patterns)
        self.tags_by_id = {tag.id: tag for tag in self.tag_set.stashdb_tags}
        self.stashdb_scenes: list[StashDBScene] = []
        self.local_scenes: list[LocalScene] = []
        self.scene_kinds: dict[int, str] = {}
        self._next_file_id = 1
        self._kind_table = _cumulative(spec.kind_shares())

    def build(self) -> Library:
        for scene_id in range(1, self.spec.scene_count + 1):
            self._add_scene(scene_id, self._draw_kind())
        return Library(
            self.spec, self.tag_set.stashdb_tags, self.stashdb_scenes, self.tag_set.local_tags,
            self.local_scenes, self.scene_kinds, self.tag_set.link_kinds,
        )

    # -- random pieces -----------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _draw_kind(self) -> str:
        draw = self.rng.random()
        for limit, kind in self._kind_table:
            if draw < limit:
                return kind
        return self._kind_table[-1][1]

    def _oshash(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _phash(self) -> str:
        return f"{self.rng.getrandbits(64):x}"

    def _files(self, scene_id: int, count: int) -> tuple[LocalFile, ...]:
        files = []
        for index in range(count):
            prints = [LocalFingerprint(OSHASH, self._oshash())]
            if self.rng.random() >= 0.05:
                prints.append(LocalFingerprint(PHASH, self._phash()))
            prints.append(LocalFingerprint(MD5, f"{self.rng.getrandbits(128):032x}"))
            path = f"/media/library/{scene_id // 1000:03d}/scene-{scene_id:06d}-{index}.mp4"
            files.append(LocalFile(self._next_file_id, path, tuple(prints)))
            self._next_file_id += 1
        return tuple(files)

    def _scene_tag_ids(self) -> tuple[str, ...]:
        spec, ranked = self.spec, self.tag_set.popularity
        wanted = self.rng.randint(spec.min_scene_tags, spec.max_scene_tags)
        chosen: dict[str, None] = {}
        while len(chosen) < min(wanted, len(ranked)):
            chosen[ranked[int(len(ranked) * self.rng.random() ** 1.5)]] = None
        return tuple(chosen)

    def _own_fingerprints(self) -> tuple[StashDBFingerprint, ...]:
        return (StashDBFingerprint("OSHASH", self._oshash(), 1800), StashDBFingerprint("PHASH", self._phash(), 1800))

    # -- one scene ---------------------------------------------------------
    def _add_scene(self, scene_id: int, kind: str) -> None:
        file_count = 0 if kind == NO_FILES else (2 if self.rng.random() < self.spec.multi_file_share else 1)
        files = self._files(scene_id, file_count)
        if kind == FINGERPRINTS_UNKNOWN and self.spec.md5_only_share and self.rng.random() < self.spec.md5_only_share:
            files = tuple(replace(file, fingerprints=tuple(fp for fp in file.fingerprints if fp.type == MD5))
                          for file in files)
        title = f"Scene {scene_id:06d}"
        stash_ids, remote_tag_ids = self._remote_side(kind, title, files)
        existing = self._existing_tags(kind, remote_tag_ids)
        self.local_scenes.append(LocalScene(scene_id, title, stash_ids, files, existing))
        self.scene_kinds[scene_id] = kind

    def _remote_side(self, kind: str, title: str, files: tuple[LocalFile, ...]) -> tuple[tuple, tuple[str, ...]]:
        """Create the StashDB scenes for this kind; return local stash ids and remote tags."""
        endpoint = self.spec.endpoint
        if kind == NO_STASH_ID:
            other = (LocalStashID(OTHER_ENDPOINT, self._uuid()),) if self.rng.random() < 0.5 else ()
            return other, ()
        stash_id = self._uuid()
        links = (LocalStashID(endpoint, stash_id),)
        if self.rng.random() < 0.1:
            links += (LocalStashID(OTHER_ENDPOINT, self._uuid()),)
        if kind == UNKNOWN_ID:
            return links, ()
        tag_ids = () if kind == DELETED_DESTROYED else self._scene_tag_ids()
        known = _file_fingerprints(files[0]) if files else ()
        own = self._own_fingerprints()
        remote_prints = known if kind in (FINGERPRINT_MATCH, FINGERPRINT_SHARED) and known else own
        if kind == DELETED_DESTROYED:
            remote_prints = ()
        deleted = kind in (DELETED_MERGED, DELETED_DESTROYED)
        self.stashdb_scenes.append(StashDBScene(stash_id, title, tag_ids, remote_prints, deleted, None, 1800))
        self._add_decoy(kind, known)
        return links, tag_ids

    def _add_decoy(self, kind: str, known: tuple[StashDBFingerprint, ...]) -> None:
        """Another live StashDB scene that shares some of this scene's fingerprints."""
        if not known:
            return
        if kind == FINGERPRINT_SHARED:
            shared = (known[-1],)
        elif kind == FINGERPRINT_OTHER_SCENE:
            shared = (known[0],)
        elif kind == DELETED_MERGED:
            shared = known
        else:
            return
        title = f"StashDB-only scene {len(self.stashdb_scenes) + 1}"
        prints = shared + (StashDBFingerprint("OSHASH", self._oshash(), 1800),)
        self.stashdb_scenes.append(StashDBScene(self._uuid(), title, self._scene_tag_ids(), prints, False, None, 1800))

    def _existing_tags(self, kind: str, remote_tag_ids: tuple[str, ...]) -> tuple[int, ...]:
        local_tags = self.tag_set.local_tags
        existing: dict[int, None] = {}
        if self.rng.random() < self.spec.existing_tags_share:
            for _ in range(self.rng.randint(1, 4)):
                existing[local_tags[self.rng.randrange(len(local_tags))].id] = None
        if kind in FOUND_KINDS and self.rng.random() < self.spec.already_synced_share:
            for tag_id in remote_tag_ids:
                match = self.oracle.match(self.tags_by_id[tag_id])
                if isinstance(match, int):
                    existing[match] = None
        return tuple(existing)


def _file_fingerprints(file: LocalFile) -> tuple[StashDBFingerprint, ...]:
    by_type = {fp.type: fp.value for fp in file.fingerprints}
    return tuple(StashDBFingerprint(algorithm, by_type[kind], 1800)
                 for kind, algorithm in ((OSHASH, "OSHASH"), (PHASH, "PHASH")) if kind in by_type)


def _cumulative(shares: list[tuple[str, float]]) -> list[tuple[float, str]]:
    table, total = [], 0.0
    for kind, share in shares:
        total += share
        table.append((total, kind))
    return table
