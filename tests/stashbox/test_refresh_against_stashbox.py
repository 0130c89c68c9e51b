"""The refresh against the real stash-box, the plugin run as Stash runs it.

Its own stash-box (a second database in the tier's PostgreSQL) seeded with the tier's
library; the seed is then dated two days back on the server (the scenes' `updated_at`),
as a StashDB whose scenes were last edited long before the user's sync. A live full sync;
then, as StashDB's admin through stash-box's own edits: one synced scene gains a tag that
matches a local tag, and an unmatched tag carried by many scenes is merged into a matched
one. Then the live refresh. A recording proxy between the plugin and the server says which
StashDB scenes the plugin asked about; the server's own lists, read afterwards, give what a
full sync would leave now.
"""
from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from stashdb_api import FIND_TAGS_BY_IDS_OPERATION
from tests.sim.test_refresh_against_simulators import live_synced_scenes, operations, stashdb_scenes_asked
from tests.simulators import generate_library
from tests.simulators.expectations import TagOracle, compute_outcomes
from tests.simulators.stash_sim import StashBoxConfig, StashSimulator
from tests.stashbox.conftest import MD5_ONLY_SHARE, TIER_SCENES, TIER_SEED
from tests.stashbox.recording_proxy import RecordingProxy
from tests.stashbox.stashbox_changes import edit_scene_tags, live_state, merge_tags
from tests.stashbox.stashbox_seed import seed_library
from tests.stashbox.stashbox_server import RealStashBox
from tests.stashbox.test_plugin_against_stashbox import BOX_NAME, run_plugin

REFRESH_DATABASE = "tagmanager_refresh"
SEED_AGE = "2 days"
LIVE = {"syncEndpoint": BOX_NAME, "syncDryRun": False}
SCENE_REQUESTS = ("TagManagerFindScenesByFingerprints", "TagManagerFindScenesByIds")


def carriers_of(library) -> dict[str, set[str]]:
    carrying: dict[str, set[str]] = {}
    for scene in library.stashdb_scenes:
        if not scene.deleted:
            for tag_id in scene.tag_ids:
                carrying.setdefault(tag_id, set()).add(scene.id)
    return carrying


def change_the_server(server: RealStashBox, library, after_sync: dict) -> dict:
    """One synced scene gains a tag matching a local tag it lacks; the unmatched tag carried by
    the most library scenes is merged into a matched tag."""
    oracle = TagOracle(library.local_tags, library.endpoint)
    remote = {scene.id: scene for scene in library.stashdb_scenes}
    edited = live_synced_scenes(library, library.outcomes)[0]
    edited_remote = remote[edited.stash_id_for(library.endpoint)]
    gained = next(tag for tag in library.stashdb_tags if isinstance(oracle.match(tag), int)
                  and tag.id not in edited_remote.tag_ids and oracle.match(tag) not in after_sync[edited.id])
    edit_scene_tags(server, edited_remote.id, [*edited_remote.tag_ids, gained.id])
    carrying = carriers_of(library)
    in_library = {scene.stash_id_for(library.endpoint) for scene in library.local_scenes}
    unmatched = [tag for tag in library.stashdb_tags if oracle.match(tag) is None and tag.id in carrying]
    source = max(unmatched, key=lambda tag: len(carrying[tag.id] & in_library))
    target = next(tag for tag in library.stashdb_tags if isinstance(oracle.match(tag), int)
                  and tag.id in carrying and tag.id != gained.id)
    merge_tags(server, target.id, [source.id])
    return {"edited_local": edited.id, "edited": edited_remote.id, "gained": oracle.match(gained),
            "merged_scenes": carrying[source.id] & in_library, "in_library": in_library}


def full_sync_now(server: RealStashBox, library, before: dict) -> dict[int, frozenset[int]]:
    """What a full live sync would leave now, from the server's own lists: each scene's tags
    before, plus what its StashDB scene carries today that matches a local tag."""
    scene_tags, live_tags = live_state(server)
    tags = [replace(tag, name=live_tags[tag.id]["name"], aliases=tuple(live_tags[tag.id]["aliases"]))
            if tag.id in live_tags else replace(tag, deleted=True) for tag in library.stashdb_tags]
    scenes = [replace(scene, tag_ids=tuple(scene_tags[scene.id])) if scene.id in scene_tags
              else replace(scene, deleted=True) for scene in library.stashdb_scenes]
    outcomes = compute_outcomes(library.local_tags, library.local_scenes, tags, scenes, library.endpoint)
    return {scene_id: frozenset(before[scene_id]) | outcomes[scene_id].expected_tag_ids for scene_id in before}


def refresh_report_rows(work_dir: Path) -> dict[str, dict]:
    folder = sorted((work_dir / "plugin_data" / "tagManager" / "reports").glob("*-refresh"))[-1]
    return {str(row["scene_id"]): row for row in json.loads((folder / "scenes.json").read_text())}


@pytest.fixture(scope="module")
def refreshed(stashbox_parts, postgres, tmp_path_factory):
    postgres.create_database(REFRESH_DATABASE)
    server_dir = Path(tempfile.mkdtemp(prefix="tagmanager-stashbox-refresh-"))
    try:
        with RealStashBox(stashbox_parts[0], server_dir, postgres.url_for_stashbox(REFRESH_DATABASE)) as server:
            library = seed_library(server, generate_library(
                TIER_SCENES, seed=TIER_SEED, md5_only_share=MD5_ONLY_SHARE)).library
            postgres.run_sql(REFRESH_DATABASE, f"UPDATE scenes SET updated_at = updated_at - interval '{SEED_AGE}'")
            with RecordingProxy(server.url) as proxy:
                box = StashBoxConfig(proxy.url, server.api_key, BOX_NAME)
                with StashSimulator(library.local_tags, library.local_scenes, stash_boxes=[box],
                                    endpoint_aliases={library.endpoint: proxy.url}) as stash:
                    work_dir = tmp_path_factory.mktemp("plugin-cwd")
                    full = run_plugin(stash, work_dir, LIVE)
                    full_requests = list(proxy.entries)
                    before = stash.tags_snapshot()
                    changes = change_the_server(server, library, before)
                    start = len(proxy.entries)
                    refresh = run_plugin(stash, work_dir, LIVE, mode="refresh_scene_tags")
                    yield {"library": library, "full": full, "full_requests": full_requests, "refresh": refresh,
                           "requests": proxy.entries[start:], "before": before, "after": stash.tags_snapshot(),
                           "expected": full_sync_now(server, library, before), "rows": refresh_report_rows(work_dir),
                           **changes}
    finally:
        shutil.rmtree(server_dir, ignore_errors=True)


def test_the_full_sync_and_the_refresh_ran_live(refreshed):
    for run in (refreshed["full"], refreshed["refresh"]):
        assert run.code == 0 and run.result["error"] is None, run.stderr[-2000:]
    assert refreshed["full"].summary["outcomes"]["error"] == 0
    assert "refresh" in refreshed["refresh"].summary, "the refresh ran the full sync instead"


def test_the_edited_scene_is_asked_again_and_gains_its_tag(refreshed):
    asked = stashdb_scenes_asked(refreshed["requests"], refreshed["library"])
    assert refreshed["edited"] in asked
    assert refreshed["gained"] not in refreshed["before"][refreshed["edited_local"]]
    assert refreshed["gained"] in refreshed["after"][refreshed["edited_local"]]


def test_exactly_the_edited_scene_and_the_merged_tags_scenes_are_asked(refreshed):
    """The full sync left no scene unknown to the memory (no error), so nothing else is asked."""
    asked = stashdb_scenes_asked(refreshed["requests"], refreshed["library"])
    assert len(refreshed["merged_scenes"]) >= 10
    assert asked == refreshed["merged_scenes"] | {refreshed["edited"]}
    assert refreshed["refresh"].summary["refresh"]["scenes_asked"] == len(asked)


def test_an_unchanged_scene_is_answered_with_no_request_about_it(refreshed):
    library, asked = refreshed["library"], stashdb_scenes_asked(refreshed["requests"], refreshed["library"])
    unchanged = [scene for scene in live_synced_scenes(library, library.outcomes)
                 if scene.stash_id_for(library.endpoint) not in asked]
    assert len(unchanged) > len(library.local_scenes) / 2
    scene = unchanged[0]
    row = refreshed["rows"][str(scene.id)]
    assert row["stashdb_id"] == scene.stash_id_for(library.endpoint) and row["outcome"] != "error"
    hashes = {fp.value for file in scene.files for fp in file.fingerprints}
    sent = json.dumps([entry.variables for entry in refreshed["requests"]])
    assert scene.stash_id_for(library.endpoint) not in sent and not any(value in sent for value in hashes)


def test_every_scene_ends_as_a_full_sync_would_leave_it_now(refreshed):
    after = {scene_id: frozenset(tags) for scene_id, tags in refreshed["after"].items()}
    assert after == refreshed["expected"]
    assert after != {scene_id: frozenset(tags) for scene_id, tags in refreshed["before"].items()}


def test_the_summary_counts_the_changes_and_the_requests_by_kind(refreshed):
    summary = refreshed["refresh"].summary["refresh"]
    assert (summary["stashdb_changed_scenes"], summary["changed_in_library"], summary["tags_changed"]) == (1, 1, 1)
    ops = operations(refreshed["requests"])
    requests = summary["requests"]
    assert requests == {"paging": ops.count("TagManagerChangedScenes"), "tag_check": ops.count("TagManagerLiveTags"),
                        "by_fingerprints": ops.count(SCENE_REQUESTS[0]), "by_id": ops.count(SCENE_REQUESTS[1]),
                        "tag_details": ops.count(FIND_TAGS_BY_IDS_OPERATION)}
    assert (requests["paging"], requests["tag_check"]) == (1, 1)
    asked = summary["scenes_asked"]
    assert requests["by_fingerprints"] + requests["by_id"] <= 2 * math.ceil(asked / 40)
    assert summary["scenes_asked"] + summary["scenes_from_memory"] == len(
        {refreshed["rows"][scene_id]["stashdb_id"] for scene_id in refreshed["rows"]} - {""})
    assert len(refreshed["requests"]) < len(refreshed["full_requests"]) / 3
