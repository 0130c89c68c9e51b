"""Follow tag changes inside a real Stash v0.30.1, through Stash's own API only.

A small file-less library (the sync finds every scene by its StashDB id). A live sync
leaves Rope and Stockings unmatched. With syncFollowTagChanges on and syncDryRun off, a
local tag is linked to Rope by Stash's own `tagUpdate` with the whole form, as Stash's
tag page saves it: Stash runs the plugin's Tag.Update.Post hook before it answers, the
hook queues the re-match task, and the job (watched with findJob) gives exactly the
scenes carrying Rope the tag, and changes no other scene. Then `link_tag`, the plugin's
own tag write, links Stockings: the hook sees the plugin's marker and queues nothing.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from graphql import parse, validate

from plugin_info import PLUGIN_ID
from tag_manager import REMATCH_TASK_NAME
from tests.e2e.plugin_install import SYNC_TASK_NAME, configure_plugin, stash_with_this_plugin
from tests.e2e.stash_jobs import watch_job
from tests.e2e.stash_log import log_size, plugin_entries, read_entries, wait_for_message
from tests.e2e.stash_seed import create_scenes, create_tags, scene_tag_sets
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import labelled_scene_plans, stable_uuid
from tests.shared_schemas import require_stash_schema
from tests.simulators.records import StashDBTag

BOX_NAME = "Simulated StashDB (following)"
RUN_SECONDS = 120.0
LOG_SECONDS = 15.0
TAG_UPDATE = """
mutation E2ETagUpdate($input: TagUpdateInput!) {
  tagUpdate(input: $input) { id name stash_ids { endpoint stash_id } }
}
"""
RUN_TASK = """
mutation E2ERunTask($plugin_id: ID!, $task_name: String!) { runPluginTask(plugin_id: $plugin_id, task_name: $task_name) }
"""
RUN_OPERATION = """
mutation E2ERunPluginOperation($plugin_id: ID!, $args: Map) { runPluginOperation(plugin_id: $plugin_id, args: $args) }
"""
JOB_QUEUE = "query E2EJobQueue { jobQueue { id status description } }"
FAVORITE = "mutation E2EFavorite($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }"
OPERATIONS = (TAG_UPDATE, RUN_TASK, RUN_OPERATION, JOB_QUEUE, FAVORITE)

ANAL = StashDBTag(stable_uuid("f:anal"), "Anal", (), "Action")
ROPE = StashDBTag(stable_uuid("f:rope"), "Rope", ("Shibari",), "Action")
STOCKINGS = StashDBTag(stable_uuid("f:stockings"), "Stockings", (), "Clothing")
SCENES = {  # label -> (its StashDB tags, its local tags before the sync)
    "one": ((ANAL, ROPE), ("Keep Me",)),
    "two": ((ROPE, STOCKINGS), ()),
    "three": ((ANAL,), ()),
    "four": ((STOCKINGS,), ("Keep Me",)),
    "five": ((ROPE,), ()),
}
ROPE_SCENES = ("one", "two", "five")
QUEUED = re.compile(r"now matches StashDB tag\(s\) 'Rope': re-match the scenes of report (\S+) that carry them: "
                    r"queued as job (\d+)$")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, stashdb, stashbox_api_key: str, tmp_path_factory):
    with stash_with_this_plugin(real_stash_binary, tmp_path_factory.mktemp("stash-following"), stashdb,
                                stashbox_api_key, BOX_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def library(stash: RealStash, stashdb) -> dict:
    names = ["Anal", "Keep Me", "Bondage", "Nylon Socks"]
    tag_ids = dict(zip(names, create_tags(stash, [{"name": name} for name in names])))
    plans = labelled_scene_plans(stashdb, SCENES, tag_ids, key="f", title="Following")
    scene_ids = dict(zip(SCENES, create_scenes(stash, plans)))
    return {"tag_ids": tag_ids, "scene_ids": scene_ids}


def run_sync_live(stash: RealStash) -> None:
    configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": False})
    offset = log_size(stash.log_file)
    job = str(stash.graphql(RUN_TASK, {"plugin_id": PLUGIN_ID, "task_name": SYNC_TASK_NAME})["runPluginTask"])
    assert watch_job(stash, job, RUN_SECONDS).final_status == "FINISHED"
    wait_for_message(stash.log_file, offset, f"Plugin {PLUGIN_ID} finished", LOG_SECONDS)


def save_on_tag_page(stash: RealStash, tag_id: str, name: str, stash_ids: list[dict]) -> float:
    """tagUpdate with the whole form, as Stash's tag page saves it; the seconds until Stash
    answered (it runs the post hooks first)."""
    form = {"id": tag_id, "name": name, "sort_name": "", "description": "", "aliases": [], "ignore_auto_tag": False,
            "favorite": False, "parent_ids": [], "child_ids": [], "stash_ids": stash_ids}
    started = time.perf_counter()
    answer = stash.graphql(TAG_UPDATE, {"input": form}, timeout=60)["tagUpdate"]
    seconds = time.perf_counter() - started
    assert answer["stash_ids"] == stash_ids
    return seconds


def favorite(stash: RealStash, tag_id: str) -> float:
    """A tagUpdate of a field no match depends on (the tag list's heart button): the hook
    starts and exits without a request. The seconds until Stash answered."""
    started = time.perf_counter()
    stash.graphql(FAVORITE, {"input": {"id": tag_id, "favorite": True}}, timeout=60)
    return time.perf_counter() - started


def hook_line(stash: RealStash, offset: int, pattern: re.Pattern | str) -> str:
    """The plugin's first log line from `offset` on that matches, waited for."""
    deadline = time.monotonic() + LOG_SECONDS
    while True:
        lines = [entry.message for entry in plugin_entries(read_entries(stash.log_file, offset), PLUGIN_ID)]
        found = [line for line in lines if re.search(pattern, line)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no plugin line like {pattern!r} in {lines}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def followed(stash: RealStash, stashdb, library: dict) -> dict:
    run_sync_live(stash)
    after_sync = scene_tag_sets(stash)
    configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": False, "syncFollowTagChanges": True})
    offset = log_size(stash.log_file)
    rope_link = [{"endpoint": stashdb.url, "stash_id": ROPE.id}]
    link_seconds = save_on_tag_page(stash, library["tag_ids"]["Bondage"], "Bondage", rope_link)
    queued = QUEUED.search(hook_line(stash, offset, QUEUED))
    decided = hook_line(stash, offset, r"^Decided in \d+ ms")
    job = watch_job(stash, queued.group(2), RUN_SECONDS)
    wait_for_message(stash.log_file, offset, f"Plugin {PLUGIN_ID} finished", LOG_SECONDS)
    after_rematch = scene_tag_sets(stash)

    offset = log_size(stash.log_file)
    jobs_before = stash.graphql(JOB_QUEUE)["jobQueue"] or []
    linked = stash.graphql(RUN_OPERATION, {"plugin_id": PLUGIN_ID, "args": {
        "mode": "link_tag", "stashdb_id": STOCKINGS.id, "tag_id": library["tag_ids"]["Nylon Socks"]}},
        timeout=60)["runPluginOperation"]
    own_write = hook_line(stash, offset, r"nothing to re-match: tagManager's own tag write")
    unrelated_seconds = save_on_tag_page(stash, library["tag_ids"]["Keep Me"], "Keep Me", [])
    nothing = hook_line(stash, offset, r"^Tag \d+ \(Tag\.Update\.Post\): nothing to re-match: tag 'Keep Me' wins")
    favorite_seconds = favorite(stash, library["tag_ids"]["Keep Me"])
    return {"after_sync": after_sync, "link_seconds": link_seconds, "queued": queued, "decided": decided,
            "job": job, "after_rematch": after_rematch, "linked": linked, "own_write": own_write,
            "jobs_before": jobs_before, "jobs_after": stash.graphql(JOB_QUEUE)["jobQueue"] or [],
            "after_all": scene_tag_sets(stash), "unrelated_seconds": unrelated_seconds, "nothing": nothing,
            "favorite_seconds": favorite_seconds}


def test_the_sync_left_rope_unmatched(followed, library):
    ids, tags = library["scene_ids"], library["tag_ids"]
    bondage = tags["Bondage"]
    assert not any(bondage in scene_tags for scene_tags in followed["after_sync"].values())
    assert tags["Anal"] in followed["after_sync"][ids["one"]] and tags["Anal"] in followed["after_sync"][ids["three"]]


def test_linking_on_the_tag_page_queues_a_job_that_gives_exactly_the_rope_scenes_the_tag(followed, library, stash):
    print(f"\nStash answered tagUpdate (its hook included) in: linking Bondage to Rope "
          f"{followed['link_seconds'] * 1000:.0f} ms ({followed['decided']}); a tag-page save that wins nothing "
          f"{followed['unrelated_seconds'] * 1000:.0f} ms; a favorite toggle (the hook asks nothing) "
          f"{followed['favorite_seconds'] * 1000:.0f} ms")
    assert followed["job"].final_status == "FINISHED", followed["job"].final
    assert followed["job"].final["description"].startswith(f"Running plugin task: tagManager: Bondage now matches")
    ids, bondage = library["scene_ids"], library["tag_ids"]["Bondage"]
    before, after = followed["after_sync"], followed["after_rematch"]
    changed = {scene: sorted(after[scene] - before[scene]) for scene in after if after[scene] != before[scene]}
    assert changed == {ids[label]: [bondage] for label in ROPE_SCENES}
    assert all(before[scene] <= after[scene] for scene in after)


def test_the_plugins_own_link_sets_off_the_hook_but_queues_nothing(followed, library):
    assert followed["linked"]["written"] is True and followed["linked"]["stashdb_id"] == STOCKINGS.id
    assert "nothing to re-match: tagManager's own tag write" in followed["own_write"]
    assert followed["after_all"] == followed["after_rematch"]
    new_jobs = [job for job in followed["jobs_after"] if job not in followed["jobs_before"]]
    assert [job for job in new_jobs if REMATCH_TASK_NAME in job["description"] or "tagManager" in job["description"]] == []
