"""How the Stash simulator's records look to GraphQL resolvers.

Scene views compute each field when graphql-core asks for it, so a request
for 100,000 scene ids does not build 100,000 full scenes.
"""
from __future__ import annotations

from typing import Any

from .records import LocalScene, LocalStashID, LocalTag
from .stash_store import LocalStore, format_time


def stash_id_views(store: LocalStore, stash_ids: tuple[LocalStashID, ...]) -> list[dict[str, str]]:
    return [
        {"endpoint": store.endpoint_of(s.endpoint), "stash_id": s.stash_id, "updated_at": s.updated_at}
        for s in stash_ids
    ]


def tag_view(store: LocalStore, tag: LocalTag) -> dict[str, Any]:
    created = format_time(store.created_at)
    return {
        "id": str(tag.id), "name": tag.name, "sort_name": tag.sort_name, "description": tag.description,
        "aliases": list(tag.aliases), "ignore_auto_tag": False, "favorite": False,
        "created_at": created, "updated_at": created,
        "stash_ids": stash_id_views(store, tag.stash_ids), "children": [],
        "parents": [tag_view(store, store.tags[parent]) for parent in tag.parent_ids if parent in store.tags],
    }


class SceneView:
    """A ``Scene`` for graphql-core's default resolver (attribute per field)."""

    __slots__ = ("_store", "_tag_views", "_scene")
    code = details = director = date = None

    def __init__(self, store: LocalStore, tag_views: dict[int, dict[str, Any]], scene: LocalScene) -> None:
        self._store, self._tag_views, self._scene = store, tag_views, scene

    @property
    def id(self) -> str:
        return str(self._scene.id)

    @property
    def title(self) -> str:
        return self._scene.title

    @property
    def organized(self) -> bool:
        return self._scene.organized

    @property
    def urls(self) -> list[str]:
        return []

    @property
    def created_at(self) -> str:
        return format_time(self._store.created_at)

    @property
    def updated_at(self) -> str:
        return format_time(self._store.updated_at(self._scene.id))

    @property
    def files(self) -> list[dict[str, Any]]:
        return [
            {"id": str(f.id), "path": f.path, "basename": f.path.rsplit("/", 1)[-1],
             "fingerprints": [{"type": fp.type, "value": fp.value} for fp in f.fingerprints]}
            for f in self._scene.files
        ]

    @property
    def tags(self) -> list[dict[str, Any]]:
        return [self._tag_views[t] for t in self._store.scene_tag_ids(self._scene.id)]

    @property
    def stash_ids(self) -> list[dict[str, str]]:
        return stash_id_views(self._store, self._scene.stash_ids)
