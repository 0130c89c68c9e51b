"""The simulator's editor changes: which of them move a scene's `updated` (a scene edit only).

The server side of these facts is recorded by tests/stashbox/test_stashbox_changes.py; there
the simulator is given the server's times, so the rule "a scene edit moves `updated`, a tag
change does not" is held here, over HTTP, with a manual clock.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests

from tests.simulators import StashDBData, StashDBScene, StashDBSimulator, StashDBTag
from tests.simulators import scene_changes

QUERY = """query Page($input: SceneQueryInput!) {
  queryScenes(input: $input) { count scenes { id updated tags { id name deleted } } }
}"""
START = datetime(2026, 1, 1, 12, 0, 0, 250000, tzinfo=timezone.utc)


def tag(number: int) -> StashDBTag:
    return StashDBTag(f"00000000-0000-4000-8000-0000000000{number:02d}", f"Tag {number}", (f"alias {number}",))


def scene(number: int, *tag_numbers: int, deleted: bool = False) -> StashDBScene:
    return StashDBScene(f"00000000-0000-4000-9000-0000000000{number:02d}", f"Scene {number}",
                        tuple(tag(n).id for n in tag_numbers), deleted=deleted)


def page(sim: StashDBSimulator, **page_input) -> dict:
    answer = requests.post(sim.url, json={"query": QUERY, "variables": {"input": page_input}},
                           headers={"ApiKey": sim.api_key}, timeout=5).json()
    assert "errors" not in answer, answer
    return answer["data"]["queryScenes"]


def newest(sim: StashDBSimulator) -> list[tuple[str, str]]:
    return [(s["id"], s["updated"]) for s in page(sim, sort="UPDATED_AT", direction="DESC", page=1, per_page=50)["scenes"]]


def make_sim():
    data = StashDBData([tag(n) for n in range(1, 6)], [scene(1, 1, 2), scene(2, 2, 3), scene(3, 4, 5),
                                                        scene(4, 1, deleted=True)])
    sim = StashDBSimulator(data)
    clock = [START]
    sim.scene_times.clock = lambda: clock[0]
    return sim, clock


def test_only_a_scene_edit_moves_updated():
    sim, clock = make_sim()
    with sim:
        before = newest(sim)
        scene_changes.merge_tags(sim.data, tag(3).id, [tag(2).id], ["alias 3", "Tag 2"])
        scene_changes.rename_tag(sim.data, tag(4).id, "Renamed")
        scene_changes.destroy_tag(sim.data, tag(5).id)
        scene_changes.delete_tag(sim.data, tag(1).id)
        assert newest(sim) == before
        clock[0] = START + timedelta(minutes=5)
        scene_changes.edit_scene_tags(sim.data, sim.scene_times, scene(3).id, [tag(3).id])
        assert newest(sim)[0] == (scene(3).id, "2026-01-01T12:05:00.25Z")
        assert newest(sim)[1:] == [entry for entry in before if entry[0] != scene(3).id]


def test_tag_changes_as_the_scenes_show_them():
    sim, _ = make_sim()
    with sim:
        scene_changes.merge_tags(sim.data, tag(3).id, [tag(2).id], ["alias 3", "Tag 2"])
        scene_changes.rename_tag(sim.data, tag(4).id, "Renamed")
        scene_changes.destroy_tag(sim.data, tag(5).id)
        scene_changes.delete_tag(sim.data, tag(1).id)
        tags = {s["id"]: [(t["id"], t["name"]) for t in s["tags"]]
                for s in page(sim, sort="UPDATED_AT", direction="ASC", page=1, per_page=10)["scenes"]}
    assert tags == {scene(1).id: [(tag(3).id, "Tag 3")], scene(2).id: [(tag(3).id, "Tag 3")],
                    scene(3).id: [(tag(4).id, "Renamed")]}
    assert sim.data.tag(tag(2).id).deleted and sim.data.tag(tag(2).id).aliases == ("alias 2",)
    assert sim.data.tag(tag(5).id).deleted and sim.data.tag(tag(5).id).aliases == ()
    assert sim.data.tag(tag(1).id) is None and sim.data.scene(scene(4).id).tag_ids == ()


def test_paging_reads_page_and_per_page_as_stash_box_does():
    sim, _ = make_sim()
    with sim:
        ids = [s["id"] for s in page(sim, sort="UPDATED_AT", direction="DESC", page=1, per_page=10)["scenes"]]
        assert ids == [scene(3).id, scene(2).id, scene(1).id]         # equal times: by id, newest first
        assert page(sim, sort="UPDATED_AT", direction="DESC", page=0, per_page=2)["scenes"][0]["id"] == ids[0]
        second = page(sim, sort="UPDATED_AT", direction="DESC", page=2, per_page=2)
        assert (second["count"], [s["id"] for s in second["scenes"]]) == (3, ids[2:])
        assert len(page(sim, sort="UPDATED_AT", direction="DESC", page=1, per_page=0)["scenes"]) == 3


def test_a_sort_the_simulator_does_not_answer_is_an_error_not_a_guess():
    with StashDBSimulator(StashDBData([], [scene(1)])) as sim:
        answer = requests.post(sim.url, json={"query": QUERY, "variables": {"input": {"sort": "TITLE"}}},
                               headers={"ApiKey": sim.api_key}, timeout=5).json()
    assert answer["data"] is None and "CREATED_AT or UPDATED_AT" in answer["errors"][0]["message"]
