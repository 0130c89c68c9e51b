"""Re-match from the last run: the report remembers what StashDB said of every scene, and
`rematch_scene_tags` re-applies it through today's local tags without a StashDB request.

The plugin runs as Stash starts it (stdin JSON in, one JSON answer out) against Stash and
StashDB answered by `responses` (tests/unit/plugin_harness.py).
"""
from __future__ import annotations

import json

from tests.unit.plugin_harness import FakeServers, assert_stash_protocol, run_plugin

SYNC, REMATCH = {"mode": "sync_scene_tags"}, {"mode": "rematch_scene_tags"}
ROPE = {"id": "t-rope", "name": "Rope"}


def servers_with_an_unmatched_tag(**kwargs) -> FakeServers:
    servers = FakeServers(scene_count=3, **kwargs)
    servers.stashdb_tags.append(dict(ROPE))
    return servers


def add_local_tag(servers: FakeServers, name: str, **fields) -> str:
    tag_id = str(len(servers.local_tags) + 1)
    servers.local_tags[tag_id] = {"id": tag_id, "name": name, "sort_name": None, "description": None,
                                  "aliases": [], "stash_ids": [], "parents": [], **fields}
    return tag_id


def rows(folder) -> list[dict]:
    return json.loads((folder / "scenes.json").read_text())


def reports(stash_dir) -> list:
    """The report folders, oldest first."""
    folders = (stash_dir / "plugin_data" / "tagManager" / "reports").iterdir()
    return sorted(folders, key=lambda f: json.loads((f / "run.json").read_text())["started_epoch"])


def test_a_tag_made_after_the_sync_reaches_its_scenes_without_asking_stashdb(tmp_path):
    servers = servers_with_an_unmatched_tag()
    code, stdout, stderr = run_plugin(servers, tmp_path, args=SYNC)
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["unmatched_tags_distinct"] == 1
    asked = len(servers.stashdb_ops)
    rope = add_local_tag(servers, "rope")          # matched by name, as Stash's LIKE does
    written_before = len(servers.mutations)

    code, stdout, stderr = run_plugin(servers, tmp_path, args=REMATCH)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None
    assert len(servers.stashdb_ops) == asked                          # not one StashDB request
    assert result["output"]["outcomes"]["updated"] == 3
    assert all({"id": rope} in servers.scene_tags[i] for i in ("1", "2", "3"))
    assert [m["tag_ids"]["ids"] for m in servers.mutations[written_before:]] == [[rope]] * 3
    sync_report, rematch_report = reports(tmp_path)
    assert json.loads((rematch_report / "run.json").read_text())["kind"] == "rematch"
    assert {row["scene_id"]: row["added_tag_ids"] for row in rows(rematch_report)} == {"1": [rope], "2": [rope],
                                                                                    "3": [rope]}


def test_a_rematch_never_removes_a_tag_and_a_second_one_writes_nothing(tmp_path):
    servers = servers_with_an_unmatched_tag()
    run_plugin(servers, tmp_path, args=SYNC)
    add_local_tag(servers, "Rope")
    run_plugin(servers, tmp_path, args=REMATCH)
    tags_after_first = {i: list(tags) for i, tags in servers.scene_tags.items()}
    written = len(servers.mutations)
    code, stdout, stderr = run_plugin(servers, tmp_path, args=REMATCH)
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["outcomes"]["unchanged"] == 3
    assert len(servers.mutations) == written and servers.scene_tags == tags_after_first


def test_a_rematch_follows_the_dry_run_setting(tmp_path):
    servers = servers_with_an_unmatched_tag()
    run_plugin(servers, tmp_path, args=SYNC)
    add_local_tag(servers, "Rope")
    servers.settings = {}                              # never set: a dry run
    written = len(servers.mutations)
    code, stdout, stderr = run_plugin(servers, tmp_path, args=REMATCH)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["dry_run"] is True and result["output"]["outcomes"]["would_update"] == 3
    assert len(servers.mutations) == written
    assert "\x01i\x02[DRY RUN] Scene 1 (Scene 1): would add 1 tags: [Rope]" in stderr.splitlines()


def test_scenes_deleted_since_or_whose_stash_id_changed_are_skipped_and_counted(tmp_path):
    servers = servers_with_an_unmatched_tag()
    run_plugin(servers, tmp_path, args=SYNC)
    rope = add_local_tag(servers, "Rope")
    servers.scene_count = 2                           # scene 3 deleted since
    servers.stash_id_of = lambda scene_id: "sdb-other" if scene_id == "2" else f"sdb-{scene_id}"
    code, stdout, stderr = run_plugin(servers, tmp_path, args=REMATCH)
    output = assert_stash_protocol(stdout, stderr)["output"]
    assert code == 0 and output["outcomes"]["updated"] == 1 and output["outcomes"]["not_found"] == 1
    assert output["scenes_missing"] == 1
    assert {"id": rope} in servers.scene_tags["1"] and {"id": rope} not in servers.scene_tags["2"]


def test_a_rematch_of_named_scenes_touches_only_those(tmp_path):
    servers = servers_with_an_unmatched_tag()
    run_plugin(servers, tmp_path, args=SYNC)
    rope = add_local_tag(servers, "Rope")
    written = len(servers.mutations)
    code, _, _ = run_plugin(servers, tmp_path, args={**REMATCH, "scene_ids": "2"})
    assert code == 0 and [m["ids"] for m in servers.mutations[written:]] == [["2"]]
    assert {"id": rope} not in servers.scene_tags["1"]


def test_without_a_whole_library_report_the_rematch_is_refused(tmp_path):
    servers = servers_with_an_unmatched_tag(settings={})   # only a 200-scene dry run so far
    run_plugin(servers, tmp_path, args={**SYNC, "scene_ids": "1"})
    code, stdout, stderr = run_plugin(servers, tmp_path, args=REMATCH)
    error = assert_stash_protocol(stdout, stderr)["error"]
    assert code == 1 and "no report of a whole-library sync" in error
    code, stdout, stderr = run_plugin(servers, tmp_path, args={**REMATCH, "scene_ids": ""})
    assert code == 1 and "scene_ids" in assert_stash_protocol(stdout, stderr)["error"]


def test_a_full_dry_run_report_is_a_memory_too(tmp_path):
    servers = servers_with_an_unmatched_tag(settings={})
    run_plugin(servers, tmp_path, args={**SYNC, "full_dry_run": "true"})
    rope = add_local_tag(servers, "Rope")
    servers.settings = {"syncDryRun": False}
    code, _, _ = run_plugin(servers, tmp_path, args=REMATCH)
    assert code == 0 and all({"id": rope} in servers.scene_tags[i] for i in ("1", "2", "3"))


def test_a_rematch_report_describes_its_unmatched_tags_as_the_sync_report_did_without_asking(tmp_path):
    """The re-match's own report keeps the details of the tags still unmatched, taken from the
    report it re-applies (the page lists the newest report), with no StashDB request."""
    servers = servers_with_an_unmatched_tag()
    servers.stashdb_tag_catalogue["t-rope"] = {**ROPE, "description": "Tied up.", "aliases": ["Shibari"],
                                               "category": {"name": "Action"}}
    assert run_plugin(servers, tmp_path, args=SYNC)[0] == 0
    asked = len(servers.stashdb_ops)
    assert run_plugin(servers, tmp_path, args=REMATCH)[0] == 0
    assert len(servers.stashdb_ops) == asked
    sync_report, rematch_report = reports(tmp_path)
    described = [(folder / "stashdb_tags.jsonl").read_text() for folder in (sync_report, rematch_report)]
    assert described[0] == described[1]
    assert json.loads(described[1].splitlines()[-1])["aliases"] == ["Shibari"]
