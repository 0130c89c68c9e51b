"""The plugin's StashDB client reads the refresh's two questions from the simulated StashDB
over HTTP (the simulator's answers are held against the real stash-box elsewhere): the
scenes edited since a time, paged back newest first; and which remembered tags a merge, a
rename or a deletion changed, from `queryTags`, which lists live tags only.
"""
from __future__ import annotations

import uuid
from datetime import timedelta

from stashdb_api import StashDBClient
from stashdb_changes import changed_scene_ids, changed_tags
from tests.simulators.records import StashDBScene, StashDBTag
from tests.simulators.scene_changes import (DEFAULT_SCENE_TIME, delete_tag, destroy_tag, edit_scene_tags, merge_tags,
                                            rename_tag)
from tests.simulators.stashdb_sim import StashDBSimulator

T = [str(uuid.UUID(int=i)) for i in range(1, 6)]
TAGS = [StashDBTag(T[0], "Rope"), StashDBTag(T[1], "Ropes"), StashDBTag(T[2], "Blonde"), StashDBTag(T[3], "Old"),
        StashDBTag(T[4], "Gone")]
S = [str(uuid.UUID(int=100 + i)) for i in range(40)]


def simulator() -> StashDBSimulator:
    scenes = [StashDBScene(scene_id, f"Scene {i}", tag_ids=(T[i % 5],)) for i, scene_id in enumerate(S)]
    return StashDBSimulator.from_records(TAGS, scenes)


def client(sim) -> StashDBClient:
    return StashDBClient(sim.url, sim.api_key, requests_per_second=1000, timeout=10)


def test_the_plugin_pages_back_to_exactly_the_scenes_edited_since():
    with simulator() as sim:
        for index in (3, 30, 12):
            edit_scene_tags(sim.data, sim.scene_times, S[index], (T[0], T[2]))
        since = (DEFAULT_SCENE_TIME + timedelta(seconds=1)).timestamp()
        changed = changed_scene_ids(client(sim), since, max_pages=5, page_size=2)
        assert changed.ids == {S[3], S[30], S[12]} and changed.pages == 2


def test_a_merged_renamed_destroyed_or_deleted_tag_is_a_change_seen_in_one_request():
    with simulator() as sim:
        merge_tags(sim.data, T[0], [T[1]], ["Ropes"])
        rename_tag(sim.data, T[2], "Blonde Hair")
        destroy_tag(sim.data, T[3])
        delete_tag(sim.data, T[4])
        remembered = {T[0]: "Rope", T[1]: "Ropes", T[2]: "Blonde", T[3]: "Old", T[4]: "Gone"}
        changed, requests_sent = changed_tags(client(sim), remembered)
        gone = "deleted, merged away or unknown"
        assert changed == {T[1]: gone, T[2]: "renamed to Blonde Hair", T[3]: gone, T[4]: gone}
        assert requests_sent == 1
        assert changed_scene_ids(client(sim), (DEFAULT_SCENE_TIME + timedelta(seconds=1)).timestamp(),
                                 max_pages=5).ids == set()   # no scene's `updated` moved
