"""The page offers the refresh: before any whole-library run it says why it cannot and keeps
the sync first; after a live sync the refresh is the first button, and clicking it asks
StashDB only about the scene StashDB edited since, which gains its new tag.

A real-UI Stash (v0.30.1 or later) with the StashDB simulator as its stash-box, the mode
Live. Every request the page makes off 127.0.0.1 is aborted and recorded.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import LoopbackOnly, open_page
from tests.browser.page_steps import DESKTOP, Shots, close_release_notes, seed_library, shots_folder, wait_for_job_end
from tests.e2e.plugin_install import configure_plugin, stash_with_this_plugin
from tests.e2e.stash_seed import scene_tag_sets
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import stable_uuid
from tests.simulators.records import StashDBTag
from tests.simulators.scene_changes import edit_scene_tags

BOX_NAME = "Simulated StashDB (refresh)"
KISSING = StashDBTag(stable_uuid("f:kissing"), "Kissing", (), "Action")
OUTDOORS = StashDBTag(stable_uuid("f:outdoors"), "Outdoors", (), "Location")
SCENES = {label: ((KISSING,), ()) for label in ("one", "two", "three", "four")}
SCENE_REQUESTS = ("TagManagerFindScenesByFingerprints", "TagManagerFindScenesByIds")


@pytest.fixture(scope="module")
def stash(stash_ui_binary: Path, stashdb, stashbox_api_key: str, tmp_path_factory):
    with stash_with_this_plugin(stash_ui_binary, tmp_path_factory.mktemp("stash-refresh"), stashdb, stashbox_api_key,
                                BOX_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def walk(browser, stash: RealStash, stashdb, tmp_path_factory) -> dict:
    stashdb.data.add_tag(OUTDOORS)
    tag_ids, scene_ids = seed_library(stash, stashdb, ["Kissing", "Outdoors"], SCENES, "f", "Refresh")
    configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": False})
    guard = LoopbackOnly()
    context, page = open_page(browser, DESKTOP, guard)
    shot = Shots(page, shots_folder(tmp_path_factory))
    seen: dict = {"tag_ids": tag_ids, "scene_ids": scene_ids}
    try:
        page.goto(stash.url + "/tag-manager")
        close_release_notes(page)
        page.get_by_test_id("mode-label").filter(has_text="Live").wait_for()
        note = page.get_by_test_id("refresh-note")
        note.filter(has_text="not available").wait_for()
        seen["note_before"] = note.inner_text()
        seen["buttons_before"] = run_buttons(page)

        page.get_by_role("button", name="Live run (writes tags)").click()
        wait_for_job_end(page, "Live run")
        note.filter(has_text="changed since").wait_for()
        seen["note_after_sync"] = note.inner_text()
        seen["buttons_after_sync"] = run_buttons(page)
        page.locator("#tm-run").scroll_into_view_if_needed()
        shot("13-refresh-offered", readme=True)

        edited = stable_uuid("f:scene:two")
        edit_scene_tags(stashdb.data, stashdb.scene_times, edited, (KISSING.id, OUTDOORS.id))
        asked_before = len(stashdb.request_log)
        page.get_by_role("button", name="Refresh (changes only, writes tags)").click()
        wait_for_job_end(page, "Refresh: live run")
        seen["refresh_requests"] = list(stashdb.request_log)[asked_before:]
        seen["after_refresh"] = scene_tag_sets(stash)
        seen["blocked"] = guard.blocked
    finally:
        context.close()
    return seen


def run_buttons(page) -> list[str]:
    return [button.inner_text() for button in page.locator("#tm-run .tm-buttons button").all()]


def test_before_any_whole_library_run_the_sync_comes_first_and_the_refresh_says_why_not(walk):
    assert walk["buttons_before"][:2] == ["Live run (writes tags)", "Refresh (changes only)"]
    assert "The refresh is not available: no whole-library report to refresh from" in walk["note_before"]


def test_after_a_live_sync_the_refresh_is_the_first_action(walk):
    assert walk["buttons_after_sync"][:2] == ["Refresh (changes only, writes tags)", "Live run (writes tags): every scene"]
    assert "asks StashDB only about the scenes StashDB changed since" in walk["note_after_sync"]


def test_the_refresh_asks_only_about_the_edited_scene_and_it_gains_its_new_tag(walk):
    ids, tags = walk["scene_ids"], walk["tag_ids"]
    scene_requests = [entry for entry in walk["refresh_requests"] if entry.operation_name in SCENE_REQUESTS]
    assert len(scene_requests) == 1
    asked = scene_requests[0].variables
    assert stable_uuid("f:scene:two") in str(asked)
    assert not any(stable_uuid(f"f:scene:{label}") in str(asked) for label in ("one", "three", "four"))
    assert walk["after_refresh"][ids["two"]] == {tags["Kissing"], tags["Outdoors"]}
    assert all(walk["after_refresh"][ids[label]] == {tags["Kissing"]} for label in ("one", "three", "four"))
    assert walk["blocked"] == []
