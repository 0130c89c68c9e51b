"""Put tags and scenes into a real Stash through its GraphQL API, and read them back.

Many creations go in one request as aliased mutations (`t0: tagCreate(input: $i0)`,
...): the document is built from integer indices only and every value travels as a
variable. Stash runs aliased mutations one after another, each in its own
transaction, so the order of creation is the order of the aliases.
"""
from __future__ import annotations

import functools
from typing import Any, Iterable, Sequence

from tests.e2e.stash_server import RealStash

TAG_FIELDS = "id name sort_name aliases stash_ids { endpoint stash_id }"

FIND_ALL_TAGS = """
query E2EFindAllTags {
  findTags(filter: {per_page: -1, sort: "id", direction: ASC}) {
    count
    tags { id name sort_name aliases stash_ids { endpoint stash_id } }
  }
}
"""

FIND_ALL_SCENES = """
query E2EFindAllScenes {
  findScenes(filter: {per_page: -1, sort: "id", direction: ASC}) {
    count
    scenes {
      id
      title
      tags { id }
      stash_ids { endpoint stash_id }
      files { path fingerprints { type value } }
    }
  }
}
"""

SCENE_UPDATE = """
mutation E2ESceneUpdate($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) { id }
}
"""

STASH_CONFIGURATION = """
query E2EConfiguration {
  configuration {
    general { apiKey stashBoxes { endpoint name max_requests_per_minute } }
    scraping { excludeTagPatterns }
  }
}
"""

FIND_TAG = """
query E2EFindTag($id: ID!) {
  findTag(id: $id) { id name description aliases stash_ids { endpoint stash_id } parents { id name } }
}
"""
CONFIGURE_SCRAPING = """
mutation E2EConfigureScraping($input: ConfigScrapingInput!) {
  configureScraping(input: $input) { excludeTagPatterns }
}
"""

ALL_OPERATIONS = (FIND_ALL_TAGS, FIND_ALL_SCENES, SCENE_UPDATE, STASH_CONFIGURATION, FIND_TAG, CONFIGURE_SCRAPING)

CREATE_BATCH_SIZE = 150


@functools.lru_cache(maxsize=None)
def aliased_create_document(field_name: str, input_type: str, count: int) -> str:
    """`mutation($i0: T!, ...) { c0: field(input: $i0) { id } ... }` for `count` inputs.

    Only the two fixed names and integer indices go into the text."""
    if field_name not in ("tagCreate", "sceneCreate") or input_type not in ("TagCreateInput", "SceneCreateInput"):
        raise ValueError("unsupported creation mutation")
    if not 1 <= count <= CREATE_BATCH_SIZE:
        raise ValueError(f"count must be 1..{CREATE_BATCH_SIZE}")
    variables = ", ".join(f"$i{index}: {input_type}!" for index in range(count))
    fields = "\n".join(f"  c{index}: {field_name}(input: $i{index}) {{ id }}" for index in range(count))
    return f"mutation E2EBatchCreate({variables}) {{\n{fields}\n}}\n"


def _create_many(stash: RealStash, field_name: str, input_type: str,
                 inputs: Sequence[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(inputs), CREATE_BATCH_SIZE):
        batch = inputs[start:start + CREATE_BATCH_SIZE]
        document = aliased_create_document(field_name, input_type, len(batch))
        data = stash.graphql(document, {f"i{index}": value for index, value in enumerate(batch)}, timeout=120)
        ids.extend(str(data[f"c{index}"]["id"]) for index in range(len(batch)))
    return ids


def create_tags(stash: RealStash, inputs: Sequence[dict[str, Any]]) -> list[str]:
    """Create tags in the given order; returns their ids (raises if Stash refuses any)."""
    return _create_many(stash, "tagCreate", "TagCreateInput", inputs)


def create_scenes(stash: RealStash, inputs: Sequence[dict[str, Any]]) -> list[str]:
    """Create scenes (no files) in the given order; returns their ids."""
    return _create_many(stash, "sceneCreate", "SceneCreateInput", inputs)


def update_scene(stash: RealStash, scene_id: str, **fields: Any) -> None:
    stash.graphql(SCENE_UPDATE, {"input": {"id": scene_id, **fields}})


def all_tags(stash: RealStash) -> list[dict]:
    return stash.graphql(FIND_ALL_TAGS)["findTags"]["tags"]


def all_scenes(stash: RealStash) -> list[dict]:
    return stash.graphql(FIND_ALL_SCENES, timeout=60)["findScenes"]["scenes"]


def scene_tag_sets(stash: RealStash) -> dict[str, frozenset[str]]:
    """scene id -> the ids of its tags, for every scene in Stash."""
    return {scene["id"]: frozenset(tag["id"] for tag in scene["tags"]) for scene in all_scenes(stash)}


def fingerprints_of(scene: dict) -> dict[str, str]:
    """fingerprint type -> value over a scene's files (oshash, phash, md5)."""
    return {fp["type"]: fp["value"] for file in scene.get("files") or [] for fp in file["fingerprints"]}


def scenes_by_file_name(scenes: Iterable[dict]) -> dict[str, dict]:
    """file name (no folder) -> scene, for scanned scenes."""
    return {file["path"].rsplit("/", 1)[-1]: scene for scene in scenes for file in scene.get("files") or []}
