"""A failure costs exactly what failed, over real HTTP at StashDB's real rate.

The plugin runs as Stash runs it (a subprocess fed Stash's stdin JSON) against the
simulators; time passes for real, so a burst of StashDB errors lasts what it says.
"""
from __future__ import annotations

from tests.sim.test_plugin_against_simulators import run_plugin
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library

LIVE = {"syncEndpoint": "StashDB", "syncDryRun": False}


def test_a_six_second_stashdb_outage_mid_run_costs_no_scene(tmp_path):
    library = generate_library(300, seed=11)
    with start_simulators(library) as sims:
        sims.stashdb.add_fault("http_502_html", after=2, for_seconds=6.0)
        run = run_plugin(sims, tmp_path, LIVE)
        after = sims.stash.tags_snapshot()
        fired = sum(rule.fired for rule in sims.stashdb.faults.rules())
    assert fired >= 3  # every try during the 6 s failed: the first, and its retries after 1 and 2 s
    assert run.code == 0, run.stderr[-3000:]
    summary = run.summary
    assert summary["outcomes"]["error"] == 0 and summary["aborted"] is None
    wrong = [s.id for s in library.local_scenes if frozenset(after[s.id]) != library.expected_tag_ids(s.id)]
    assert wrong == []


def test_scenes_are_read_oldest_update_first(tmp_path):
    library = generate_library(200, seed=5)
    with start_simulators(library) as sims:
        updated_at = {s.id: sims.stash.scene_updated_at(s.id) for s in library.local_scenes}
        run_plugin(sims, tmp_path, LIVE)
        reads = [entry.variables["ids"] for entry in sims.stash.request_log.entries()
                 if entry.operation_name == "TagManagerScenesByIds"]
    read_order = [int(scene_id) for ids in reads for scene_id in ids]
    with_stash_id = {s.id for s in library.local_scenes if s.stash_id_for(library.endpoint)}
    expected = sorted(with_stash_id, key=lambda scene_id: (updated_at[scene_id], scene_id))
    assert read_order[:len(expected)] == expected
