"""rematch_candidates: after a reload the page offers the scenes of the last whole-library
run that can gain tags resolved since, however they were resolved, and only those.

The plugin runs as Stash starts it (stdin JSON in, one JSON answer out) against Stash and
StashDB answered by `responses` (tests/unit/plugin_harness.py). In every StashDB scene
there, Anal and Blond match local tags from the start and Rope (added here) matches none.
"""
from __future__ import annotations

import rematch_offer
from tests.unit.plugin_harness import STASHDB_URL, FakeServers, assert_stash_protocol, json_answer, run_plugin
from tests.unit.test_rematch import REMATCH, SYNC, add_local_tag, reports, servers_with_an_unmatched_tag

CANDIDATES = {"mode": "rematch_candidates"}


def candidates(servers: FakeServers, stash_dir, **args) -> dict:
    code, stdout, stderr = run_plugin(servers, stash_dir, args={**CANDIDATES, **args})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0, result["error"]
    return result["output"]


def synced(stash_dir) -> FakeServers:
    servers = servers_with_an_unmatched_tag()
    code, _, _ = run_plugin(servers, stash_dir, args=SYNC)
    assert code == 0
    return servers


def test_a_tag_created_since_the_sync_offers_its_scenes_without_asking_stashdb_or_writing(tmp_path):
    servers = synced(tmp_path)
    assert candidates(servers, tmp_path)["total"] == 0          # nothing resolved yet
    rope = add_local_tag(servers, "rope")                       # matched by name, as Stash's LIKE does
    asked, written = len(servers.stashdb_ops), len(servers.mutations)

    offer = candidates(servers, tmp_path)
    assert offer["scene_ids"] == ["1", "2", "3"] and offer["total"] == 3 and offer["complete"] is True
    assert offer["tags"] == [{"stashdb_id": "t-rope", "name": "Rope", "tag_id": rope, "tag_name": "rope", "scenes": 3}]
    assert offer["report"] == reports(tmp_path)[0].name and offer["carrying"] == 3
    assert len(servers.stashdb_ops) == asked and len(servers.mutations) == written
    assert servers.tag_writes == []


def test_a_tag_linked_outside_the_page_counts_as_resolved(tmp_path):
    servers = synced(tmp_path)
    cord = add_local_tag(servers, "Cord")                        # no name in common with Rope
    assert candidates(servers, tmp_path)["total"] == 0
    servers.local_tags[cord]["stash_ids"] = [{"endpoint": STASHDB_URL, "stash_id": "t-rope"}]  # Stash's tag page
    offer = candidates(servers, tmp_path)
    assert offer["total"] == 3 and offer["tags"][0]["tag_id"] == cord and offer["tags"][0]["tag_name"] == "Cord"


def test_after_the_rematch_nothing_is_offered_and_after_its_undo_the_scenes_are_offered_again(tmp_path):
    servers = synced(tmp_path)
    add_local_tag(servers, "Rope")
    code, _, _ = run_plugin(servers, tmp_path, args={**REMATCH, "scene_ids": ",".join(candidates(servers, tmp_path)
                                                                                        ["scene_ids"])})
    assert code == 0
    assert candidates(servers, tmp_path)["total"] == 0          # the scenes carry Rope now
    rematch_report = reports(tmp_path)[-1].name
    code, _, _ = run_plugin(servers, tmp_path, args={"mode": "undo_run", "report": rematch_report, "dry_run": "false"})
    assert code == 0
    assert candidates(servers, tmp_path)["scene_ids"] == ["1", "2", "3"]


def test_a_dry_run_rematch_leaves_the_offer_as_it_was(tmp_path):
    servers = synced(tmp_path)
    add_local_tag(servers, "Rope")
    servers.settings = {}                                         # never set: a dry run
    run_plugin(servers, tmp_path, args=REMATCH)
    assert candidates(servers, tmp_path)["total"] == 3


def reads_of(servers: FakeServers, operation: str) -> list[dict]:
    """The variables of each request of one operation Stash received."""
    return [variables for query, variables in servers.stash_requests if operation in query]


def test_a_scene_tagged_by_hand_is_left_out_and_a_deleted_one_is_counted(tmp_path):
    servers = synced(tmp_path)
    rope = add_local_tag(servers, "Rope")
    servers.scene_tags["1"].append({"id": rope})                  # tagged by hand since
    servers.scene_count = 2                                       # scene 3 deleted since
    servers.stash_requests = []
    offer = candidates(servers, tmp_path)
    assert offer["scene_ids"] == ["2"] and offer["carrying"] == 3 and offer["checked"] == 3
    assert offer["missing"] == 1 and offer["tags"][0]["scenes"] == 1
    # Stash refused the read naming scene 3; one snapshot of ids, then the read without it
    assert [r["ids"] for r in reads_of(servers, "TagManagerScenesByIds")] == [["1", "2", "3"], ["1", "2"]]
    assert len(reads_of(servers, "TagManagerSceneIds")) == 1


def test_a_read_stash_fails_for_another_reason_is_an_error_not_a_missing_scene(tmp_path):
    servers = synced(tmp_path)
    add_local_tag(servers, "Rope")
    servers.stash_fault = lambda query, variables: (json_answer({"data": None, "errors": [{"message": "database is locked"}]})
                                                    if "TagManagerScenesByIds" in query else None)
    code, stdout, stderr = run_plugin(servers, tmp_path, args=CANDIDATES)
    assert code == 1 and "database is locked" in assert_stash_protocol(stdout, stderr)["error"]


def test_only_tags_the_run_left_unmatched_and_that_match_now_are_offered(tmp_path):
    servers = synced(tmp_path)
    servers.scene_tags["2"] = []                   # Anal and Blond removed by hand: not "resolved since"
    add_local_tag(servers, "Rope")
    servers.exclude_tag_patterns = ["^rope$"]      # resolved by excluding it: nothing to gain
    offer = candidates(servers, tmp_path)
    assert offer["total"] == 0 and offer["tags"] == [] and offer["carrying"] == 0


def test_the_answer_lists_at_most_its_cap_and_the_rest_come_after_a_rematch(tmp_path, monkeypatch):
    monkeypatch.setattr(rematch_offer, "MAX_TAG_SCENES", 2)
    servers = synced(tmp_path)
    add_local_tag(servers, "Rope")
    offer = candidates(servers, tmp_path)
    assert offer["scene_ids"] == ["1", "2"] and offer["complete"] is False and offer["carrying"] == 3
    assert "1 more scenes of the last run carry tags resolved since" in offer["note"]
    run_plugin(servers, tmp_path, args={**REMATCH, "scene_ids": "1,2"})
    offer = candidates(servers, tmp_path)
    assert offer["scene_ids"] == ["3"] and offer["complete"] is True and offer["note"] is None


def test_without_a_whole_library_report_there_is_nothing_to_offer_and_a_wrong_name_is_refused(tmp_path):
    servers = servers_with_an_unmatched_tag(settings={})
    run_plugin(servers, tmp_path, args=SYNC)                      # a 200-scene dry run: no memory
    offer = candidates(servers, tmp_path)
    assert offer["report"] is None and offer["total"] == 0 and "no report of a whole-library sync" in offer["note"]
    for args, refusal in (({"report": "20990101-000000-sync"}, "no report named"),
                          ({"report": "../x"}, "must be the name of a report folder"),
                          ({"scene_ids": "1"}, "unknown argument")):
        code, stdout, stderr = run_plugin(servers, tmp_path, args={**CANDIDATES, **args})
        assert code == 1 and refusal in assert_stash_protocol(stdout, stderr)["error"]
