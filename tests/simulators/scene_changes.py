"""What StashDB editors change, done to the simulator's data the way stash-box does it.

Read in stash-box's source (internal/service/edit/scene.go, edit/tag.go, service/tag,
queries/sql/tag.sql, service/scene/query.go) and held against the real server by
tests/stashbox/test_stashbox_changes.py:

* a scene edit (MODIFY) rewrites the scene's row, so its `updated` becomes the time the edit
  was applied;
* a tag MERGE marks each source deleted (its name and aliases stay), moves the sources'
  scene-tag rows to the target (a scene that already had the target just loses the source)
  and leaves every scene's `updated` as it was;
* a tag rename changes the tag alone: the scenes carry the new name, `updated` unchanged;
* a tag DESTROY edit marks the tag deleted, drops its aliases and removes it from every
  scene, `updated` unchanged; the admin's `tagDestroy` deletes the tag's row, so `findTag`
  answers null, and its scene-tag rows go with it;
* a fingerprint submission adds the fingerprint to the scene alone: `updated` unchanged;
* `queryScenes` sorted by CREATED_AT or UPDATED_AT: live scenes only, ordered by that time
  and then by id, both in the requested direction; `page` below 1 reads as 1 and `per_page`
  below 1 as 25; there is no upper limit on `per_page`.

Times are kept per scene (`SceneTimes`) and written as stash-box's GraphQL writes them:
RFC 3339 in UTC with the fraction's trailing zeros dropped.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Sequence

from .records import StashDBFingerprint, StashDBScene
from .stashdb_data import StashDBData

DEFAULT_SCENE_TIME = datetime(2024, 12, 1, tzinfo=timezone.utc)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_PER_PAGE = 25
SORTED_TIMES = {"CREATED_AT": "created", "UPDATED_AT": "updated"}


class UnsimulatedSort(ValueError):
    """A scene sort the simulator does not answer (it orders by CREATED_AT and UPDATED_AT only)."""


def format_stashbox_time(moment: datetime) -> str:
    """`2026-12-02T11:45:12.1234Z`: UTC, microseconds, trailing zeros of the fraction dropped."""
    text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def parse_stashbox_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


class SceneTimes:
    """Each scene's `created` and `updated`; a scene never set reads `DEFAULT_SCENE_TIME`."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, dict[str, datetime]] = {}
        self.clock = clock

    def set(self, scene_id: str, *, created: datetime, updated: datetime) -> None:
        with self._lock:
            self._times[scene_id] = {"created": created, "updated": updated}

    def touch(self, scene_id: str) -> datetime:
        """The scene's row was rewritten now: `updated` becomes the clock's time."""
        now = self.clock()
        with self._lock:
            times = self._times.setdefault(scene_id, {"created": DEFAULT_SCENE_TIME})
            times["updated"] = now
        return now

    def get(self, scene_id: str, which: str) -> datetime:
        with self._lock:
            return self._times.get(scene_id, {}).get(which, DEFAULT_SCENE_TIME)

    def sort_keys(self, which: str) -> dict[str, int]:
        """Every set scene's `which` time in microseconds since 1970 (cheap to sort), under one lock."""
        with self._lock:
            return {scene_id: _microseconds(times[which]) for scene_id, times in self._times.items() if which in times}

    def text(self, scene_id: str, which: str) -> str:
        return format_stashbox_time(self.get(scene_id, which))


# -- queryScenes ----------------------------------------------------------------------

def scene_page(data: StashDBData, times: SceneTimes, page_input: dict[str, Any]) -> dict[str, Any]:
    """`queryScenes` without filters: {count, scenes} for one page of live scenes."""
    which = SORTED_TIMES.get(page_input["sort"])
    if which is None:
        raise UnsimulatedSort(f"the simulator sorts scenes by {' or '.join(SORTED_TIMES)} only")
    live = [scene for scene in data.scenes() if not scene.deleted]
    known, unset = times.sort_keys(which), _microseconds(DEFAULT_SCENE_TIME)
    live.sort(key=lambda scene: (known.get(scene.id, unset), scene.id), reverse=page_input["direction"] == "DESC")
    per_page = page_input["per_page"] if page_input["per_page"] > 0 else DEFAULT_PER_PAGE
    start = (max(page_input["page"], 1) - 1) * per_page
    return {"count": len(live), "scenes": [data.scene_view(scene) for scene in live[start:start + per_page]]}


# -- what editors change --------------------------------------------------------------

def edit_scene_tags(data: StashDBData, times: SceneTimes, scene_id: str, tag_ids: Sequence[str]) -> None:
    """A scene MODIFY edit, applied: the scene's tags become `tag_ids`, its `updated` now."""
    data.add_scene(replace(data.scene(scene_id), tag_ids=tuple(dict.fromkeys(tag_ids))))
    times.touch(scene_id)


def add_fingerprint(data: StashDBData, scene_id: str, fingerprint: StashDBFingerprint) -> None:
    """A submitted fingerprint: the scene is found by it from now on, and its `updated` stays."""
    scene = data.scene(scene_id)
    data.add_scene(replace(scene, fingerprints=(*scene.fingerprints, fingerprint)))


def merge_tags(data: StashDBData, target_id: str, source_ids: Sequence[str], aliases: Iterable[str]) -> None:
    """A tag MERGE edit, applied: sources deleted, their scene rows moved to the target."""
    data.add_tag(replace(data.tag(target_id), aliases=tuple(dict.fromkeys(aliases))))
    for source_id in source_ids:
        data.add_tag(replace(data.tag(source_id), deleted=True))
        _retag_scenes(data, source_id, target_id)


def rename_tag(data: StashDBData, tag_id: str, new_name: str) -> None:
    data.add_tag(replace(data.tag(tag_id), name=new_name))


def destroy_tag(data: StashDBData, tag_id: str) -> None:
    """A tag DESTROY edit, applied: kept, deleted, without aliases, on no scene."""
    data.add_tag(replace(data.tag(tag_id), deleted=True, aliases=()))
    _retag_scenes(data, tag_id, None)


def delete_tag(data: StashDBData, tag_id: str) -> None:
    """The admin's `tagDestroy`: the tag is gone, and so are its scene-tag rows."""
    _retag_scenes(data, tag_id, None)
    data.remove_tag(tag_id)


def _retag_scenes(data: StashDBData, old_id: str, new_id: str | None) -> None:
    """Every scene (deleted ones too) carrying `old_id` carries `new_id` instead, once."""
    for scene in data.scenes():
        if old_id in scene.tag_ids:
            data.add_scene(_with_tag_replaced(scene, old_id, new_id))


def _with_tag_replaced(scene: StashDBScene, old_id: str, new_id: str | None) -> StashDBScene:
    kept = [tag_id for tag_id in scene.tag_ids if tag_id != old_id]
    if new_id is not None and new_id not in kept:
        kept.append(new_id)
    return replace(scene, tag_ids=tuple(kept))
