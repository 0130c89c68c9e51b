"""Follow tag changes: Stash's Tag.Create/Update/Merge.Post hooks run tagManager with
`args.hookContext`; with syncFollowTagChanges on, a tag that now wins a StashDB tag of the
last whole-library report queues a re-match (runPluginTask) of exactly the report's scenes
that carry it, and that task adds exactly that tag.

The plugin runs as Stash starts it (stdin JSON in, one JSON answer out) against Stash and
StashDB answered by `responses` (tests/unit/plugin_harness.py). `HooksLikeStash` runs the
hook inside a tag write, before its answer, as Stash does.
"""
from __future__ import annotations

import json

import pytest
import yaml

from tag_manager import REMATCH_TASK_NAME
from stash_local import TAG_UPDATE_MUTATION
from tests.unit.plugin_harness import (COOKIE, STASH_API_KEY, STASHDB_TAGS, STASHDB_URL, FakeServers, HooksLikeStash,
                                       assert_stash_protocol, log_lines, post_to_stash, run_hook, run_plugin,
                                       tag_hook_context)
from tests.unit.test_rematch import add_local_tag, reports, rows

SYNC = {"mode": "sync_scene_tags"}
ROPE, LATEX = {"id": "t-rope", "name": "Rope"}, {"id": "t-latex", "name": "Latex"}
FOLLOWING_LIVE = {"syncDryRun": False, "syncFollowTagChanges": True}
HOOK_REQUESTS = ["TagManagerConfiguration", "TagManagerFindTag", "TagManagerTagsMatching", "TagManagerQueueTask"]


def synced_library(stash_dir, settings=None) -> FakeServers:
    """Four scenes after a live whole-library sync; on StashDB, scenes 2 and 3 also carry
    Rope and Latex, which no local tag matched."""
    servers = FakeServers(scene_count=4, settings=dict(settings or FOLLOWING_LIVE))
    for scene in ("2", "3"):
        servers.stashdb_tags_of_scene[f"sdb-{scene}"] = [*STASHDB_TAGS, ROPE, LATEX]
    code, stdout, stderr = run_plugin(servers, stash_dir, args=SYNC)
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["unmatched_tags_distinct"] == 2
    return servers


def linked_on_tag_page(servers: FakeServers, tag_id: str, stashdb_id: str) -> dict:
    """Stash's tag page saves the whole form with one more StashID: the hook's context."""
    tag = servers.local_tags[tag_id]
    tag["stash_ids"] = [*tag["stash_ids"], {"endpoint": STASHDB_URL, "stash_id": stashdb_id}]
    form = {"id": tag_id, "name": tag["name"], "sort_name": "", "description": "", "aliases": tag["aliases"],
            "stash_ids": tag["stash_ids"], "parent_ids": [], "child_ids": [], "ignore_auto_tag": False}
    return tag_hook_context("tagUpdate", form, tag)


def created(servers: FakeServers, name: str, **fields) -> dict:
    tag_id = add_local_tag(servers, name, **fields)
    return tag_hook_context("tagCreate", {"name": name, **fields}, servers.local_tags[tag_id])


def hook(servers: FakeServers, stash_dir, context: dict) -> tuple[dict, str, list[str]]:
    """(answer, stderr, the Stash requests the hook sent)."""
    first = len(servers.stash_ops)
    stashdb_asked, written = len(servers.stashdb_ops), len(servers.mutations)
    code, stdout, stderr = run_hook(servers, stash_dir, context)
    answer = assert_stash_protocol(stdout, stderr)
    assert code == 0 and answer["error"] is None, answer
    assert len(servers.stashdb_ops) == stashdb_asked and len(servers.mutations) == written
    return answer["output"], stderr, servers.stash_ops[first:]


def run_queued_task(servers: FakeServers, stash_dir, queued: dict) -> dict:
    """The queued job as Stash runs it: the task's defaultArgs, then runPluginTask's args_map."""
    manifest = yaml.safe_load(open("tagManager.yml", encoding="utf-8"))
    (task,) = [task for task in manifest["tasks"] if task["name"] == queued["task_name"]]
    code, stdout, stderr = run_plugin(servers, stash_dir, args={**task["defaultArgs"], **queued["args_map"]})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None, result
    return result["output"]


# -- the whole path: a link on Stash's tag page reaches exactly its scenes ---------------

def test_a_tag_linked_on_stashs_tag_page_reaches_exactly_the_scenes_carrying_its_stashdb_tag(tmp_path):
    servers = synced_library(tmp_path)
    (sync_report,) = reports(tmp_path)
    bondage = add_local_tag(servers, "Bondage")
    add_local_tag(servers, "Latex")              # also matches now, but nobody asked for it
    before = {scene: list(tags) for scene, tags in servers.scene_tags.items()}

    output, stderr, requests_sent = hook(servers, tmp_path, linked_on_tag_page(servers, bondage, ROPE["id"]))
    assert requests_sent == HOOK_REQUESTS                     # no stashapi: no version, no introspection
    assert output["job_id"] == "101" and output["queued"] == {"stashdb_tag_ids": ["t-rope"],
                                                             "report": sync_report.name}
    (queued,) = servers.queued_tasks
    assert queued["plugin_id"] == "tagManager" and queued["task_name"] == REMATCH_TASK_NAME
    assert "Bondage" in queued["description"] and "'Rope'" in queued["description"]
    assert any("now matches StashDB tag(s) 'Rope'" in line and "queued as job 101" in line
               for line in log_lines(stderr, "i"))

    asked = len(servers.stashdb_ops)
    outcome = run_queued_task(servers, tmp_path, queued)
    assert len(servers.stashdb_ops) == asked and outcome["outcomes"]["updated"] == 2
    assert {scene: [t["id"] for t in tags] for scene, tags in servers.scene_tags.items()} == {
        "1": [t["id"] for t in before["1"]], "2": [t["id"] for t in before["2"]] + [bondage],
        "3": [t["id"] for t in before["3"]] + [bondage], "4": [t["id"] for t in before["4"]]}
    rematch_rows = rows(reports(tmp_path)[-1])
    assert {row["scene_id"]: row["added_tag_ids"] for row in rematch_rows} == {"2": [bondage], "3": [bondage]}


def test_the_rematch_task_is_the_one_the_manifest_names_and_takes_the_hooks_arguments():
    manifest = yaml.safe_load(open("tagManager.yml", encoding="utf-8"))
    (task,) = [task for task in manifest["tasks"] if task["name"] == REMATCH_TASK_NAME]
    assert task["defaultArgs"] == {"mode": "rematch_scene_tags"}
    (declared,) = manifest["hooks"]
    assert declared["triggeredBy"] == ["Tag.Create.Post", "Tag.Update.Post", "Tag.Merge.Post"]
    assert declared["defaultArgs"] == {"mode": "follow_tag_change"}
    assert manifest["settings"]["syncFollowTagChanges"]["type"] == "BOOLEAN"


def test_a_new_tag_whose_name_matches_is_followed_and_so_is_a_merge_that_brings_the_name(tmp_path):
    servers = synced_library(tmp_path)
    output, _, _ = hook(servers, tmp_path, created(servers, "latex"))   # Stash's LIKE: ASCII case folded
    assert output["queued"]["stashdb_tag_ids"] == ["t-latex"]

    bondage, rope = add_local_tag(servers, "Bondage"), add_local_tag(servers, "rope")
    del servers.local_tags[rope]                              # merged into Bondage: its name became an alias
    servers.local_tags[bondage]["aliases"] = ["rope"]
    merge = {"id": int(bondage), "type": "Tag.Merge.Post", "input": {"source": [rope], "destination": bondage}}
    output, _, requests_sent = hook(servers, tmp_path, merge)
    assert requests_sent == HOOK_REQUESTS and output["queued"]["stashdb_tag_ids"] == ["t-rope"]


# -- the sync's matcher decides --------------------------------------------------------

def test_a_name_match_loses_to_a_tag_linked_by_stash_id_and_the_lowest_linked_id_wins(tmp_path):
    servers = synced_library(tmp_path)
    first = add_local_tag(servers, "Bondage")
    assert hook(servers, tmp_path, linked_on_tag_page(servers, first, ROPE["id"]))[0]["job_id"] == "101"

    output, _, _ = hook(servers, tmp_path, created(servers, "Rope"))    # by name; but Bondage holds the StashID
    assert output["job_id"] is None and "wins no StashDB tag" in output["reason"]
    second = add_local_tag(servers, "Shibari")
    output, _, _ = hook(servers, tmp_path, linked_on_tag_page(servers, second, ROPE["id"]))
    assert output["job_id"] is None                                      # Bondage's lower id wins the link
    assert len(servers.queued_tasks) == 1


def test_a_stash_id_for_another_endpoint_or_an_excluded_name_queues_nothing(tmp_path):
    servers = synced_library(tmp_path)
    other = add_local_tag(servers, "Bondage", stash_ids=[{"endpoint": "https://fansdb.cc/graphql", "stash_id": "t-rope"}])
    output, _, _ = hook(servers, tmp_path, tag_hook_context("tagUpdate", {"id": other, "stash_ids": []},
                                                            servers.local_tags[other]))
    assert output["job_id"] is None
    servers.exclude_tag_patterns = ["^latex$"]
    output, _, requests_sent = hook(servers, tmp_path, created(servers, "Latex"))
    assert output["job_id"] is None and "TagManagerTagsMatching" not in requests_sent
    assert servers.queued_tasks == []


# -- the hook decides fast or not at all -------------------------------------------------

def test_an_update_that_cannot_change_a_match_sends_no_request(tmp_path):
    servers = synced_library(tmp_path)
    tag = add_local_tag(servers, "Rope")
    context = {"id": int(tag), "type": "Tag.Update.Post", "input": {"id": tag, "favorite": True},
               "inputFields": ["favorite", "id"]}
    output, _, requests_sent = hook(servers, tmp_path, context)
    assert requests_sent == [] and output["job_id"] is None and "changed none of" in output["reason"]


@pytest.mark.parametrize("value", [None, False, "off", "no", 0])
def test_without_the_setting_on_the_hook_asks_only_for_the_settings(value, tmp_path):
    servers = synced_library(tmp_path, {"syncDryRun": False} if value is None else {"syncDryRun": False,
                                                                                    "syncFollowTagChanges": value})
    output, stderr, requests_sent = hook(servers, tmp_path, created(servers, "Rope"))
    assert requests_sent == ["TagManagerConfiguration"] and output["job_id"] is None
    assert servers.queued_tasks == [] and log_lines(stderr, "w") == []


@pytest.mark.parametrize("value", ["maybe", "", 2, [True]])
def test_a_garbled_setting_is_off_with_a_warning(value, tmp_path):
    servers = synced_library(tmp_path, {"syncDryRun": False, "syncFollowTagChanges": value})
    output, stderr, requests_sent = hook(servers, tmp_path, created(servers, "Rope"))
    assert requests_sent == ["TagManagerConfiguration"] and servers.queued_tasks == []
    (warning,) = log_lines(stderr, "w")
    assert "syncFollowTagChanges" in warning and "not followed" in warning


def test_in_dry_run_the_hook_only_logs_the_job_it_would_queue(tmp_path):
    servers = synced_library(tmp_path)
    servers.settings = {"syncFollowTagChanges": "on"}            # syncDryRun never set: dry run
    output, stderr, requests_sent = hook(servers, tmp_path, created(servers, "Rope"))
    assert servers.queued_tasks == [] and "TagManagerQueueTask" not in requests_sent
    assert output["job_id"] is None and output["would_queue"]["stashdb_tag_ids"] == ["t-rope"]
    assert any(line.startswith("[DRY RUN] Tag 'Rope'") and "would queue" in line for line in log_lines(stderr, "i"))


def test_without_a_whole_library_report_nothing_is_queued(tmp_path):
    servers = FakeServers(settings=dict(FOLLOWING_LIVE))
    output, stderr, _ = hook(servers, tmp_path, created(servers, "Rope"))
    assert output["job_id"] is None and servers.queued_tasks == []
    assert any("no report of a whole-library sync" in line for line in log_lines(stderr, "i"))


@pytest.mark.parametrize("api_key", [None, STASH_API_KEY])
def test_the_hook_talks_to_stash_with_the_credentials_it_was_given_and_leaks_none(api_key, tmp_path):
    servers = synced_library(tmp_path)
    first = len(servers.stash_auth)
    code, stdout, stderr = run_plugin(servers, tmp_path, connection={"ApiKey": api_key} if api_key else {},
                                      args={"mode": "follow_tag_change", "hookContext": created(servers, "Rope")})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["job_id"]   # no secret in any output
    assert servers.stash_auth[first:] == [(f"session={COOKIE}", api_key)] * len(HOOK_REQUESTS)


# -- never on the plugin's own writes --------------------------------------------------

def test_link_tag_create_tags_and_pin_matches_do_not_set_off_the_hook(tmp_path):
    servers = synced_library(tmp_path)
    hooks = HooksLikeStash(tmp_path)
    servers.after_tag_write = hooks
    bondage = add_local_tag(servers, "Bondage")
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "link_tag", "stashdb_id": ROPE["id"],
                                                               "tag_id": bondage})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["written"] is True
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "create_tags", "stashdb_ids": [LATEX["id"]]})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["created"] == 1
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "pin_matches", "dry_run": False})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["pinned"] == 2   # Anal by name, Blond by alias
    assert [(code, json.loads(out)["output"]["reason"]) for code, out, _ in hooks.runs] == [
        (0, "tagManager's own tag write")] * 4
    assert servers.queued_tasks == []
    assert list((tmp_path / "plugin_data" / "tagManager" / "own_tag_writes").iterdir()) == []


def test_the_same_write_by_someone_else_is_followed(tmp_path):
    servers = synced_library(tmp_path)
    hooks = HooksLikeStash(tmp_path)
    servers.after_tag_write = hooks
    bondage = add_local_tag(servers, "Bondage")
    # what link_tag writes, sent by another client: the hook fires without our marker
    post_to_stash(servers, TAG_UPDATE_MUTATION, {"input": {"id": bondage, "stash_ids": [
        {"endpoint": STASHDB_URL, "stash_id": ROPE["id"]}]}})
    ((code, stdout, _),) = hooks.runs
    assert code == 0 and json.loads(stdout)["output"]["queued"]["stashdb_tag_ids"] == ["t-rope"]


def test_a_sync_creating_missing_tags_queues_nothing(tmp_path):
    servers = synced_library(tmp_path)
    servers.settings["syncCreateMissing"] = True
    hooks = HooksLikeStash(tmp_path)
    servers.after_tag_write = hooks
    code, stdout, stderr = run_plugin(servers, tmp_path, args=SYNC)
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["tags_created"] == 2
    assert len(hooks.runs) == 2 and servers.queued_tasks == []
    assert all(json.loads(out)["output"]["reason"] == "tagManager's own tag write" for _, out, _ in hooks.runs)


# -- the re-match task's new argument --------------------------------------------------

@pytest.mark.parametrize("value", ["", [], " , ", None])
def test_an_empty_stashdb_tag_ids_is_refused(value, tmp_path):
    servers = synced_library(tmp_path)
    add_local_tag(servers, "Rope")
    written = len(servers.mutations)
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "rematch_scene_tags", "stashdb_tag_ids": value})
    assert code == 1 and "stashdb_tag_ids" in assert_stash_protocol(stdout, stderr)["error"]
    assert len(servers.mutations) == written


def test_stashdb_tag_ids_and_scene_ids_narrow_each_other(tmp_path):
    servers = synced_library(tmp_path)
    rope = add_local_tag(servers, "Rope")
    written = len(servers.mutations)
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "rematch_scene_tags",
                                                               "stashdb_tag_ids": "t-rope", "scene_ids": "1,3"})
    assert code == 0 and assert_stash_protocol(stdout, stderr)["output"]["outcomes"]["updated"] == 1
    assert [(m["ids"], m["tag_ids"]["ids"]) for m in servers.mutations[written:]] == [(["3"], [rope])]
