"""The whole loop over real HTTP, the plugin run as Stash runs it (a subprocess fed stdin JSON):
full dry run -> unmatched_tags -> link / create / exclude -> targeted live re-run of the
affected scenes; then every scene holds exactly the tags the library's own oracle expects
for the local tags and exclude patterns as they now are.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulators.expectations import compute_outcomes
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.library_tags import NEAR_MISS

REPO_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {"syncEndpoint": "StashDB"}


def run(sims, stash_dir: Path, args: dict, settings: dict | None = None) -> tuple[int, dict, str]:
    """(exit code, the JSON answer, stderr) of one plugin run."""
    sims.stash.set_plugin_settings("tagManager", settings or SETTINGS)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON"))}
    env["PYTHONPATH"] = str(REPO_ROOT.parent)
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": args}
    process = subprocess.run([sys.executable, str(REPO_ROOT / "tag_manager.py")], input=json.dumps(stdin),
                             capture_output=True, text=True, cwd=stash_dir, env=env, timeout=300, check=False)
    return process.returncode, json.loads(process.stdout), process.stderr


def list_every_page(sims, stash_dir: Path) -> tuple[int, dict, str]:
    """unmatched_tags page after page, as the page's pager asks: one answer holding every tag."""
    code, first, stderr = run(sims, stash_dir, {"mode": "unmatched_tags", "limit": 200})
    tags = list(first["output"]["tags"]) if code == 0 else []
    while code == 0 and len(tags) < first["output"]["total"]:
        code, more, stderr = run(sims, stash_dir, {"mode": "unmatched_tags", "limit": 200, "offset": len(tags)})
        tags += more["output"]["tags"]
    if code == 0:
        first["output"]["tags"] = tags
    return code, first, stderr


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    library = generate_library(400, seed=11, near_miss_share=0.6)
    stash_dir = tmp_path_factory.mktemp("stash-config")
    with start_simulators(library) as sims:
        before = sims.stash.tags_snapshot()
        dry = run(sims, stash_dir, {"mode": "sync_scene_tags", "full_dry_run": "true"})
        stashdb_requests = len(sims.stashdb.request_log)
        listed = list_every_page(sims, stash_dir)
        asked_while_listing = len(sims.stashdb.request_log) - stashdb_requests
        tags = listed[1]["output"]["tags"]
        to_link = next(t for t in tags if t["suggestions"] and "already linked" not in t["suggestions"][0]["reason"])
        to_create = [t for t in tags if not t["suggestions"] and t is not to_link][:2]
        to_exclude = next(t for t in tags if t not in (to_link, *to_create))
        linked = run(sims, stash_dir, {"mode": "link_tag", "stashdb_id": to_link["stashdb_id"],
                                       "tag_id": to_link["suggestions"][0]["tag_id"]})
        created = run(sims, stash_dir, {"mode": "create_tags", "stashdb_ids": [t["stashdb_id"] for t in to_create],
                                        "parent_from_category": True})
        excluded = run(sims, stash_dir, {"mode": "exclude_tag", "name": to_exclude["name"]})
        resolved = [t["stashdb_id"] for t in (to_link, *to_create, to_exclude)]
        affected = run(sims, stash_dir, {"mode": "tag_scenes", "stashdb_ids": resolved})[1]["output"]["scene_ids"]
        rerun = run(sims, stash_dir, {"mode": "sync_scene_tags", "scene_ids": ",".join(affected)},
                    {**SETTINGS, "syncDryRun": False})
        relisted = list_every_page(sims, stash_dir)
        yield {"library": library, "sims": sims, "before": before, "after": sims.stash.tags_snapshot(),
               "dry": dry, "listed": listed, "asked_while_listing": asked_while_listing, "to_link": to_link,
               "to_create": to_create, "to_exclude": to_exclude, "linked": linked, "created": created,
               "excluded": excluded, "affected": affected, "rerun": rerun, "relisted": relisted,
               "local_tags": sims.stash.local_tags(), "patterns": list(sims.stash.exclude_tag_patterns)}


def test_the_listing_is_the_oracles_unmatched_tags_and_asks_stashdb_nothing(loop):
    code, answer, _ = loop["listed"]
    assert code == 0 and answer["error"] is None
    expected = loop["library"].expected_summary.unmatched_tag_counts
    assert {t["name"]: t["scenes"] for t in answer["output"]["tags"]} == expected
    counts = [t["scenes"] for t in answer["output"]["tags"]]
    assert counts == sorted(counts, reverse=True)
    assert loop["asked_while_listing"] == 0


def near_miss_names(tag: dict) -> set[str]:
    """The local names library_tags.near_miss_name can give a StashDB tag."""
    name = tag["name"]
    return {*tag["aliases"][:1], name.replace(" ", "-"), name.replace("-", " "), name[:-1], name + "s"} - {name}


def test_near_misses_come_first_in_their_suggestions(loop):
    library = loop["library"]
    near = [t for t in loop["listed"][1]["output"]["tags"] if library.tag_link_kinds.get(t["stashdb_id"]) == NEAR_MISS]
    right = [t for t in near if t["suggestions"] and t["suggestions"][0]["name"] in near_miss_names(t)]
    print(f"\nnear-miss tags listed: {len(near)}; first suggestion a near-miss local tag: {len(right)}")
    assert near and len(right) >= 0.9 * len(near)


def test_each_resolution_was_accepted(loop):
    for name in ("linked", "created", "excluded"):
        code, answer, _ = loop[name]
        assert code == 0 and answer["error"] is None, (name, answer)
    assert [t["status"] for t in loop["created"][1]["output"]["tags"]] == ["created", "created"]
    tags = {str(tag.id): tag for tag in loop["local_tags"]}
    linked = tags[loop["to_link"]["suggestions"][0]["tag_id"]]
    assert any(s.stash_id == loop["to_link"]["stashdb_id"] for s in linked.stash_ids)
    assert loop["linked"][1]["output"]["stashdb_name"] in linked.aliases
    for made in loop["created"][1]["output"]["tags"]:
        assert [s.stash_id for s in tags[made["tag_id"]].stash_ids] == [made["stashdb_id"]]
    assert loop["excluded"][1]["output"]["pattern"] in loop["patterns"]


def test_the_targeted_rerun_gives_every_scene_exactly_its_expected_tags(loop):
    code, answer, _ = loop["rerun"]
    assert code == 0 and answer["output"]["scenes_total"] == len(loop["affected"])
    library = loop["library"]
    now = compute_outcomes(loop["local_tags"], library.local_scenes, library.stashdb_tags, library.stashdb_scenes,
                           library.endpoint, loop["patterns"])
    affected = {int(s) for s in loop["affected"]}
    wrong = [scene_id for scene_id, tags in loop["after"].items()
             if set(tags) != (set(now[scene_id].expected_tag_ids) if scene_id in affected
                              else set(loop["before"][scene_id]))]
    assert wrong == []
    resolved = {loop["to_link"]["stashdb_id"], *(t["stashdb_id"] for t in loop["to_create"])}
    gained = {tag for s in affected for tag in set(loop["after"][s]) - set(loop["before"][s])}
    resolved_local = {tag.id for tag in loop["local_tags"] if any(x.stash_id in resolved for x in tag.stash_ids)}
    assert resolved_local <= gained


def test_resolved_tags_leave_the_listing(loop):
    output = loop["relisted"][1]["output"]
    gone = {loop["to_link"]["stashdb_id"], loop["to_exclude"]["stashdb_id"], *(t["stashdb_id"] for t in loop["to_create"])}
    assert not gone & {t["stashdb_id"] for t in output["tags"]}
    assert output["resolved_since_report"] == len(gone)


def test_sync_create_missing_creates_each_tag_once_and_a_second_run_does_nothing(tmp_path):
    library = generate_library(120, seed=5)
    settings = {**SETTINGS, "syncDryRun": False, "syncCreateMissing": True}
    with start_simulators(library) as sims:
        dry_code, dry, _ = run(sims, tmp_path, {"mode": "sync_scene_tags", "full_dry_run": "true"},
                               {**SETTINGS, "syncCreateMissing": True})
        assert dry_code == 0 and sims.stash.tag_log == [] and sims.stash.mutation_log.applied() == []
        code, first, _ = run(sims, tmp_path, {"mode": "sync_scene_tags"}, settings)
        created = [entry for entry in sims.stash.tag_log if entry[0] == "tagCreate"]
        writes_after_first = len(sims.stash.mutation_log.applied())
        again_code, again, _ = run(sims, tmp_path, {"mode": "sync_scene_tags"}, settings)
        local_tags, after = sims.stash.local_tags(), sims.stash.tags_snapshot()
        patterns = list(sims.stash.exclude_tag_patterns)
    assert code == again_code == 0
    unmatched = library.expected_summary.unmatched_tag_counts
    assert dry["output"]["tags_would_create"] == len(unmatched) == first["output"]["tags_created"] == len(created)
    assert first["output"]["unmatched_tags_distinct"] == 0
    assert again["output"]["tags_created"] == 0 and again["output"]["outcomes"]["updated"] == 0
    assert len(sims.stash.tag_log) == len(created) and len(sims.stash.mutation_log.applied()) == writes_after_first
    now = compute_outcomes(local_tags, library.local_scenes, library.stashdb_tags, library.stashdb_scenes,
                           library.endpoint, patterns)
    assert all(set(after[s]) == set(now[s].expected_tag_ids) for s in after)
    assert all(not outcome.unmatched_tag_names for outcome in now.values())
