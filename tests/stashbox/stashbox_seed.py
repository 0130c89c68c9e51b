"""Seed a real stash-box through its own GraphQL, as its admin, from a generated library.

The library (tests/simulators/library.py) describes both sides: the StashDB tags and scenes,
and the local scenes whose StashIDs and fingerprints point at them. Its StashDB side is
written to the server with the mutations an admin has — `tagCategoryCreate`, `tagCreate`,
`studioCreate`, `sceneCreate` — and its deleted scenes are deleted the way stash-box deletes
scenes, by an edit its admin approves at once (`sceneEdit` + `approveEdit`):

* a deleted scene with tags or fingerprints is MERGED into a live scene (the one it shares
  a fingerprint with, when there is one): stash-box keeps the merged-away scene's tags and
  fingerprints, marks it deleted and never returns it from a fingerprint query;
* a deleted scene with neither is DESTROYED: stash-box marks it deleted and drops its tags
  and fingerprints, as the library's record says.

stash-box gives every entity its own id, so the result is the same library with each StashDB
id replaced by the server's (`SeededLibrary.library`): the StashDB simulator built from it
holds the very ids the real server answers with, and the library's expectations hold for
either server.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Sequence

from tests.simulators.library import Library
from tests.simulators.records import LocalStashID, StashDBFingerprint, StashDBScene, StashDBTag
from tests.simulators.vocabulary import load_categories
from tests.stashbox.stashbox_changes import apply_scene_edit
from tests.stashbox.stashbox_server import RealStashBox

CREATES_PER_REQUEST = 50
STUDIO_COUNT = 24
NETWORK_EVERY = 6              # every 6th studio is a network the next five belong to
FINGERPRINT_CREATED = "2024-12-01T00:00:00Z"
DEFAULT_SCENE_DATE = "2024-12-01"
DEFAULT_CATEGORY_GROUP = "SCENE"



def aliased_mutation(field: str, input_type: str, count: int) -> str:
    """`count` aliased `field(input: $iN)` creates in one document; each answers its id."""
    variables = ", ".join(f"$i{index}: {input_type}!" for index in range(count))
    fields = "\n".join(f"  c{index}: {field}(input: $i{index}) {{ id }}" for index in range(count))
    return f"mutation TierSeed{field}({variables}) {{\n{fields}\n}}\n"


def create_all(server: RealStashBox, field: str, input_type: str, inputs: Sequence[dict]) -> list[str]:
    """Create every input, CREATES_PER_REQUEST a request; the new ids, in input order."""
    ids: list[str] = []
    for start in range(0, len(inputs), CREATES_PER_REQUEST):
        chunk = inputs[start:start + CREATES_PER_REQUEST]
        data = server.graphql(aliased_mutation(field, input_type, len(chunk)),
                              {f"i{index}": value for index, value in enumerate(chunk)})
        ids.extend(data[f"c{index}"]["id"] for index in range(len(chunk)))
    return ids


@dataclass(frozen=True)
class SeededLibrary:
    """The library as the real server holds it (its ids), and what seeding did."""

    library: Library
    studio_ids: tuple[str, ...]
    merged: dict[str, str]         # deleted scene id -> the live scene it was merged into
    destroyed: tuple[str, ...]


def seed_library(server: RealStashBox, library: Library) -> SeededLibrary:
    category_ids = _create_categories(server, library.stashdb_tags)
    tag_ids = _create_tags(server, library.stashdb_tags, category_ids)
    studio_ids = _create_studios(server)
    scene_ids = _create_scenes(server, library.stashdb_scenes, tag_ids, studio_ids)
    seeded = remap_library(library, tag_ids, scene_ids)
    merged, destroyed = _delete_scenes(server, seeded.stashdb_scenes)
    return SeededLibrary(seeded, tuple(studio_ids), merged, tuple(destroyed))


# -- creating ---------------------------------------------------------------------------

def _create_categories(server: RealStashBox, tags: Iterable[StashDBTag]) -> dict[str, str]:
    known = load_categories()
    names = sorted({tag.category for tag in tags if tag.category})
    inputs = []
    for name in names:
        category = known.get(name)
        inputs.append({"name": name, "group": category.group if category else DEFAULT_CATEGORY_GROUP,
                       "description": category.description if category else None})
    return dict(zip(names, create_all(server, "tagCategoryCreate", "TagCategoryCreateInput", inputs)))


def _create_tags(server: RealStashBox, tags: Sequence[StashDBTag], category_ids: dict[str, str]) -> dict[str, str]:
    inputs = [{"name": tag.name, "description": tag.description, "aliases": list(tag.aliases),
               "category_id": category_ids.get(tag.category) if tag.category else None} for tag in tags]
    real_ids = create_all(server, "tagCreate", "TagCreateInput", inputs)
    return {tag.id: real_id for tag, real_id in zip(tags, real_ids)}


def _create_studios(server: RealStashBox) -> list[str]:
    """Networks and their studios; scenes are spread over the studios."""
    studio_ids: list[str] = []
    network_id = None
    for index in range(STUDIO_COUNT):
        studio = {"name": f"Tier Studio {index:02d}", "aliases": [f"TS{index:02d}"]}
        if index % NETWORK_EVERY:
            studio["parent_id"] = network_id
        new_id = server.graphql(aliased_mutation("studioCreate", "StudioCreateInput", 1), {"i0": studio})["c0"]["id"]
        if index % NETWORK_EVERY == 0:
            network_id = new_id
        studio_ids.append(new_id)
    return studio_ids


def _fingerprint_input(fingerprint: StashDBFingerprint) -> dict[str, Any]:
    return {"hash": fingerprint.hash, "algorithm": fingerprint.algorithm,
            "duration": fingerprint.duration, "created": FINGERPRINT_CREATED}


def _create_scenes(server: RealStashBox, scenes: Sequence[StashDBScene], tag_ids: dict[str, str],
                   studio_ids: Sequence[str]) -> dict[str, str]:
    studios = itertools.cycle(studio_ids)
    inputs = [{"title": scene.title, "date": scene.date or DEFAULT_SCENE_DATE, "duration": scene.duration,
               "studio_id": next(studios), "tag_ids": [tag_ids[tag_id] for tag_id in scene.tag_ids],
               "fingerprints": [_fingerprint_input(fp) for fp in scene.fingerprints]} for scene in scenes]
    real_ids = create_all(server, "sceneCreate", "SceneCreateInput", inputs)
    return {scene.id: real_id for scene, real_id in zip(scenes, real_ids)}


# -- deleting ---------------------------------------------------------------------------

def _delete_scenes(server: RealStashBox, scenes: Sequence[StashDBScene]) -> tuple[dict[str, str], list[str]]:
    live = [scene for scene in scenes if not scene.deleted]
    merged: dict[str, str] = {}
    destroyed: list[str] = []
    for scene in scenes:
        if not scene.deleted:
            continue
        if scene.tag_ids or scene.fingerprints:
            target = _merge_target(scene, live)
            apply_scene_edit(server, {"edit": {"id": target, "operation": "MERGE", "merge_source_ids": [scene.id]},
                                 "details": {}})
            merged[scene.id] = target
        else:
            apply_scene_edit(server, {"edit": {"id": scene.id, "operation": "DESTROY"}})
            destroyed.append(scene.id)
    return merged, destroyed


def _merge_target(scene: StashDBScene, live: Sequence[StashDBScene]) -> str:
    hashes = {int(fp.hash, 16) for fp in scene.fingerprints}
    sharing = next((other for other in live if hashes & {int(fp.hash, 16) for fp in other.fingerprints}), None)
    return (sharing or live[0]).id


# -- the library in the server's ids ----------------------------------------------------

def remap_library(library: Library, tag_ids: dict[str, str], scene_ids: dict[str, str]) -> Library:
    """The library with every StashDB tag and scene id the server gave a new one replaced."""
    endpoint = library.endpoint

    def links(stash_ids: Iterable[LocalStashID], id_map: dict[str, str]) -> tuple[LocalStashID, ...]:
        return tuple(replace(link, stash_id=id_map.get(link.stash_id, link.stash_id))
                     if link.endpoint == endpoint else link for link in stash_ids)

    tag_of: Callable[[str], str] = lambda tag_id: tag_ids[tag_id]
    return Library(
        spec=library.spec,
        stashdb_tags=[replace(tag, id=tag_of(tag.id)) for tag in library.stashdb_tags],
        stashdb_scenes=[replace(scene, id=scene_ids[scene.id], tag_ids=tuple(map(tag_of, scene.tag_ids)))
                        for scene in library.stashdb_scenes],
        local_tags=[replace(tag, stash_ids=links(tag.stash_ids, tag_ids)) for tag in library.local_tags],
        local_scenes=[replace(scene, stash_ids=links(scene.stash_ids, scene_ids)) for scene in library.local_scenes],
        scene_kinds=dict(library.scene_kinds),
        tag_link_kinds={tag_of(tag_id): kind for tag_id, kind in library.tag_link_kinds.items()},
    )
