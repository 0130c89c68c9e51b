"""A failure costs exactly what failed: one test per case of the issue of that name.

Each runs the plugin as Stash does (tests/unit/plugin_harness.py) and checks what the user
gets: exit code, JSON answer, log, report files, and the tags the scenes end with.
"""
from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

import run_report
from tests.unit.plugin_harness import (
    COOKIE,
    SECRETS,
    STASH_API_KEY,
    STASHDB_KEY,
    FakeServers,
    assert_stash_protocol,
    log_lines,
    run_plugin,
)

LIVE = {"mode": "sync_scene_tags"}


def report_folder(stash_dir: Path) -> Path:
    (folder,) = (stash_dir / "plugin_data" / "tagManager" / "reports").iterdir()
    return folder


def tag_ids(servers: FakeServers, scene_id: str) -> set[str]:
    return {tag["id"] for tag in servers.scene_tags[scene_id]}


# 1. One malformed StashID fails one scene, not the 39 asked with it --------------------

def test_a_malformed_stash_id_fails_its_own_scene_only(tmp_path):
    servers = FakeServers(scene_count=40, with_fingerprints=False, malformed_stash_ids={"sdb-7"})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 2
    assert result["output"]["outcomes"]["error"] == 1 and result["output"]["outcomes"]["updated"] == 39
    assert tag_ids(servers, "7") == set()
    assert all(tag_ids(servers, i) == {"1", "2"} for i in servers.scene_ids if i != "7")
    (error,) = [line for line in log_lines(stderr, "e") if "sdb-7" in line]
    assert error.startswith("Scene 7 (Scene 7)") and "re-match it in the Tagger" in error


# 2. A few seconds of StashDB trouble cost no scene: tests/sim (real time, real servers) ---

# 3. A report that cannot be written never stops the sync --------------------------------

def test_a_full_disk_under_the_report_does_not_stop_or_change_the_sync(tmp_path, monkeypatch):
    real_open = builtins.open

    def open_on_full_disk(path, mode="r", *args, **kwargs):
        if Path(path).name.startswith("scenes."):
            return real_open("/dev/full", mode, *args, **kwargs)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(run_report, "open", open_on_full_disk, raising=False)
    servers = FakeServers(scene_count=120)
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["outcomes"]["updated"] == 120
    assert all(tag_ids(servers, i) == {"1", "2"} for i in servers.scene_ids)
    warnings = [line for line in log_lines(stderr, "w") if line.startswith("Report:")]
    assert len(warnings) == 1 and "No space left" in warnings[0]
    assert "REPORT INCOMPLETE" in stderr and result["output"]["report_incomplete"]


def test_a_report_folder_that_cannot_be_made_is_said_in_the_summary(tmp_path):
    (tmp_path / "plugin_data").write_text("a file where the folder should be")
    code, stdout, stderr = run_plugin(FakeServers(), tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["outcomes"]["updated"] == 2
    assert result["output"]["report_incomplete"] and "REPORT INCOMPLETE" in stderr


# 4. A stopped run keeps its report rows -------------------------------------------------

def test_the_report_on_disk_holds_every_written_scene_before_the_next_batch_is_written(tmp_path):
    seen_on_disk = []

    def look_at_the_report(query, variables):
        if "bulkSceneUpdate" in query:
            folder = report_folder(tmp_path)
            rows = json.loads((folder / "scenes.json").read_text(encoding="utf-8"))
            csv_rows = (folder / "scenes.csv").read_text(encoding="utf-8").splitlines()[1:]
            seen_on_disk.append((len(rows), len(csv_rows)))
        return None

    run_plugin(FakeServers(scene_count=120, stash_fault=look_at_the_report), tmp_path)
    assert seen_on_disk == [(0, 0), (40, 40), (80, 80)]


# 5. No secret in the JSON answer or any report file -------------------------------------

def test_secrets_echoed_by_a_server_reach_neither_the_answer_nor_the_report(tmp_path):
    echo = f"proxy error; cookie={COOKIE} key={STASH_API_KEY} box={STASHDB_KEY}"

    def echoing_read_failure(query, variables):
        return (500, {}, echo) if "TagManagerScenesByIds" in query else None

    code, stdout, stderr = run_plugin(FakeServers(scene_count=3, stash_fault=echoing_read_failure), tmp_path)
    assert_stash_protocol(stdout, stderr)  # also: no secret in stdout or stderr
    assert code == 2
    files = list(report_folder(tmp_path).iterdir())
    assert {f.name for f in files} == {"run.json", "scenes.csv", "scenes.json",
                                       "stashdb_tags.jsonl", "stashdb_vocabulary.jsonl", "unmatched_tags.csv", "summary.json"}
    texts = [f.read_text(encoding="utf-8") for f in files]
    assert any("proxy error" in text for text in texts)  # the message is there, the secrets are not
    assert not [s for s in SECRETS for text in texts if s in text]


# 6. Numbers and inputs that mislead -----------------------------------------------------

def test_the_summary_counts_distinct_unmatched_tags_and_their_occurrences(tmp_path):
    servers = FakeServers(scene_count=3)
    servers._stashdb_scene = lambda stash_id: {"id": stash_id, "deleted": False, "tags": [
        {"id": "t-x", "name": "Xtra"}, {"id": "t-y", "name": "Yonder"}]}
    _, _, stderr = run_plugin(servers, tmp_path)
    assert "  StashDB tags with no local match (skipped): 2 distinct tags, 6 occurrences on scenes" in \
        log_lines(stderr, "i")


def test_the_dry_run_says_how_many_scenes_it_previewed_of_how_many(tmp_path):
    servers = FakeServers(scene_count=250, settings={})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    assert code == 0 and servers.mutations == []
    assert "  previewed 200 of 250 scenes; 200 would change" in log_lines(stderr, "i")


def test_limit_minus_one_means_every_scene(tmp_path):
    servers = FakeServers(scene_count=5)
    code, stdout, _ = run_plugin(servers, tmp_path, args={**LIVE, "limit": "-1"})
    assert code == 0 and json.loads(stdout)["output"]["outcomes"]["updated"] == 5


@pytest.mark.parametrize("args, named", [
    ({"limit": "0"}, "limit"), ({"limit": "-3"}, "limit"), ({"limit": "ten"}, "limit"), ({"limit": "2.5"}, "limit"),
    ({"scene_ids": "12,abc"}, "'abc'"), ({"scene_ids": "../1"}, "'../1'"),
])
def test_bad_limits_and_scene_ids_are_refused_before_anything_is_asked(tmp_path, args, named):
    servers = FakeServers()
    code, stdout, stderr = run_plugin(servers, tmp_path, args={**LIVE, **args})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and named in result["error"]
    assert servers.mutations == [] and servers.stashdb_ops == []


def test_an_endpoint_no_scene_carries_says_which_endpoints_scenes_do_carry(tmp_path):
    servers = FakeServers(scene_count=4, scene_endpoint="https://stashdb.org/graphql/")
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1
    assert "0 scenes carry a StashID for exactly https://stashdb.org/graphql." in result["error"]
    assert "https://stashdb.org/graphql/ (4 scenes)" in result["error"]
    assert servers.mutations == []


# 7. Oldest updated_at first ------------------------------------------------------------

def test_scenes_are_synced_oldest_update_first(tmp_path):
    servers = FakeServers(scene_count=6, updated_at={"1": 50, "2": 10, "3": 40, "4": 20, "5": 60, "6": 30})
    run_plugin(servers, tmp_path)
    assert [m["ids"][0] for m in servers.mutations] == ["2", "4", "6", "3", "1", "5"]


# 8. An expired login session stops the run at once, with the fix -------------------------

def login_only(**general):
    """Stash with a login and no API key: the plugin runs on its session cookie."""
    return {"apiKey": "", "username": "admin", "maxSessionAge": 3600, **general}


def test_stash_answering_401_mid_run_stops_at_once_with_the_reason_and_the_fix(tmp_path):
    reads = []

    def session_expires(query, variables):
        if "TagManagerScenesByIds" in query:
            reads.append(1)
            if len(reads) > 2:
                return 401, {}, ""
        return None

    servers = FakeServers(scene_count=400, general=login_only(), stash_fault=session_expires)
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1
    errors = log_lines(stderr, "e")
    assert len(errors) == 1
    assert "session" in errors[0] and "Settings > Security" in errors[0] and "API key" in errors[0]
    summary = result["output"]
    assert summary["outcomes"]["error"] == 0  # not a pile of per-scene failures
    assert summary["outcomes"]["updated"] + summary["scenes_not_processed"] == 400
    assert len(reads) == 3  # nothing asked of Stash after its first 401


def test_a_run_longer_than_the_login_session_is_warned_about_at_the_start(tmp_path):
    servers = FakeServers(scene_count=200, general=login_only(maxSessionAge=2), settings={})
    _, _, stderr = run_plugin(servers, tmp_path)
    (warning,) = [line for line in log_lines(stderr, "w") if "session" in line]
    assert "API key" in warning and "Settings > Security" in warning


def test_no_session_warning_when_stash_has_an_api_key_or_no_login(tmp_path):
    for general in ({"apiKey": STASH_API_KEY, "username": "admin", "maxSessionAge": 2},
                    {"apiKey": "", "username": "", "maxSessionAge": 2}):
        _, _, stderr = run_plugin(FakeServers(scene_count=200, general=general, settings={}), tmp_path / general["apiKey"])
        assert not [line for line in log_lines(stderr, "w") if "session" in line]
