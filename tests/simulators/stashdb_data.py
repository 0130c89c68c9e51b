"""The StashDB simulator's data: tags, scenes, and a fingerprint index.

Matching follows stash-box's FindScenesBySceneFingerprints: a hash is parsed
as hexadecimal into a 64-bit number (so ``0abc`` and ``ABC`` are the same
hash), scenes are looked up by that number whatever the algorithm, MD5 inputs
are dropped before the lookup, deleted scenes are never returned, and within
one input list a scene appears once, in the order its hashes were given.
"""
from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any, Iterable

from .records import StashDBFingerprint, StashDBScene, StashDBTag
from .stashbox_scalars import parse_fingerprint_hash_text
from .text_rules import ascii_fold

MD5_ALGORITHM = "MD5"


def _tag_view(tag: StashDBTag) -> dict[str, Any]:
    category = None
    if tag.category:
        category = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "category:" + tag.category)),
            "name": tag.category,
            "group": "SCENE",
            "description": None,
        }
    return {
        "id": tag.id,
        "name": tag.name,
        "description": tag.description,
        "aliases": list(tag.aliases),
        "deleted": tag.deleted,
        "category": category,
    }


def _fingerprint_view(fingerprint: StashDBFingerprint) -> dict[str, Any]:
    return {
        "hash": f"{parse_fingerprint_hash_text(fingerprint.hash):016x}",
        "algorithm": fingerprint.algorithm,
        "duration": fingerprint.duration,
        "submissions": 1,
        "reports": 0,
    }


class StashDBData:
    """Tags and scenes by id, plus ``hash number -> scene ids``. Thread-safe."""

    def __init__(self, tags: Iterable[StashDBTag] = (), scenes: Iterable[StashDBScene] = ()) -> None:
        self._lock = threading.Lock()
        self._tags: dict[str, StashDBTag] = {}
        self._tag_views: dict[str, dict[str, Any]] = {}
        self._scenes: dict[str, StashDBScene] = {}
        self._by_hash: dict[int, list[str]] = {}
        for tag in tags:
            self.add_tag(tag)
        for scene in scenes:
            self.add_scene(scene)

    # -- building ----------------------------------------------------------
    def add_tag(self, tag: StashDBTag) -> None:
        with self._lock:
            self._tags[tag.id] = tag
            self._tag_views[tag.id] = _tag_view(tag)

    def remove_tag(self, tag_id: str) -> None:
        """The tag is gone (stash-box's `tagDestroy`); scenes naming it show it no more."""
        with self._lock:
            self._tags.pop(tag_id, None)
            self._tag_views.pop(tag_id, None)

    def add_scene(self, scene: StashDBScene) -> None:
        for fingerprint in scene.fingerprints:
            if fingerprint.algorithm == MD5_ALGORITHM:
                raise ValueError("stash-box no longer stores MD5 fingerprints")
            parse_fingerprint_hash_text(fingerprint.hash)
        with self._lock:
            self._unindex(self._scenes.get(scene.id))
            self._scenes[scene.id] = scene
            for number in {parse_fingerprint_hash_text(f.hash) for f in scene.fingerprints}:
                self._by_hash.setdefault(number, []).append(scene.id)

    def set_deleted(self, scene_id: str, deleted: bool = True) -> None:
        """Mark a scene deleted (merged away) or restore it."""
        self.add_scene(replace(self._scenes[scene_id], deleted=deleted))

    def _unindex(self, scene: StashDBScene | None) -> None:
        if scene is None:
            return
        for number in {parse_fingerprint_hash_text(f.hash) for f in scene.fingerprints}:
            self._by_hash[number].remove(scene.id)

    # -- reading -----------------------------------------------------------
    def scene(self, scene_id: str) -> StashDBScene | None:
        return self._scenes.get(scene_id)

    def tag(self, tag_id: str) -> StashDBTag | None:
        return self._tags.get(tag_id)

    def tags(self) -> list[StashDBTag]:
        with self._lock:
            return list(self._tags.values())

    def scenes(self) -> list[StashDBScene]:
        with self._lock:
            return list(self._scenes.values())

    def live_scenes_for_hashes(self, numbers: Iterable[int]) -> list[StashDBScene]:
        """Non-deleted scenes holding any of ``numbers``; each once, in hash order."""
        found: dict[str, StashDBScene] = {}
        with self._lock:
            for number in numbers:
                for scene_id in self._by_hash.get(number, ()):
                    scene = self._scenes[scene_id]
                    if not scene.deleted and scene_id not in found:
                        found[scene_id] = scene
        return list(found.values())

    def scene_view(self, scene: StashDBScene) -> dict[str, Any]:
        """The scene as the GraphQL resolvers return it."""
        views = self._tag_views
        return {
            "id": scene.id,
            "title": scene.title,
            "details": None,
            "date": scene.date,
            "release_date": scene.date,
            "production_date": None,
            "urls": [],
            "studio": None,
            "tags": [views[tag_id] for tag_id in scene.tag_ids if tag_id in views],
            "images": [],
            "performers": [],
            "fingerprints": [_fingerprint_view(f) for f in scene.fingerprints],
            "duration": scene.duration,
            "director": None,
            "code": None,
            "deleted": scene.deleted,
        }

    def tag_view(self, tag: StashDBTag) -> dict[str, Any]:
        return self._tag_views[tag.id]

    def tags_named(self, name: str) -> list[StashDBTag]:
        folded = ascii_fold(name)
        return [tag for tag in self.tags() if ascii_fold(tag.name) == folded]
