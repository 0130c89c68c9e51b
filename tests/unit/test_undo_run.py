"""undo_run: a live run's additions taken back, exactly, and the only way tagManager ever
removes a tag.

The plugin runs as Stash starts it (stdin JSON in, one JSON answer out) against Stash and
StashDB answered by `responses` (tests/unit/plugin_harness.py).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.unit.plugin_harness import FakeServers, assert_stash_protocol, run_plugin

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNC = {"mode": "sync_scene_tags"}


def report_names(stash_dir: Path, kind: str) -> list[str]:
    """This kind's report folders, oldest first."""
    folders = [(json.loads((f / "run.json").read_text()), f.name)
               for f in (stash_dir / "plugin_data" / "tagManager" / "reports").iterdir()]
    return [name for run, name in sorted(folders, key=lambda item: item[0]["started_epoch"])
            if run.get("kind") == kind]


def operation(servers, stash_dir, **args) -> tuple[int, dict]:
    code, stdout, stderr = run_plugin(servers, stash_dir, args=args)
    return code, assert_stash_protocol(stdout, stderr)


def live_sync(stash_dir) -> tuple[FakeServers, str]:
    servers = FakeServers(scene_count=3)
    before = {scene_id: list(tags) for scene_id, tags in servers.scene_tags.items()}
    code, _, _ = run_plugin(servers, stash_dir, args=SYNC)
    assert code == 0 and servers.scene_tags != before
    return servers, report_names(stash_dir, "sync")[0]


def test_the_preview_counts_what_would_go_and_writes_nothing(tmp_path):
    servers, report = live_sync(tmp_path)
    tags = {i: list(t) for i, t in servers.scene_tags.items()}
    code, result = operation(servers, tmp_path, mode="undo_run", report=report)
    assert code == 0 and result["output"]["dry_run"] is True
    assert result["output"]["summary"] == "would remove 5 tags from 3 scenes"   # 1 + 2 + 2
    assert servers.scene_tags == tags and report_names(tmp_path, "undo") == []


def test_undo_removes_exactly_what_the_run_added_and_keeps_every_other_tag(tmp_path):
    servers, report = live_sync(tmp_path)
    servers.scene_tags["2"].append({"id": "9"})        # the user tags a scene by hand afterwards
    servers.scene_tags["3"] = [t for t in servers.scene_tags["3"] if t["id"] != "2"]   # and untags one
    code, result = operation(servers, tmp_path, mode="undo_run", report=report, dry_run="false")
    output = result["output"]
    assert code == 0 and output["removed"] == 4 and output["tags_already_gone"] == 1 and output["failed"] == 0
    assert servers.scene_tags == {"1": [{"id": "2"}], "2": [{"id": "9"}], "3": []}
    assert {m["tag_ids"]["mode"] for m in servers.mutations[-3:]} == {"REMOVE"}
    [undo_report] = report_names(tmp_path, "undo")
    assert output["undo_report"] == undo_report


def test_a_second_undo_changes_nothing(tmp_path):
    servers, report = live_sync(tmp_path)
    operation(servers, tmp_path, mode="undo_run", report=report, dry_run="false")
    written, tags = len(servers.mutations), {i: list(t) for i, t in servers.scene_tags.items()}
    code, result = operation(servers, tmp_path, mode="undo_run", report=report, dry_run="no")
    assert code == 0 and result["output"]["removed"] == 0 and result["output"]["scenes"] == 0
    assert len(servers.mutations) == written and servers.scene_tags == tags


def test_a_dry_run_report_and_an_undo_report_are_refused(tmp_path):
    servers = FakeServers(settings={})
    run_plugin(servers, tmp_path, args=SYNC)
    [dry] = report_names(tmp_path, "sync")
    code, result = operation(servers, tmp_path, mode="undo_run", report=dry, dry_run="false")
    assert code == 1 and "is of a dry run, which wrote nothing to undo" in result["error"]

    servers, report = live_sync(tmp_path / "live")
    operation(servers, tmp_path / "live", mode="undo_run", report=report, dry_run="false")
    [undo] = report_names(tmp_path / "live", "undo")
    code, result = operation(servers, tmp_path / "live", mode="undo_run", report=undo, dry_run="false")
    assert code == 1 and "only a sync or a re-match can be undone" in result["error"]


def test_undo_needs_a_report_and_a_real_yes_or_no(tmp_path):
    servers, report = live_sync(tmp_path)
    for args, refusal in (({}, "missing argument(s) report"),
                          ({"report": report, "dry_run": "perhaps"}, "dry_run must be one of"),
                          ({"report": "../x"}, "must be the name of a report folder")):
        code, result = operation(servers, tmp_path, mode="undo_run", **args)
        assert code == 1 and refusal in result["error"]


def test_list_runs_shows_the_live_run_and_its_undo(tmp_path):
    servers, report = live_sync(tmp_path)
    operation(servers, tmp_path, mode="undo_run", report=report, dry_run="false")
    code, result = operation(servers, tmp_path, mode="list_runs")
    runs = {run["report"]: run for run in result["output"]["runs"]}
    assert code == 0 and runs[report]["kind"] == "sync" and runs[report]["tags_added"] == 5
    [undo] = report_names(tmp_path, "undo")
    assert runs[report]["undone_by"] == undo
    assert runs[undo]["kind"] == "undo" and runs[undo]["source_report"] == report and runs[undo]["tags_removed"] == 5
    assert runs[undo]["dry_run"] is False and runs[undo]["undone_by"] is None


# -- nothing else can remove a tag ------------------------------------------------------

def runtime_modules() -> list[Path]:
    return sorted(REPO_ROOT.glob("*.py"))


def test_only_run_undo_calls_the_removing_write():
    callers = []
    for path in runtime_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "remove_tags_from_scenes":
                callers.append(path.name)
    assert callers == ["run_undo.py"]


def test_no_runtime_module_can_send_a_replacing_or_removing_tag_write_but_that_one():
    texts = {path.name: path.read_text(encoding="utf-8") for path in runtime_modules()}
    assert [name for name, text in texts.items() if '"REMOVE"' in text] == ["stash_local.py"]
    assert [name for name, text in texts.items() if '"SET"' in text] == []
    # sceneUpdate replaces a scene's whole tag list: tagManager never sends it.
    assert [name for name, text in texts.items() if "sceneUpdate(" in text] == []   # bulkSceneUpdate is spelt apart


def test_a_scene_deleted_since_is_counted_and_the_others_are_undone(tmp_path):
    servers, report = live_sync(tmp_path)
    servers.scene_count = 2                     # scene 3 deleted since: Stash fails a read naming it
    code, result = operation(servers, tmp_path, mode="undo_run", report=report, dry_run="false")
    output = result["output"]
    assert code == 0 and output["scenes_missing"] == 1 and output["removed"] == 3 and output["failed"] == 0
    assert servers.scene_tags["1"] == [{"id": "2"}] and servers.scene_tags["2"] == []
