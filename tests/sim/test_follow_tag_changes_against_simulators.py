"""Follow tag changes over real HTTP, the plugin run as Stash runs it (a subprocess fed stdin
JSON): a live sync leaves StashDB tags unmatched; another client (Stash's tag page) links a
new local tag to one of them; the hook, run as Stash runs it after that tagUpdate, queues
the re-match (the Stash simulator records runPluginTask); the task, run as Stash would run
that job, gives exactly the scenes the library's own oracle expects the new tag, and no
other scene changes.

The simulator runs no hooks itself: the test starts the hook with the hookContext Stash
builds (internal/api/resolver_mutation_tag.go), right after each tag write.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from tag_manager import REMATCH_TASK_NAME
from tests.simulators.expectations import compute_outcomes, in_library_terms
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"syncEndpoint": "StashDB", "syncDryRun": False, "syncFollowTagChanges": True}
TAG_CREATE = "mutation Create($input: TagCreateInput!) { tagCreate(input: $input) { id name } }"
TAG_UPDATE = "mutation Update($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }"


def run(sims, stash_dir: Path, args: dict) -> tuple[int, dict, str, float]:
    """(exit code, the JSON answer, stderr, wall seconds) of one plugin run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON"))}
    env["PYTHONPATH"] = str(REPO_ROOT.parent)
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": args}
    started = time.perf_counter()
    process = subprocess.run([sys.executable, str(REPO_ROOT / "tag_manager.py")], input=json.dumps(stdin),
                             capture_output=True, text=True, cwd=stash_dir, env=env, timeout=300, check=False)
    return process.returncode, json.loads(process.stdout), process.stderr, time.perf_counter() - started


def tag_write(sims, document: str, tag_input: dict) -> dict:
    """A tag write by another client, as Stash's tag page sends it."""
    body = requests.post(sims.stash.url, json={"query": document, "variables": {"input": tag_input}},
                         cookies={"session": sims.stash.session_cookie}, timeout=30).json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def hook(sims, stash_dir: Path, context: dict) -> tuple[int, dict, str, float]:
    return run(sims, stash_dir, {"mode": "follow_tag_change", "hookContext": context})


def queued_job_args(queued) -> dict:
    """The args Stash gives the queued job: the task's defaultArgs, then args_map."""
    manifest = yaml.safe_load((REPO_ROOT / "tagManager.yml").read_text(encoding="utf-8"))
    (task,) = [task for task in manifest["tasks"] if task["name"] == queued.task_name]
    return {**task["defaultArgs"], **queued.args_map}


@pytest.fixture(scope="module")
def followed(tmp_path_factory):
    library = generate_library(300, seed=13)
    stash_dir = tmp_path_factory.mktemp("stash-config")
    with start_simulators(library, plugin_settings={"tagManager": dict(SETTINGS)}) as sims:
        sync = run(sims, stash_dir, {"mode": "sync_scene_tags"})
        unmatched = collect_unmatched(library)
        stashdb_tag = max(unmatched, key=lambda tag: (len(unmatched[tag]), tag.id))
        before = sims.stash.tags_snapshot()
        made = tag_write(sims, TAG_CREATE, {"name": "Followed Tag"})
        on_create = hook(sims, stash_dir, {"id": int(made["id"]), "type": "Tag.Create.Post",
                                           "input": {"name": "Followed Tag"}})
        link = {"id": made["id"], "name": "Followed Tag", "aliases": [], "description": "",
                "stash_ids": [{"endpoint": sims.stashdb.url, "stash_id": stashdb_tag.id}]}
        tag_write(sims, TAG_UPDATE, link)
        on_link = hook(sims, stash_dir, {"id": int(made["id"]), "type": "Tag.Update.Post", "input": link,
                                         "inputFields": sorted(link)})
        stashdb_requests = len(sims.stashdb.request_log)
        queued = list(sims.stash.plugin_tasks)
        task = run(sims, stash_dir, queued_job_args(queued[0])) if queued else None
        yield {"library": library, "sims": sims, "sync": sync, "stashdb_tag": stashdb_tag, "tag_id": int(made["id"]),
               "carriers": unmatched[stashdb_tag], "before": before, "on_create": on_create, "on_link": on_link,
               "queued": queued, "task": task, "after": sims.stash.tags_snapshot(),
               "stashdb_asked": len(sims.stashdb.request_log) - stashdb_requests,
               "local_tags": sims.stash.local_tags()}


def collect_unmatched(library) -> dict:
    """StashDB tag -> the local scenes (found on StashDB) whose StashDB scene carries it,
    for the tags no local tag matched in the sync (the library's oracle)."""
    by_name = {tag.name: tag for tag in library.stashdb_tags}
    carriers: dict = {}
    for outcome in library.outcomes.values():
        for name in outcome.unmatched_tag_names:
            carriers.setdefault(by_name[name], set()).add(outcome.scene_id)
    return carriers


def test_the_sync_left_the_tag_unmatched_and_a_new_unlinked_tag_queues_nothing(followed):
    code, answer, _, _ = followed["sync"]
    assert code == 0 and answer["error"] is None and len(followed["carriers"]) >= 3
    code, answer, _, _ = followed["on_create"]
    assert code == 0 and answer["output"]["job_id"] is None


def test_the_link_queues_one_rematch_of_that_stashdb_tag_from_the_sync_report(followed):
    code, answer, stderr, _ = followed["on_link"]
    assert code == 0 and answer["error"] is None, stderr
    (queued,) = followed["queued"]
    assert (queued.plugin_id, queued.task_name) == ("tagManager", REMATCH_TASK_NAME)
    assert queued.args_map["stashdb_tag_ids"] == [followed["stashdb_tag"].id]
    assert answer["output"]["job_id"] == "1"


def test_the_queued_task_gives_exactly_the_carrying_scenes_the_new_tag_and_asks_stashdb_nothing(followed):
    code, answer, stderr, _ = followed["task"]
    assert code == 0 and answer["error"] is None, stderr[-2000:]
    assert followed["stashdb_asked"] == 0
    library, tag_id = followed["library"], followed["tag_id"]
    now = compute_outcomes(in_library_terms(followed["local_tags"], followed["sims"].stashdb.url, library.endpoint),
                           library.local_scenes, library.stashdb_tags, library.stashdb_scenes, library.endpoint,
                           library.spec.exclude_tag_patterns)
    expected = {scene_id for scene_id, outcome in now.items() if tag_id in outcome.matched_tag_ids}
    assert expected == followed["carriers"]
    changed = {scene_id: set(tags) - set(followed["before"][scene_id])
               for scene_id, tags in followed["after"].items() if set(tags) != set(followed["before"][scene_id])}
    assert changed == {scene_id: {tag_id} for scene_id in expected}
    assert answer["output"]["outcomes"]["updated"] == len(expected)


def test_the_hook_answer_says_how_long_it_took_to_decide(followed):
    times = {name: followed[name][3] for name in ("on_create", "on_link")}
    decided = {name: followed[name][1]["output"]["decided_in_ms"] for name in times}
    print(f"\nhook process wall time (python start to exit): "
          f"{', '.join(f'{name} {seconds * 1000:.0f} ms' for name, seconds in times.items())}; "
          f"decided in: {', '.join(f'{name} {ms} ms' for name, ms in decided.items())}")
    assert all(isinstance(ms, float) and ms > 0 for ms in decided.values())
