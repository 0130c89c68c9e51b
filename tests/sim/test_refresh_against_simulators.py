"""The refresh over real HTTP, the plugin run as Stash runs it: a live sync, then StashDB's
editors change things (a scene edited, a tag merged into another) and a local tag is linked;
the refresh asks StashDB about exactly the scenes those changes touched, and every scene ends
as the full sync would leave it. Without a report, a dry-run refresh refuses and a live one
runs the full sync.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sim.test_resolving_against_simulators import SETTINGS, run
from tests.simulators.expectations import TagOracle, compute_outcomes
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.scene_changes import edit_scene_tags, merge_tags

LIVE = {**SETTINGS, "syncDryRun": False}
DRY = {**SETTINGS, "syncDryRun": True}
SYNC, REFRESH = {"mode": "sync_scene_tags"}, {"mode": "refresh_scene_tags"}
SCENE_REQUESTS = ("TagManagerFindScenesByFingerprints", "TagManagerFindScenesByIds")


def stashdb_scenes_asked(entries, library) -> set[str]:
    """The StashDB scenes the scene requests among `entries` asked about (fingerprints are
    traced back to the local scene that carries them)."""
    by_hash = {fingerprint.value: scene.stash_id_for(library.endpoint)
               for scene in library.local_scenes for file in scene.files for fingerprint in file.fingerprints}
    asked = set()
    for entry in entries:
        variables = entry.variables or {}
        if entry.operation_name == "TagManagerFindScenesByFingerprints":
            asked.update(by_hash[fingerprints[0]["hash"]] for fingerprints in variables["fingerprints"])
        elif entry.operation_name == "TagManagerFindScenesByIds":
            asked.update(variables.values())
    return asked


def operations(entries) -> list[str]:
    return [entry.operation_name for entry in entries]


def reports(stash_dir: Path) -> list[dict]:
    folders = sorted((stash_dir / "plugin_data" / "tagManager" / "reports").iterdir())
    return [json.loads((folder / "run.json").read_text()) for folder in folders]


def expected_now(library, sims, before: dict) -> dict[int, frozenset[int]]:
    """What a full live sync would leave now: each scene's tags before, plus what today's
    StashDB scene matches among today's local tags."""
    outcomes = compute_outcomes(sims.stash.local_tags(), library.local_scenes, sims.stashdb.data.tags(),
                                sims.stashdb.data.scenes(), library.endpoint)
    return {scene_id: frozenset(before[scene_id]) | outcomes[scene_id].expected_tag_ids for scene_id in before}


def live_synced_scenes(library, outcomes) -> list:
    """Local scenes found on StashDB by fingerprint, with their live StashDB scene."""
    remote = {scene.id: scene for scene in library.stashdb_scenes}
    return [scene for scene in library.local_scenes
            if outcomes[scene.id].found_by == "fingerprint" and not remote[scene.stash_id_for(library.endpoint)].deleted]


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    library = generate_library(300, seed=41)
    stash_dir = tmp_path_factory.mktemp("stash-config")
    with start_simulators(library) as sims:
        log = sims.stashdb.request_log
        assert run(sims, stash_dir, SYNC, LIVE)[0] == 0
        full_sync = list(log)
        quiet = run(sims, stash_dir, REFRESH, LIVE)
        quiet_requests = list(log)[len(full_sync):]

        oracle = TagOracle(sims.stash.local_tags(), library.endpoint)
        data = sims.stashdb.data
        synced = live_synced_scenes(library, library.outcomes)
        edited = synced[0]
        edited_remote = data.scene(edited.stash_id_for(library.endpoint))
        gained = next(tag for tag in data.tags() if isinstance(oracle.match(tag), int) and tag.id not in
                      edited_remote.tag_ids and oracle.match(tag) not in sims.stash.tags_snapshot()[edited.id])
        edit_scene_tags(data, sims.stashdb.scene_times, edited_remote.id, (*edited_remote.tag_ids, gained.id))

        carrying = {}
        for scene in data.scenes():
            if not scene.deleted:
                for tag_id in scene.tag_ids:
                    carrying.setdefault(tag_id, set()).add(scene.id)
        unmatched = [tag for tag in data.tags() if oracle.match(tag) is None and tag.id in carrying]
        source = max(unmatched, key=lambda tag: len(carrying[tag.id]))
        target = next(tag for tag in data.tags() if isinstance(oracle.match(tag), int) and tag.id in carrying
                      and tag.id != gained.id)
        linked = next(tag for tag in unmatched if tag is not source
                      and not carrying[tag.id] & (carrying[source.id] | {edited_remote.id}))
        merge_tags(data, target.id, [source.id], target.aliases)
        unlinked = next(tag for tag in sims.stash.local_tags() if not tag.stash_ids)
        sims.stash.edit_tag({"id": str(unlinked.id), "stash_ids": [{"endpoint": library.endpoint,
                                                                   "stash_id": linked.id}]})
        before = sims.stash.tags_snapshot()
        expected = expected_now(library, sims, before)
        start = len(log)
        changed = run(sims, stash_dir, REFRESH, LIVE)
        yield {"library": library, "full_sync": full_sync, "quiet": quiet, "quiet_requests": quiet_requests,
               "changed": changed, "changed_requests": list(log)[start:], "edited": edited_remote.id,
               "merged_scenes": carrying[source.id], "linked_scenes": carrying[linked.id], "gained": gained,
               "oracle": oracle, "edited_local": edited.id, "before": before, "after": sims.stash.tags_snapshot(),
               "expected": expected, "linked_tag": unlinked.id, "reports": reports(stash_dir),
               "report_names": sorted(path.name for path in (stash_dir / "plugin_data" / "tagManager" / "reports").iterdir())}


def test_with_nothing_changed_the_refresh_asks_about_no_scene(refreshed):
    code, answer, stderr = refreshed["quiet"]
    assert code == 0, stderr
    ops = operations(refreshed["quiet_requests"])
    assert not set(SCENE_REQUESTS) & set(ops)
    assert ops.count("TagManagerChangedScenes") == 1
    summary = answer["output"]["refresh"]
    assert summary["scenes_asked"] == 0 and summary["stashdb_changed_scenes"] == 0
    assert len(refreshed["quiet_requests"]) < len(refreshed["full_sync"]) / 3


def test_a_scene_edited_on_stashdb_is_asked_again_and_gains_its_new_tag(refreshed):
    code, answer, stderr = refreshed["changed"]
    assert code == 0 and answer["error"] is None, stderr
    assert refreshed["edited"] in stashdb_scenes_asked(refreshed["changed_requests"], refreshed["library"])
    assert refreshed["oracle"].match(refreshed["gained"]) in refreshed["after"][refreshed["edited_local"]]
    assert answer["output"]["refresh"]["stashdb_changed_scenes"] == 1


def test_a_merged_tag_asks_again_exactly_the_scenes_that_carried_it(refreshed):
    asked = stashdb_scenes_asked(refreshed["changed_requests"], refreshed["library"])
    in_library = {scene.stash_id_for(refreshed["library"].endpoint) for scene in refreshed["library"].local_scenes}
    assert asked == (refreshed["merged_scenes"] & in_library) | {refreshed["edited"]}
    assert refreshed["changed"][1]["output"]["refresh"]["tags_changed"] == 1


def test_an_unchanged_scene_is_not_asked_about_yet_gains_a_newly_linked_tag(refreshed):
    asked = stashdb_scenes_asked(refreshed["changed_requests"], refreshed["library"])
    assert refreshed["linked_scenes"] and not refreshed["linked_scenes"] & asked
    gained = [scene_id for scene_id, tags in refreshed["after"].items()
              if refreshed["linked_tag"] in tags and refreshed["linked_tag"] not in refreshed["before"][scene_id]]
    assert gained


def test_every_scene_ends_as_the_full_sync_would_leave_it(refreshed):
    assert {scene_id: frozenset(tags) for scene_id, tags in refreshed["after"].items()} == refreshed["expected"]


def test_the_refresh_report_is_a_whole_library_memory(refreshed):
    """Each refresh refreshes from the report before it, a refresh's too."""
    runs, names = refreshed["reports"], refreshed["report_names"]
    assert [run_info["kind"] for run_info in runs] == ["sync", "refresh", "refresh"]
    assert all(run_info["covers_library"] and not run_info["targeted"] for run_info in runs)
    assert [run_info.get("source_report") for run_info in runs] == [None, names[0], names[1]]
    assert runs[2]["started_epoch"] > runs[1]["started_epoch"]


@pytest.fixture(scope="module")
def without_a_report(tmp_path_factory):
    library = generate_library(120, seed=43)
    with start_simulators(library) as sims:
        dry_dir, live_dir = tmp_path_factory.mktemp("dry"), tmp_path_factory.mktemp("live")
        dry = run(sims, dry_dir, REFRESH, DRY)
        asked_by_dry = list(sims.stashdb.request_log)
        live = run(sims, live_dir, REFRESH, LIVE)
        yield {"dry": dry, "asked_by_dry": asked_by_dry, "dry_dir": dry_dir, "live": live, "live_dir": live_dir,
               "library": library, "after": sims.stash.tags_snapshot()}


def test_a_dry_run_refresh_without_a_report_refuses_and_names_the_task_to_run(without_a_report):
    code, answer, stderr = without_a_report["dry"]
    assert code == 1 and "Sync Scene Tags from StashDB" in answer["error"] and "no whole-library report" in answer["error"]
    assert without_a_report["asked_by_dry"] == []
    assert not (without_a_report["dry_dir"] / "plugin_data" / "tagManager" / "reports").exists()


def test_a_live_refresh_without_a_report_runs_the_full_sync(without_a_report):
    code, answer, stderr = without_a_report["live"]
    assert code == 0, stderr
    assert "Running the full sync instead" in stderr
    assert [run_info["kind"] for run_info in reports(without_a_report["live_dir"])] == ["sync"]
    library = without_a_report["library"]
    assert {scene_id: frozenset(tags) for scene_id, tags in without_a_report["after"].items()} == \
        {scene_id: library.expected_tag_ids(scene_id) for scene_id in without_a_report["after"]}
