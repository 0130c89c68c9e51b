"""tag_manager.main in plugin mode: Stash's stdin JSON in, one JSON object out, prefixed stderr.

HTTP to Stash and StashDB is answered by `responses`; everything between (stashapi's
connection, our clients, the sync) is the real code.
"""
from __future__ import annotations

import io
import json

import pytest
import responses

import tag_manager

from tests.unit.plugin_harness import (
    STASH_API_KEY,
    STASH_URL,
    STASHDB_KEY,
    STASHDB_URL,
    FakeServers,
    assert_stash_protocol,
    run_plugin,
)


def test_live_run_in_plugin_mode_adds_tags_with_server_side_add(tmp_path):
    servers = FakeServers()
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None
    assert result["output"]["outcomes"]["updated"] == 2
    assert sorted((m["ids"], m["tag_ids"]["ids"], m["tag_ids"]["mode"])
                  for m in servers.mutations) == [(["1"], ["1"], "ADD"), (["2"], ["1", "2"], "ADD")]
    progress = [float(line[3:]) for line in stderr.splitlines() if line.startswith("\x01p\x02")]
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_unset_dry_run_setting_means_dry_run(tmp_path):
    servers = FakeServers(settings={})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and servers.mutations == []
    assert result["output"]["outcomes"]["would_update"] == 2
    assert "\x01i\x02[DRY RUN] Scene 1 (Scene 1): would add 1 tags: [Anal]" in stderr.splitlines()


def test_unknown_mode_fails_with_one_error_line(tmp_path):
    code, stdout, stderr = run_plugin(FakeServers(), tmp_path, args={"mode": "nonsense"})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and "Unknown mode" in result["error"]
    assert [line for line in stderr.splitlines() if line.startswith("\x01e")] == [
        "\x01e\x02Unknown mode 'nonsense'; tagManager's modes are 'sync_scene_tags', 'rematch_scene_tags', "
        "'refresh_scene_tags', 'unmatched_tags', 'link_tag', 'create_tags', 'exclude_tag', 'run_mode', 'tag_scenes', "
        "'undo_run', 'list_runs', 'pin_matches', 'rematch_candidates', 'refresh_plan'"]


@pytest.mark.parametrize("status", [401])
def test_rejected_stashdb_key_stops_before_any_scene(status, tmp_path):
    servers = FakeServers(stashdb_status=status)
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and "rejected the API key" in result["error"]
    assert len(servers.stashdb_ops) == 1 and servers.mutations == []
    assert len([line for line in stderr.splitlines() if line.startswith("\x01e")]) == 1


def test_report_is_written_beside_stash_config_and_named_in_the_log(tmp_path):
    servers = FakeServers()
    code, stdout, stderr = run_plugin(servers, tmp_path)
    assert code == 0
    (folder,) = (tmp_path / "plugin_data" / "tagManager" / "reports").iterdir()
    rows = json.loads((folder / "scenes.json").read_text())
    assert rows == [
        {"scene_id": "1", "title": "Scene 1", "stashdb_id": "sdb-1", "outcome": "updated", "tags": ["Anal"], "message": "",
         "unmatched_stashdb_tag_ids": [], "stashdb_tags": [0, 1], "added_tag_ids": ["1"]},
        {"scene_id": "2", "title": "Scene 2", "stashdb_id": "sdb-2", "outcome": "updated", "tags": ["Anal", "Blonde"],
         "message": "", "unmatched_stashdb_tag_ids": [], "stashdb_tags": [0, 1], "added_tag_ids": ["1", "2"]},
    ]
    vocabulary = [json.loads(line) for line in (folder / "stashdb_vocabulary.jsonl").read_text().splitlines()]
    assert vocabulary == [{"i": 0, "id": "t-anal", "name": "Anal"}, {"i": 1, "id": "t-blond", "name": "Blond"}]
    assert (folder / "scenes.csv").read_text().splitlines()[2] == "2,Scene 2,sdb-2,updated,Anal; Blonde,"
    assert json.loads((folder / "summary.json").read_text())["outcomes"]["updated"] == 2
    assert str(folder) in stderr.splitlines()[-1]


def test_targeted_run_from_task_args_touches_only_the_named_scene(tmp_path):
    servers = FakeServers()
    code, stdout, _ = run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags", "scene_ids": "2"})
    assert code == 0 and [m["ids"] for m in servers.mutations] == [["2"]]
    assert json.loads(stdout)["output"]["scenes_total"] == 1


def test_full_dry_run_task_writes_nothing_even_when_dry_run_is_off(tmp_path):
    servers = FakeServers(settings={"syncDryRun": False})
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags", "full_dry_run": "true"})
    assert code == 0 and servers.mutations == []
    assert json.loads(stdout)["output"]["outcomes"]["would_update"] == 2
    assert "Full dry-run report" in stderr


def run_command_line(servers, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"STASH_URL=http://127.0.0.1:9999\nSTASH_API_KEY={STASH_API_KEY}\n")
    stderr = io.StringIO()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STASH_URL, callback=servers.stash)
        mock.add_callback(responses.POST, STASHDB_URL, callback=servers.stashdb)
        code = tag_manager.main(["sync", *argv, "--report-dir", str(tmp_path / "reports")], stderr=stderr, environ={})
    return code, stderr.getvalue()


def test_command_line_reads_dotenv_and_writes_readable_lines(tmp_path, monkeypatch):
    servers = FakeServers(settings={})
    code, stderr = run_command_line(servers, ["--no-dry-run", "--scene-id", "1"], tmp_path, monkeypatch)
    assert code == 0 and [m["ids"] for m in servers.mutations] == [["1"]]
    assert "INFO    Scene 1 (Scene 1): added 1 tags: [Anal]" in stderr
    assert "\x01" not in stderr and STASH_API_KEY not in stderr and STASHDB_KEY not in stderr
    assert "Report: " + str(tmp_path / "reports") in stderr


def test_command_line_dry_run_follows_the_flag_over_the_setting(tmp_path, monkeypatch):
    servers = FakeServers(settings={"syncDryRun": False})
    code, stderr = run_command_line(servers, ["--dry-run"], tmp_path, monkeypatch)
    assert code == 0 and servers.mutations == []
    assert "[DRY RUN] Scene 2 (Scene 2): would add 2 tags: [Anal, Blonde]" in stderr
