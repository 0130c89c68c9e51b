"""refresh_plan: the page asks, before offering the refresh, whether it can stand in for the
full sync now; the answer names the report and the time changes are counted from, or says
why the full sync is needed. It reads no memory and asks StashDB nothing.

The plugin runs as Stash starts it (tests/unit/plugin_harness.py).
"""
from __future__ import annotations

import json
import time

from scene_refresh import MAX_MEMORY_AGE_SECONDS, SAFETY_MARGIN_SECONDS, iso_time
from tests.unit.plugin_harness import FakeServers, assert_stash_protocol, run_plugin
from tests.unit.test_rematch import SYNC, reports

PLAN = {"mode": "refresh_plan"}


def plan(servers: FakeServers, stash_dir, args=PLAN) -> tuple[int, dict]:
    code, stdout, stderr = run_plugin(servers, stash_dir, args=args)
    return code, assert_stash_protocol(stdout, stderr)


def test_before_any_whole_library_run_the_refresh_is_not_offered_and_says_why(tmp_path):
    code, answer = plan(FakeServers(scene_count=3), tmp_path)
    assert code == 0
    assert answer["output"]["available"] is False and answer["output"]["report"] is None
    assert "no whole-library report" in answer["output"]["reason"]


def test_after_a_live_sync_the_refresh_counts_changes_from_its_start_less_the_margin(tmp_path):
    servers = FakeServers(scene_count=3)
    assert run_plugin(servers, tmp_path, args={**SYNC})[0] == 0
    [folder] = reports(tmp_path)
    started = json.loads((folder / "run.json").read_text())["started_epoch"]
    asked = len(servers.stashdb_ops)

    code, answer = plan(servers, tmp_path)
    assert code == 0
    assert answer["output"] == {"available": True, "reason": None, "report": folder.name,
                                "since": iso_time(started - SAFETY_MARGIN_SECONDS),
                                "report_started_at": json.loads((folder / "run.json").read_text())["started_at"],
                                "kind": "sync"}
    assert len(servers.stashdb_ops) == asked


def test_a_memory_older_than_the_limit_is_not_offered(tmp_path):
    servers = FakeServers(scene_count=3)
    assert run_plugin(servers, tmp_path, args={**SYNC})[0] == 0
    [folder] = reports(tmp_path)
    run = json.loads((folder / "run.json").read_text())
    run["started_epoch"] = time.time() - MAX_MEMORY_AGE_SECONDS - 86400
    (folder / "run.json").write_text(json.dumps(run))

    answer = plan(servers, tmp_path)[1]["output"]
    assert answer["available"] is False and "days old" in answer["reason"] and folder.name in answer["reason"]


def test_refresh_plan_takes_no_argument(tmp_path):
    code, answer = plan(FakeServers(scene_count=3), tmp_path, args={**PLAN, "report": "x"})
    assert code == 1 and "refresh_plan: unknown argument(s) 'report'" in answer["error"]
