"""The simulated StashDB answers the refresh's two questions as stash-box does, and the
plugin's StashDB client reads them over HTTP: `queryScenes` by update time (ties by id,
newest first, deleted scenes left out, `per_page` 0 meaning 25, `updated` as Go writes it),
and `queryTags` listing live tags only; a tag merge, rename or deletion changes no scene's
update time.
"""
from __future__ import annotations

import uuid

import requests

from stashdb_api import StashDBClient
from stashdb_changes import CHANGED_SCENES_OPERATION, CHANGED_SCENES_QUERY, changed_scene_ids, changed_tags
from tests.simulators.records import StashDBScene, StashDBTag
from tests.simulators.stashdb_data import INITIAL_UPDATED
from tests.simulators.stashdb_sim import StashDBSimulator

T = [str(uuid.UUID(int=i)) for i in range(1, 5)]
TAGS = [StashDBTag(T[0], "Rope"), StashDBTag(T[1], "Ropes"), StashDBTag(T[2], "Blonde"), StashDBTag(T[3], "Old")]
S = [str(uuid.UUID(int=100 + i)) for i in range(40)]


def simulator() -> StashDBSimulator:
    scenes = [StashDBScene(scene_id, f"Scene {i}", tag_ids=(T[i % 3],)) for i, scene_id in enumerate(S)]
    return StashDBSimulator.from_records(TAGS, [*scenes, StashDBScene(str(uuid.UUID(int=999)), "Gone", deleted=True)])


def client(sim) -> StashDBClient:
    return StashDBClient(sim.url, sim.api_key, requests_per_second=1000, timeout=10)


def page(sim, **page_input) -> dict:
    return client(sim).query_data(CHANGED_SCENES_OPERATION, CHANGED_SCENES_QUERY, {"input": page_input})["queryScenes"]


def test_scenes_come_newest_update_first_ties_by_id_descending_deleted_left_out():
    with simulator() as sim:
        sim.data.edit_scene(S[5], (T[2],), when=INITIAL_UPDATED + 10.25)
        sim.data.edit_scene(S[7], (T[2],), when=INITIAL_UPDATED + 20)
        answer = page(sim, sort="UPDATED_AT", direction="DESC", page=1, per_page=0)
        assert answer["count"] == 40 and len(answer["scenes"]) == 25
        assert [scene["id"] for scene in answer["scenes"][:4]] == [S[7], S[5], S[39], S[38]]
        assert [scene["updated"] for scene in answer["scenes"][:3]] == [
            "2024-12-01T00:00:20Z", "2024-12-01T00:00:10.25Z", "2024-12-01T00:00:00Z"]
        second = page(sim, sort="UPDATED_AT", direction="DESC", page=2, per_page=25)["scenes"]
        assert [scene["id"] for scene in second] == [S[i] for i in range(16, -1, -1) if i not in (5, 7)]


def test_the_plugin_pages_back_to_exactly_the_scenes_edited_since():
    with simulator() as sim:
        for index in (3, 30, 12):
            sim.data.edit_scene(S[index], (T[0], T[2]))
        changed = changed_scene_ids(client(sim), INITIAL_UPDATED + 1, max_pages=5, page_size=2)
        assert changed.ids == {S[3], S[30], S[12]} and changed.pages == 2


def test_a_merge_rename_or_deletion_of_a_tag_moves_no_scene_and_shows_in_the_tag_list():
    with simulator() as sim:
        carrying_ropes = {s.id for s in sim.data.scenes() if T[1] in s.tag_ids}
        sim.data.merge_tag(T[1], T[0])
        sim.data.rename_tag(T[2], "Blonde Hair")
        sim.data.delete_tag(T[3])
        assert all(T[0] in sim.data.scene(scene_id).tag_ids for scene_id in carrying_ropes)
        assert not any({T[1], T[3]} & set(s.tag_ids) for s in sim.data.scenes())
        assert {scene["updated"] for scene in page(sim, sort="UPDATED_AT", direction="DESC", page=1,
                                                   per_page=100)["scenes"]} == {"2024-12-01T00:00:00Z"}
        changed, requests_sent = changed_tags(client(sim), {T[0]: "Rope", T[1]: "Ropes", T[2]: "Blonde",
                                                            T[3]: "Old"})
        assert changed == {T[1]: "deleted, merged away or unknown", T[2]: "renamed to Blonde Hair",
                           T[3]: "deleted, merged away or unknown"} and requests_sent == 1


def test_another_sort_is_refused_in_words():
    with simulator() as sim:
        body = requests.post(sim.url, json={"query": CHANGED_SCENES_QUERY, "variables": {
            "input": {"sort": "TITLE"}}}, headers={"ApiKey": sim.api_key}, timeout=10).json()
        assert "UPDATED_AT only" in body["errors"][0]["message"]
