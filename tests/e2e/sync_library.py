"""The designed library for running the sync inside a real Stash.

Every StashDB tag gets a *designed* local counterpart, so the tags a scene must
gain follow from the design, not from the plugin's own matcher:

* LINKED: a local tag with another name that holds the StashDB tag's id for the
  sync's endpoint (matched by StashID);
* NAME: a local tag whose name is the StashDB name in other ASCII case;
* ALIAS: a local tag with another name and the StashDB name (upper case) as alias;
* OTHER_ENDPOINT: a local tag linked to the same id, but for another endpoint,
  with an unrelated name (no match);
* MISSING: no local tag (no match).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from tests.simulators.records import StashDBFingerprint, StashDBScene, StashDBTag
from tests.simulators.vocabulary import load_vocabulary

LINKED, NAME, ALIAS, OTHER_ENDPOINT, MISSING = "linked", "name", "alias", "other_endpoint", "missing"
TAG_KINDS = (LINKED, NAME, ALIAS, OTHER_ENDPOINT, MISSING)
ENDPOINT_INDEPENDENT_KINDS = (NAME, ALIAS)
OTHER_ENDPOINT_URL = "https://elsewhere.example.org/graphql"
KEEP_TAG_NAMES = ("Keep Me A", "Keep Me B")
STASHDB_TAG_COUNT = 40


def stable_uuid(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tagmanager-e2e:" + text))


@dataclass(frozen=True)
class TagDesign:
    stashdb: StashDBTag
    kind: str
    local_input: dict | None  # TagCreateInput, None for MISSING

    def matches_on(self, endpoint: str, design_endpoint: str) -> bool:
        """Whether Stash must match this StashDB tag to its local tag when syncing `endpoint`."""
        if self.kind in ENDPOINT_INDEPENDENT_KINDS:
            return True
        return self.kind == LINKED and endpoint == design_endpoint


def local_tag_input(kind: str, number: int, tag: StashDBTag, endpoint: str) -> dict | None:
    if kind == LINKED:
        return {"name": f"Linked local {number:02d}", "stash_ids": [{"endpoint": endpoint, "stash_id": tag.id}]}
    if kind == NAME:
        return {"name": tag.name.swapcase()}
    if kind == ALIAS:
        return {"name": f"Alias holder {number:02d}", "aliases": [tag.name.upper()]}
    if kind == OTHER_ENDPOINT:
        return {"name": f"Other endpoint {number:02d}",
                "stash_ids": [{"endpoint": OTHER_ENDPOINT_URL, "stash_id": tag.id}]}
    return None


def design_tags(endpoint: str, count: int = STASHDB_TAG_COUNT) -> list[TagDesign]:
    """`count` StashDB tags spread over the vocabulary, kinds assigned in turn."""
    vocabulary = load_vocabulary()
    step = max(1, len(vocabulary) // count)
    designs = []
    for number, entry in enumerate(vocabulary[::step][:count]):
        tag = StashDBTag(stable_uuid("tag:" + entry.name), entry.name, entry.aliases, entry.category)
        kind = TAG_KINDS[number % len(TAG_KINDS)]
        designs.append(TagDesign(tag, kind, local_tag_input(kind, number, tag, endpoint)))
    return designs


@dataclass
class LocalTagIds:
    """Local tag ids of the designed tags (by StashDB id) and of the Keep Me tags (by name)."""

    by_stashdb_id: dict[str, str] = field(default_factory=dict)
    keep: dict[str, str] = field(default_factory=dict)


def tag_create_inputs(designs: Sequence[TagDesign]) -> list[dict]:
    return [d.local_input for d in designs if d.local_input is not None] + [{"name": n} for n in KEEP_TAG_NAMES]


def local_ids_from_created(designs: Sequence[TagDesign], created_ids: Sequence[str]) -> LocalTagIds:
    with_local = [d for d in designs if d.local_input is not None]
    ids = LocalTagIds(
        by_stashdb_id={d.stashdb.id: tag_id for d, tag_id in zip(with_local, created_ids)},
        keep=dict(zip(KEEP_TAG_NAMES, created_ids[len(with_local):])),
    )
    assert len(created_ids) == len(with_local) + len(KEEP_TAG_NAMES)
    return ids


@dataclass
class ScenePlan:
    """One StashDB scene and the local scene that carries its id."""

    label: str
    stashdb_scene: StashDBScene
    stash_ids: list[dict]
    initial_tag_ids: frozenset[str]
    expected_tag_ids: frozenset[str]
    local_id: str | None = None  # set once the local scene exists

    @property
    def title(self) -> str:
        return f"E2E {self.label}"

    @property
    def gains(self) -> frozenset[str]:
        return self.expected_tag_ids - self.initial_tag_ids

    def scene_input(self) -> dict:
        """The SceneCreateInput / SceneUpdateInput fields of the local scene."""
        return {"title": self.title, "stash_ids": self.stash_ids, "tag_ids": sorted(self.initial_tag_ids)}


def cyclic_tags(designs: Sequence[TagDesign], index: int, count: int) -> list[TagDesign]:
    return [designs[(index * 3 + offset) % len(designs)] for offset in range(count)]


def initial_tags(index: int, ids: LocalTagIds, matched: Sequence[str]) -> frozenset[str]:
    """Tags a scene has before the sync: none, a Keep Me tag, one it would gain anyway, or both."""
    keep_a, keep_b = (ids.keep[name] for name in KEEP_TAG_NAMES)
    already = matched[:1]
    return frozenset({0: [keep_a], 1: list(already), 2: [keep_b, *already], 3: []}[index % 4])


def plan_scene(label: str, index: int, designs: Sequence[TagDesign], ids: LocalTagIds,
               endpoint: str, design_endpoint: str, *, fingerprints: Iterable[StashDBFingerprint] = (),
               deleted: bool = False, synced: bool = True) -> ScenePlan:
    """A scene with 3..7 StashDB tags and a StashID for `endpoint`.

    `synced=False` for scenes the sync must leave alone (their StashDB scene is
    unknown, or the local scene's StashID is changed afterwards)."""
    scene_tags = cyclic_tags(designs, index, 3 + index % 5)
    matched = [ids.by_stashdb_id[d.stashdb.id] for d in scene_tags if d.matches_on(endpoint, design_endpoint)]
    initial = initial_tags(index, ids, matched)
    expected = initial | frozenset(matched) if synced and not deleted else initial
    stashdb_scene = StashDBScene(
        id=stable_uuid(f"scene:{endpoint}:{label}"), title=f"StashDB {label}",
        tag_ids=tuple(d.stashdb.id for d in scene_tags), fingerprints=tuple(fingerprints), deleted=deleted)
    stash_ids = [{"endpoint": endpoint, "stash_id": stashdb_scene.id}]
    return ScenePlan(label, stashdb_scene, stash_ids, initial, expected)


def labelled_scene_plans(stashdb, scenes: dict[str, tuple[Sequence[StashDBTag], Sequence[str]]],
                         local_tag_ids: dict[str, str], key: str, title: str) -> list[dict]:
    """A small hand-written library: per label, (its StashDB tags, its local tag names
    before the sync). Adds the StashDB tags and scenes to the simulator and returns one
    SceneCreateInput per label, in order, each with its StashID and its initial tags."""
    for tag in {tag.id: tag for tags, _ in scenes.values() for tag in tags}.values():
        stashdb.data.add_tag(tag)
    plans = []
    for label, (remote_tags, initial) in scenes.items():
        remote = StashDBScene(stable_uuid(f"{key}:scene:{label}"), f"StashDB {label}", tuple(t.id for t in remote_tags))
        stashdb.data.add_scene(remote)
        plans.append({"title": f"{title} {label}", "stash_ids": [{"endpoint": stashdb.url, "stash_id": remote.id}],
                      "tag_ids": [local_tag_ids[name] for name in initial]})
    return plans
