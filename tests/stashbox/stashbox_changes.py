"""Change a real stash-box the way its editors do, through its own GraphQL, as its admin.

StashDB's editors change scenes and tags by edits that are voted on and then applied; the
admin can approve an edit at once (`approveEdit`), which applies it in the same request.
These helpers do that, so a test can change the server and then look at what the change did
to a scene's `updated`, to `findScene` and to `findTag` (docs/stashbox.md, "What changes a
scene's tags, and what its `updated` shows"):

* `edit_scene_tags` — a scene MODIFY edit with a new `tag_ids` list;
* `merge_tags` — a tag MERGE edit: the sources into the target, the target keeping its name
  and aliases and taking the sources' names as aliases. (stash-box's merge form proposes the
  sources' aliases too, but aliases are unique across all tags and a merged source keeps its
  own, so an edit carrying them fails to apply: `approveEdit` answers `applied: false`.)
* `rename_tag` — a tag MODIFY edit with a new name;
* `destroy_tag` — a tag DESTROY edit (stash-box keeps the tag, marked deleted);
* `delete_tag` — the admin's `tagDestroy`, which removes the tag's row outright;
* `submit_fingerprint` — a user's `submitFingerprint` for a scene (no edit: it applies at once).

`scenes_by_updated` asks `queryScenes` for one page sorted by `UPDATED_AT`, ids and
`updated` only: the request the refresh sends. `applied_edits` asks `queryEdits` for the
applied edits of one target type, newest closed first.
"""
from __future__ import annotations

from typing import Any, Sequence

from tests.stashbox.stashbox_server import RealStashBox

EDIT_SCENE = """
mutation TierSceneEdit($input: SceneEditInput!) { sceneEdit(input: $input) { id } }
"""
EDIT_TAG = """
mutation TierTagEdit($input: TagEditInput!) { tagEdit(input: $input) { id } }
"""
APPROVE_EDIT = """
mutation TierApproveEdit($input: ApproveEditInput!) { approveEdit(input: $input) { id applied } }
"""
DESTROY_TAG = """
mutation TierTagDestroy($input: TagDestroyInput!) { tagDestroy(input: $input) }
"""
SUBMIT_FINGERPRINT = """
mutation TierSubmitFingerprint($input: FingerprintSubmission!) { submitFingerprint(input: $input) }
"""
FIND_TAG = """
query TierFindTag($id: ID!) { findTag(id: $id) { id name aliases deleted } }
"""
APPLIED_EDITS = """
query TierAppliedEdits($input: EditQueryInput!) {
  queryEdits(input: $input) {
    count
    edits {
      operation applied closed
      target { ... on Tag { id } ... on Scene { id } }
      merge_sources { ... on Tag { id } ... on Scene { id } }
    }
  }
}
"""
SCENES_BY_UPDATED = """
query TierScenesByUpdated($input: SceneQueryInput!) {
  queryScenes(input: $input) { count scenes { id updated } }
}
"""


def apply_edit(server: RealStashBox, mutation: str, field: str, edit_input: dict) -> str:
    """Submit an edit and approve it at once as the admin; the edit's id."""
    edit_id = server.graphql(mutation, {"input": edit_input})[field]["id"]
    applied = server.graphql(APPROVE_EDIT, {"input": {"id": edit_id}})["approveEdit"]["applied"]
    if not applied:
        raise RuntimeError(f"stash-box did not apply the {edit_input['edit']['operation']} {field}")
    return edit_id


def apply_scene_edit(server: RealStashBox, edit_input: dict) -> str:
    return apply_edit(server, EDIT_SCENE, "sceneEdit", edit_input)


def apply_tag_edit(server: RealStashBox, edit_input: dict) -> str:
    return apply_edit(server, EDIT_TAG, "tagEdit", edit_input)


def edit_scene_tags(server: RealStashBox, scene_id: str, tag_ids: Sequence[str]) -> str:
    """The scene's tags become exactly `tag_ids` (its other fields are left as they are)."""
    return apply_scene_edit(server, {"edit": {"id": scene_id, "operation": "MODIFY"},
                                     "details": {"tag_ids": list(tag_ids)}})


def find_tag(server: RealStashBox, tag_id: str) -> dict[str, Any] | None:
    return server.graphql(FIND_TAG, {"id": tag_id})["findTag"]


def merge_tags(server: RealStashBox, target_id: str, source_ids: Sequence[str]) -> str:
    """Merge the sources into the target; the target's aliases gain the sources' names."""
    target = find_tag(server, target_id)
    sources = [find_tag(server, source_id) for source_id in source_ids]
    if target is None or None in sources:
        raise ValueError("merge_tags: the target and every source must exist")
    aliases = list(dict.fromkeys([*target["aliases"], *(source["name"] for source in sources)]))
    return apply_tag_edit(server, {"edit": {"id": target_id, "operation": "MERGE",
                                            "merge_source_ids": list(source_ids)},
                                   "details": {"name": target["name"], "aliases": aliases}})


def rename_tag(server: RealStashBox, tag_id: str, new_name: str) -> str:
    return apply_tag_edit(server, {"edit": {"id": tag_id, "operation": "MODIFY"}, "details": {"name": new_name}})


def destroy_tag(server: RealStashBox, tag_id: str) -> str:
    """A DESTROY edit: the tag stays, marked deleted; the scenes lose it."""
    return apply_tag_edit(server, {"edit": {"id": tag_id, "operation": "DESTROY"}})


def delete_tag(server: RealStashBox, tag_id: str) -> None:
    """The admin's `tagDestroy`: the tag's row is deleted (no edit, nothing kept)."""
    if not server.graphql(DESTROY_TAG, {"input": {"id": tag_id}})["tagDestroy"]:
        raise RuntimeError("stash-box refused tagDestroy")


def submit_fingerprint(server: RealStashBox, scene_id: str, algorithm: str, hash_text: str, duration: int) -> None:
    submission = {"scene_id": scene_id, "fingerprint": {"hash": hash_text, "algorithm": algorithm, "duration": duration}}
    if not server.graphql(SUBMIT_FINGERPRINT, {"input": submission})["submitFingerprint"]:
        raise RuntimeError("stash-box refused submitFingerprint")


def scenes_by_updated(server: RealStashBox, page: int, per_page: int, direction: str = "DESC") -> dict[str, Any]:
    """One page of `queryScenes` sorted by UPDATED_AT: {count, scenes: [{id, updated}]}."""
    page_input = {"sort": "UPDATED_AT", "direction": direction, "page": page, "per_page": per_page}
    return server.graphql(SCENES_BY_UPDATED, {"input": page_input})["queryScenes"]


def applied_edits(server: RealStashBox, target_type: str, per_page: int) -> list[dict[str, Any]]:
    """The first page of applied edits of `target_type` (TAG, SCENE...), newest closed first."""
    edit_input = {"target_type": target_type, "applied": True, "sort": "CLOSED_AT", "direction": "DESC",
                  "page": 1, "per_page": per_page}
    return server.graphql(APPLIED_EDITS, {"input": edit_input})["queryEdits"]["edits"]
