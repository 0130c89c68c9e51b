"""tag_manager.main in plugin mode: Stash's stdin JSON in, one JSON object out, prefixed stderr.

HTTP to Stash and StashDB is answered by `responses`; everything between (stashapi's
connection, our clients, the sync) is the real code.
"""
from __future__ import annotations

import io
import json
import re

import pytest
import responses

import tag_manager

STASH_URL = "http://127.0.0.1:9999/graphql"
STASHDB_URL = "https://stashdb.org/graphql"
COOKIE = "cookie-value-5f3a9c"
STASH_API_KEY = "stash-api-key-8d2e71"
STASHDB_KEY = "stashdb-key-4b6c0f"


class FakeServers:
    """Answers by GraphQL operation; records what was asked."""

    def __init__(self, settings=None, stashdb_status=200):
        self.settings = settings if settings is not None else {"syncDryRun": False}
        self.stashdb_status = stashdb_status
        self.scene_tags = {"1": [{"id": "2"}], "2": []}
        self.mutations = []
        self.stashdb_ops = []

    def stash(self, request):
        body = json.loads(request.body)
        query, variables = body["query"], body.get("variables") or {}
        if "__schema" in query:
            return 200, {}, json.dumps({"data": {"__schema": {"types": []}}})
        if "StashVersion" in query:
            data = {"version": {"version": "v0.30.1", "hash": "abcdef123", "build_time": "x"}}
        elif "getApiKey" in query:
            data = {"configuration": {"general": {"apiKey": STASH_API_KEY}}}
        elif "TagManagerConfiguration" in query:
            data = {"configuration": {
                "general": {"apiKey": STASH_API_KEY, "stashBoxes": [
                    {"endpoint": STASHDB_URL, "api_key": STASHDB_KEY, "name": "StashDB", "max_requests_per_minute": 0}]},
                "scraping": {"excludeTagPatterns": []},
                "plugins": {"tagManager": self.settings}}}
        elif "TagManagerFindTags" in query:
            data = {"findTags": {"count": 2, "tags": [
                {"id": "1", "name": "Anal", "sort_name": None, "aliases": [], "stash_ids": []},
                {"id": "2", "name": "Blonde", "sort_name": None, "aliases": ["Blond"], "stash_ids": []}]}}
        elif "TagManagerSceneIds" in query:
            data = {"findScenes": {"count": 2, "scenes": [{"id": "1"}, {"id": "2"}]}}
        elif "TagManagerScenesByIds" in query:
            data = {"findScenes": {"scenes": [
                {"id": i, "title": f"Scene {i}", "tags": self.scene_tags[i],
                 "stash_ids": [{"endpoint": STASHDB_URL, "stash_id": f"sdb-{i}"}],
                 "files": [{"fingerprints": [{"type": "oshash", "value": f"00000000000000a{i}"}]}]}
                for i in variables["ids"]]}}
        elif "bulkSceneUpdate" in query:
            self.mutations.extend(variables.values())
            data = {f"s{name.removeprefix('input')}": [{"id": value["ids"][0]}] for name, value in variables.items()}
        else:
            return 422, {}, json.dumps({"errors": [{"message": "unexpected query"}]})
        return 200, {}, json.dumps({"data": data})

    def stashdb(self, request):
        body = json.loads(request.body)
        operation = body.get("operationName") or re.search(r"(query|mutation)\s+(\w+)", body["query"]).group(2)
        self.stashdb_ops.append(operation)
        if self.stashdb_status != 200:
            return self.stashdb_status, {}, ""
        if "me" in body["query"] and "findScene" not in body["query"]:
            return 200, {}, json.dumps({"data": {"me": {"name": "tester"}}})
        batches = body["variables"]["fingerprints"]
        tags = [{"id": "t-anal", "name": "Anal"}, {"id": "t-blond", "name": "Blond"}]
        answer = [[{"id": f"sdb-{fp[0]['hash'][-1]}", "deleted": False, "tags": tags}] for fp in batches]
        return 200, {}, json.dumps({"data": {"findScenesBySceneFingerprints": answer}})


def run_plugin(servers, stash_dir, args=None):
    stdin = io.StringIO(json.dumps({
        "server_connection": {"Scheme": "http", "Host": "0.0.0.0", "Port": 9999,
                              "SessionCookie": {"Name": "session", "Value": COOKIE},
                              "Dir": str(stash_dir), "PluginDir": str(stash_dir / "plugins" / "tagManager")},
        "args": args if args is not None else {"mode": "sync_scene_tags"},
    }))
    stdout, stderr = io.StringIO(), io.StringIO()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STASH_URL, callback=servers.stash)
        mock.add_callback(responses.POST, STASHDB_URL, callback=servers.stashdb)
        code = tag_manager.main([], stdin=stdin, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def assert_stash_protocol(stdout, stderr):
    result = json.loads(stdout)  # exactly one JSON object, nothing else
    assert set(result) == {"output", "error"}
    for line in stderr.splitlines():
        assert re.match(r"^\x01[tdiwep]\x02", line), line
    for secret in (COOKIE, STASH_API_KEY, STASHDB_KEY):
        assert secret not in stdout and secret not in stderr
    return result


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
        "\x01e\x02Unknown mode 'nonsense'; this plugin's task sends mode 'sync_scene_tags'"]


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
        {"scene_id": "1", "title": "Scene 1", "stashdb_id": "sdb-1", "outcome": "updated", "tags": ["Anal"], "message": ""},
        {"scene_id": "2", "title": "Scene 2", "stashdb_id": "sdb-2", "outcome": "updated", "tags": ["Anal", "Blonde"],
         "message": ""},
    ]
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
