"""pin_matches: local tags that match a report's StashDB tags by name or alias gain those
tags' StashIDs, so a later rename (local or on StashDB) no longer breaks the match.

The plugin runs as Stash starts it (stdin JSON in, one JSON answer out) against Stash and
StashDB answered by `responses` (tests/unit/plugin_harness.py). Each test first runs a full
dry-run sync, which writes nothing but leaves a whole-library report behind.
"""
from __future__ import annotations

import copy
import json

from tests.unit.plugin_harness import STASHDB_URL, FakeServers, assert_stash_protocol, log_lines, run_plugin

OTHER_ENDPOINT = "https://fansdb.cc/graphql"
FULL_DRY_RUN = {"mode": "sync_scene_tags", "full_dry_run": "true"}
PIN, LIVE = {"mode": "pin_matches"}, {"mode": "pin_matches", "dry_run": "false"}
STASHDB_TAGS = [{"id": "t-stockings", "name": "Stockings"}, {"id": "t-nylons", "name": "nylons"},
                {"id": "t-rope", "name": "Rope"}, {"id": "t-bondage", "name": "Bondage"},
                {"id": "t-feet", "name": "Feet"}]
# What the library below must give: (local tag id, StashDB id, matched by).
EXPECTED_PINS = [("1", "t-anal", "name"), ("2", "t-blond", "alias"), ("3", "t-nylons", "alias"),
                 ("3", "t-stockings", "name")]


def local_tag(tag_id, name, *, aliases=(), stash_ids=()):
    return {"id": tag_id, "name": name, "sort_name": None, "description": None, "aliases": list(aliases),
            "stash_ids": [dict(s, updated_at="2024-01-01T00:00:00Z") for s in stash_ids], "parents": []}


def library(**overrides) -> FakeServers:
    """Anal by name, Blond by an alias of Blonde (which is also linked on another stash-box),
    Stockings and nylons both on the local Stockings, Rope on a local tag already linked to
    Bondage, Feet on nothing."""
    servers = FakeServers(settings={}, scene_count=3, **overrides)
    servers.stashdb_tags += [dict(tag) for tag in STASHDB_TAGS]
    servers.local_tags["2"] = local_tag("2", "Blonde", aliases=["Blond", "Platinum"],
                                        stash_ids=[{"endpoint": OTHER_ENDPOINT, "stash_id": "f-blonde"}])
    servers.local_tags["3"] = local_tag("3", "Stockings", aliases=["Nylons"])
    servers.local_tags["4"] = local_tag("4", "Rope", stash_ids=[{"endpoint": STASHDB_URL, "stash_id": "t-bondage"}])
    return servers


def remembered(servers: FakeServers, stash_dir) -> FakeServers:
    code, _, _ = run_plugin(servers, stash_dir, args=FULL_DRY_RUN)
    assert code == 0 and servers.mutations == [] and servers.tag_writes == []
    return servers


def operation(servers, stash_dir, args) -> tuple[int, dict, str]:
    code, stdout, stderr = run_plugin(servers, stash_dir, args=args)
    return code, assert_stash_protocol(stdout, stderr), stderr


def pins(output: dict, status: str) -> list[tuple[str, str, str]]:
    return sorted((r["tag_id"], r["stashdb_id"], r["matched_by"]) for r in output["rows"] if r["status"] == status)


def links(servers: FakeServers, tag_id: str) -> set[tuple[str, str]]:
    return {(s["endpoint"], s["stash_id"]) for s in servers.local_tags[tag_id]["stash_ids"]}


def test_the_preview_lists_every_name_and_alias_match_and_writes_nothing(tmp_path):
    servers = remembered(library(), tmp_path)
    tags_before, asked = copy.deepcopy(servers.local_tags), len(servers.stashdb_ops)
    code, result, stderr = operation(servers, tmp_path, PIN)
    output = result["output"]
    assert code == 0 and result["error"] is None and output["dry_run"] is True
    assert pins(output, "would_pin") == EXPECTED_PINS
    assert output["would_pin"] == 4 and output["pinned"] == 0 and output["local_tags"] == 3
    assert output["summary"] == "would pin 4 StashDB tags on 3 local tags"
    assert servers.tag_writes == [] and servers.local_tags == tags_before
    assert len(servers.stashdb_ops) == asked
    assert "[DRY RUN] would pin StashDB tag t-anal ('Anal') on local tag 'Anal' (id 1), matched by name" in \
        log_lines(stderr, "i")


def test_live_pins_exactly_the_matches_in_one_write_per_tag_keeping_aliases_and_other_links(tmp_path):
    servers = remembered(library(), tmp_path)
    asked = len(servers.stashdb_ops)
    code, result, stderr = operation(servers, tmp_path, LIVE)
    output = result["output"]
    assert code == 0 and output["dry_run"] is False and pins(output, "pinned") == EXPECTED_PINS
    assert output["pinned"] == 4 and output["failed"] == 0 and output["local_tags"] == 3
    assert sorted(write["id"] for kind, write in servers.tag_writes) == ["1", "2", "3"]   # one write each
    assert {kind for kind, _ in servers.tag_writes} == {"tagUpdate"}
    assert links(servers, "1") == {(STASHDB_URL, "t-anal")}
    assert links(servers, "2") == {(OTHER_ENDPOINT, "f-blonde"), (STASHDB_URL, "t-blond")}
    assert links(servers, "3") == {(STASHDB_URL, "t-stockings"), (STASHDB_URL, "t-nylons")}
    assert servers.local_tags["2"]["aliases"] == ["Blond", "Platinum"]
    assert servers.local_tags["3"]["aliases"] == ["Nylons"]
    assert [s["updated_at"] for s in servers.local_tags["2"]["stash_ids"] if s["endpoint"] == OTHER_ENDPOINT] == \
        ["2024-01-01T00:00:00Z"]
    assert len(servers.stashdb_ops) == asked
    pinned_lines = [line for line in log_lines(stderr, "i") if line.startswith("Pinned StashDB tag")]
    assert len(pinned_lines) == 4
    assert "Pinned StashDB tag t-blond ('Blond') on local tag 'Blonde' (id 2), matched by alias" in pinned_lines


def test_a_tag_linked_to_another_stashdb_tag_is_listed_with_both_and_left_alone(tmp_path):
    servers = remembered(library(), tmp_path)
    rope_before = copy.deepcopy(servers.local_tags["4"])
    code, result, _ = operation(servers, tmp_path, LIVE)
    output = result["output"]
    [row] = [r for r in output["rows"] if r["status"] == "already_linked_elsewhere"]
    assert row == {"tag_id": "4", "tag_name": "Rope", "stashdb_id": "t-rope", "stashdb_name": "Rope",
                   "matched_by": "name", "status": "already_linked_elsewhere",
                   "linked_to": [{"stashdb_id": "t-bondage", "stashdb_name": "Bondage"}]}
    assert output["already_linked_elsewhere"] == 1 and output["matched_by_stash_id"] == 1   # Bondage itself
    assert output["unmatched"] == 1                                                        # Feet
    assert servers.local_tags["4"] == rope_before and "4" not in {w["id"] for _, w in servers.tag_writes}


def test_a_second_pin_changes_nothing(tmp_path):
    servers = remembered(library(), tmp_path)
    operation(servers, tmp_path, LIVE)
    tags, writes = copy.deepcopy(servers.local_tags), len(servers.tag_writes)
    code, result, _ = operation(servers, tmp_path, LIVE)
    output = result["output"]
    assert code == 0 and output["pinned"] == 0 and output["would_pin"] == 0 and output["local_tags"] == 0
    assert output["matched_by_stash_id"] == 5 and output["already_linked_elsewhere"] == 1
    assert len(servers.tag_writes) == writes and servers.local_tags == tags


def test_after_pinning_a_renamed_local_tag_still_reaches_its_scenes(tmp_path):
    servers = remembered(library(), tmp_path)
    operation(servers, tmp_path, LIVE)
    servers.local_tags["1"]["name"] = "Anal Sex"                 # renamed by hand in Stash
    servers.local_tags["2"]["aliases"] = ["Platinum"]            # and the alias that matched is gone
    servers.settings = {"syncDryRun": False}
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "rematch_scene_tags"})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["error"] is None
    for scene_id in servers.scene_ids:
        assert {"1", "2", "3"} <= {tag["id"] for tag in servers.scene_tags[scene_id]}


def test_without_the_pin_the_same_rename_loses_the_match(tmp_path):
    servers = remembered(library(), tmp_path)
    servers.local_tags["1"]["name"] = "Anal Sex"
    servers.settings = {"syncDryRun": False}
    code, _, _ = run_plugin(servers, tmp_path, args={"mode": "rematch_scene_tags"})
    assert code == 0 and all({"id": "1"} not in servers.scene_tags[i] for i in servers.scene_ids)


def test_after_pinning_a_stashdb_rename_still_matches_in_the_next_sync(tmp_path):
    servers = remembered(library(), tmp_path)
    operation(servers, tmp_path, LIVE)
    for tag in servers.stashdb_tags:
        tag["name"] = f"{tag['name']} (renamed on StashDB)"
    servers.settings = {"syncDryRun": False}
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags"})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["unmatched_tags_distinct"] == 2  # Rope, Feet
    for scene_id in servers.scene_ids:
        assert {tag["id"] for tag in servers.scene_tags[scene_id]} == {"1", "2", "3", "4"}   # 4: Bondage's link


def test_excluded_stashdb_tags_are_not_pinned(tmp_path):
    servers = remembered(library(exclude_tag_patterns=["^anal$"]), tmp_path)
    code, result, _ = operation(servers, tmp_path, LIVE)
    output = result["output"]
    assert code == 0 and output["excluded"] == 1 and output["pinned"] == 3
    assert "t-anal" not in {r["stashdb_id"] for r in output["rows"]} and links(servers, "1") == set()


def test_a_refused_write_fails_its_tag_only(tmp_path):
    servers = remembered(library(), tmp_path)

    def refuse_tag_3(query, variables):
        if "TagManagerTagUpdate" in query and variables["input"]["id"] == "3":
            return 200, {}, json.dumps({"data": None, "errors": [{"message": "database is locked"}]})
        return None

    servers.stash_fault = refuse_tag_3
    code, result, stderr = operation(servers, tmp_path, LIVE)
    output = result["output"]
    assert code == 0 and output["pinned"] == 2 and output["failed"] == 2
    failed = [r for r in output["rows"] if r["status"] == "failed"]
    assert {r["stashdb_id"] for r in failed} == {"t-stockings", "t-nylons"}
    assert all("database is locked" in r["reason"] for r in failed)
    assert links(servers, "3") == set() and links(servers, "1") == {(STASHDB_URL, "t-anal")}


def test_an_answer_that_lost_another_stash_id_is_a_failure(tmp_path):
    servers = remembered(library(), tmp_path)

    def drop_other_links(query, variables):
        if "TagManagerTagUpdate" in query and variables["input"]["id"] == "2":
            tag = dict(servers.local_tags["2"], stash_ids=[{"endpoint": STASHDB_URL, "stash_id": "t-blond"}])
            servers.local_tags["2"] = tag      # Stash kept the tag without its other link
            return 200, {}, json.dumps({"data": {"tagUpdate": tag}})
        return None

    servers.stash_fault = drop_other_links
    code, result, _ = operation(servers, tmp_path, LIVE)
    [failed] = [r for r in result["output"]["rows"] if r["status"] == "failed"]
    assert code == 0 and failed["tag_id"] == "2" and "lacks StashID f-blonde" in failed["reason"]


def test_the_list_is_bounded_and_the_counts_are_not(tmp_path):
    servers = library()
    servers.stashdb_tags += [{"id": f"t-extra-{n}", "name": f"Extra {n}"} for n in range(250)]
    servers.local_tags.update({str(10 + n): local_tag(str(10 + n), f"extra {n}") for n in range(250)})
    remembered(servers, tmp_path)
    code, result, _ = operation(servers, tmp_path, PIN)
    output = result["output"]
    assert code == 0 and output["would_pin"] == 254 and output["rows_total"] == 255 and len(output["rows"]) == 200
    assert output["rows"][0]["status"] == "already_linked_elsewhere"       # what needs a person comes first


def test_a_named_report_is_used_and_one_of_another_stash_box_refused(tmp_path):
    servers = remembered(library(), tmp_path)
    [folder] = (tmp_path / "plugin_data" / "tagManager" / "reports").iterdir()
    code, result, _ = operation(servers, tmp_path, {**PIN, "report": folder.name})
    assert code == 0 and result["output"]["report"] == folder.name and result["output"]["would_pin"] == 4
    run = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**run, "endpoint": OTHER_ENDPOINT}))
    code, result, _ = operation(servers, tmp_path, {**PIN, "report": folder.name})
    assert code == 1 and f"is of {OTHER_ENDPOINT}" in result["error"] and servers.tag_writes == []


def test_refused_arguments_write_nothing(tmp_path):
    servers = remembered(library(), tmp_path)
    for args, refusal in (({"tag_ids": "1"}, "unknown argument(s) 'tag_ids'"),
                          ({"dry_run": "perhaps"}, "dry_run must be one of"),
                          ({"dry_run": ""}, "dry_run must be one of"),
                          ({"report": "../elsewhere"}, "must be the name of a report folder"),
                          ({"report": "no-such-report", "dry_run": "false"}, "no report named 'no-such-report'")):
        code, result, _ = operation(servers, tmp_path, {**PIN, **args})
        assert code == 1 and refusal in result["error"], (args, result)
    assert servers.tag_writes == []


def test_without_a_whole_library_report_nothing_is_pinned(tmp_path):
    servers = library()
    run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags", "scene_ids": "1"})   # targeted only
    code, result, _ = operation(servers, tmp_path, LIVE)
    assert code == 1 and "no report of a whole-library sync" in result["error"] and servers.tag_writes == []
