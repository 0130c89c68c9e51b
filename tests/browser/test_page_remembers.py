"""The page remembers: after a reload it offers the scenes that can gain tags resolved since
the last run, whoever resolved them; one button re-matches exactly those scenes without a
StashDB request; the Runs section undoes that re-match, preview first; Pin name matches
pins the one name match and leaves alone the tag linked to another StashDB tag.

A real-UI Stash (v0.30.1 or later) with the StashDB simulator as its stash-box, the mode
Live. From the page: a live sync of the whole library. Then a local tag is linked to an
unmatched StashDB tag OUTSIDE the page, with Stash's GraphQL `tagUpdate` as Stash's own tag
page sends it, and the page is reloaded. GraphQL shows what each scene holds after each
step. Every request the page makes off 127.0.0.1 is aborted and recorded.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from tests.browser.conftest import LoopbackOnly, open_page
from tests.browser.page_steps import (DESKTOP, JOB_WAIT_MS, Shots, close_release_notes, seed_library, shots_folder,
                                      wait_for_job_end)
from tests.e2e.plugin_install import configure_plugin, stash_with_this_plugin
from tests.e2e.stash_seed import all_tags, create_tags, scene_tag_sets
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import stable_uuid
from tests.shared_schemas import require_stash_schema
from tests.simulators.records import StashDBTag

BOX_NAME = "Simulated StashDB (remembers)"
BLINDFOLD = StashDBTag(stable_uuid("r:blindfold"), "Blindfold", (), "Action", "Eyes covered.")
KISSING = StashDBTag(stable_uuid("r:kissing"), "Kissing", (), "Action")
CANDLES = StashDBTag(stable_uuid("r:candles"), "Candles", (), "Props")
ELSEWHERE_ID = stable_uuid("r:another-stashdb-tag")   # what local Candles is linked to, for pinning to leave it alone
SCENES = {  # label -> (its StashDB tags, its local tags before the sync)
    "one": ((BLINDFOLD, KISSING), ("Keep Me",)),
    "two": ((BLINDFOLD,), ()),
    "three": ((KISSING, CANDLES), ()),
    "four": ((BLINDFOLD,), ("Eye Mask",)),   # carries the tag Blindfold will match already, by hand
    "five": ((BLINDFOLD,), ()),               # deleted after the sync
}
TAG_UPDATE = """
mutation TagEdit($input: TagUpdateInput!) {
  tagUpdate(input: $input) { id stash_ids { endpoint stash_id } }
}
"""
SCENE_DESTROY = """
mutation SceneDelete($input: SceneDestroyInput!) {
  sceneDestroy(input: $input)
}
"""


@pytest.fixture(scope="module")
def stash(stash_ui_binary: Path, stashdb, stashbox_api_key: str, tmp_path_factory):
    with stash_with_this_plugin(stash_ui_binary, tmp_path_factory.mktemp("stash-remembers"), stashdb, stashbox_api_key,
                                BOX_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def library(stash: RealStash, stashdb) -> dict:
    [candles] = create_tags(stash, [{"name": "Candles", "stash_ids": [{"endpoint": stashdb.url, "stash_id": ELSEWHERE_ID}]}])
    tag_ids, scene_ids = seed_library(stash, stashdb, ["Kissing", "Eye Mask", "Keep Me"], SCENES, "r", "Remembers")
    tag_ids["Candles"] = candles
    configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": False})
    return {"tag_ids": tag_ids, "scene_ids": scene_ids, "before": scene_tag_sets(stash)}


def run_rows(page) -> list[tuple[str, str, bool]]:
    """The Runs section, top to bottom: (the run's label, what it did, has an undo button)."""
    rows = []
    for row in page.locator("tr[data-testid=run-row]").all():
        cells = row.locator("td").all()
        label = cells[1].inner_text().splitlines()[0]
        rows.append((label, cells[2].inner_text(), row.locator("button", has_text="Undo…").count() == 1))
    return rows


def offer_text(page, has_text: str) -> str:
    offer = page.get_by_test_id("rematch-offer")
    offer.filter(has_text=has_text).wait_for(timeout=JOB_WAIT_MS)
    return offer.inner_text()


def link_outside_the_page(stash: RealStash, tag_id: str, stashdb_id: str, endpoint: str) -> dict:
    """What Stash's tag edit page sends when a StashID is added to a tag that has none."""
    return stash.graphql(TAG_UPDATE, {"input": {"id": tag_id, "stash_ids": [{"endpoint": endpoint,
                                                                              "stash_id": stashdb_id}]}})["tagUpdate"]


def undo_newest_rematch(page, shot: Shots, seen: dict) -> None:
    """From the Runs section: Undo… on the re-match, its preview, then the confirmation."""
    rematch_row = page.locator("tr[data-testid=run-row]", has_text="Re-match").first
    rematch_row.scroll_into_view_if_needed()
    rematch_row.locator("button", has_text="Undo…").click()
    dialog = page.locator(".modal-dialog", has_text="Undo the Re-match")
    preview = dialog.get_by_test_id("undo-preview")
    preview.wait_for()
    seen["undo_title"] = dialog.locator(".modal-title").inner_text()
    seen["undo_preview"] = preview.inner_text()
    page.wait_for_timeout(400)  # let Bootstrap's fade end before the screenshot
    shot("10-undo-asks", readme=True)
    seen["confirm_label"] = dialog.locator(".modal-footer .btn-danger").inner_text()
    dialog.get_by_role("button", name=seen["confirm_label"]).click()
    result = dialog.get_by_test_id("undo-result")
    result.wait_for(timeout=JOB_WAIT_MS)
    seen["undo_result"] = result.inner_text()
    dialog.locator(".modal-footer").get_by_role("button", name="Close", exact=True).click()
    dialog.wait_for(state="hidden")


def pin_name_matches(page, shot: Shots, seen: dict) -> None:
    """Pin name matches…: the preview (summary, the tags it would pin, those left alone), then
    the confirmation."""
    page.locator("#tm-pin").get_by_role("button", name="Pin name matches…").click()
    dialog = page.locator(".modal-dialog", has_text="Pin name matches?")
    preview = dialog.get_by_test_id("pin-preview")
    preview.wait_for()
    seen["pin_preview"] = preview.inner_text()
    page.wait_for_timeout(400)  # let Bootstrap's fade end before the screenshot
    shot("12-pin-asks")
    seen["pin_confirm_label"] = dialog.locator(".modal-footer .btn-danger").inner_text()
    dialog.get_by_role("button", name=seen["pin_confirm_label"]).click()
    result = dialog.get_by_test_id("pin-result")
    result.wait_for(timeout=JOB_WAIT_MS)
    seen["pin_result"] = result.inner_text()
    dialog.locator(".modal-footer").get_by_role("button", name="Close", exact=True).click()
    dialog.wait_for(state="hidden")


@pytest.fixture(scope="module")
def walk(browser, stash: RealStash, stashdb, library: dict, tmp_path_factory) -> dict:
    guard = LoopbackOnly()
    context, page = open_page(browser, DESKTOP, guard)
    shot = Shots(page, shots_folder(tmp_path_factory))
    seen: dict = {"shots": shot.taken}
    try:
        page.goto(stash.url + "/tag-manager")
        close_release_notes(page)
        page.get_by_test_id("mode-label").filter(has_text="Live").wait_for()
        page.locator("#tm-runs", has_text="No run yet.").wait_for()
        seen["offer_before_any_run"] = page.locator("#tm-offer").count()

        # 1. a live sync of the whole library, from the page
        page.get_by_role("button", name="Live run (writes tags)").click()
        wait_for_job_end(page, "Live run")
        seen["offer_after_sync"] = offer_text(page, "No scene")
        seen["after_sync"] = scene_tag_sets(stash)

        # 2. Blindfold linked to Eye Mask outside the page, as Stash's tag page does; one of its
        # scenes deleted (Stash then refuses a by-id read naming it); a reload
        seen["linked"] = link_outside_the_page(stash, library["tag_ids"]["Eye Mask"], BLINDFOLD.id, stashdb.url)
        stash.graphql(SCENE_DESTROY, {"input": {"id": library["scene_ids"]["five"]}})
        asked_before = len(stashdb.request_log)
        page.reload()
        seen["offer"] = offer_text(page, "can gain tags")
        seen["offer_tags"] = page.locator("#tm-offer ul").inner_text()
        seen["offer_notes"] = [note.inner_text() for note in page.locator("#tm-offer p.text-muted").all()]
        # The button is enabled once run_mode has answered; until then it says "(dry run)".
        page.locator("#tm-offer button:enabled").wait_for()
        seen["button"] = page.locator("#tm-offer button").inner_text()
        page.locator("#tm-offer").scroll_into_view_if_needed()
        shot("08-rematch-offer", readme=True)

        # 3. the one button: the re-match of exactly those scenes, with its progress
        page.locator("#tm-offer").get_by_role("button", name=re.compile("^Re-match these")).click()
        page.locator("#tm-offer [data-testid=job-status]").wait_for()
        wait_for_job_end(page, "Re-match of 2 scenes")
        outcome = page.get_by_test_id("rematch-outcome")
        outcome.wait_for(timeout=JOB_WAIT_MS)
        seen["rematch_outcome"] = outcome.inner_text()
        seen["offer_after_rematch"] = offer_text(page, "No scene")
        seen["after_rematch"] = scene_tag_sets(stash)
        seen["stashdb_requests_since_link"] = len(stashdb.request_log) - asked_before
        page.locator("#tm-runs").filter(has_text="Re-match").wait_for()
        seen["runs"] = run_rows(page)
        shot("09-after-rematch")

        # 4. undo the re-match from the Runs section: the preview, then the confirmation
        undo_newest_rematch(page, shot, seen)
        page.locator("#tm-runs [data-testid=run-undone]").wait_for()
        seen["runs_after_undo"] = run_rows(page)
        seen["after_undo"] = scene_tag_sets(stash)
        seen["offer_after_undo"] = offer_text(page, "can gain tags")
        seen["rematch_said_after_undo"] = page.locator("#tm-offer [data-testid=rematch-outcome], #tm-offer [data-testid=job-status]").count()
        page.locator("#tm-runs").scroll_into_view_if_needed()
        shot("11-runs-after-undo")

        # 5. pin the name matches of the last run
        pin_name_matches(page, shot, seen)
        seen["tags_after_pin"] = {tag["name"]: tag["stash_ids"] for tag in all_tags(stash)}
    finally:
        context.close()
    seen["blocked"], seen["allowed"] = guard.blocked, guard.allowed
    print(f"\nscreenshots in {shot.folder} and {shot.readme_folder}")
    return seen


def test_without_a_whole_library_run_nothing_is_offered_and_after_the_sync_nothing_is_resolved_yet(walk, library):
    assert walk["offer_before_any_run"] == 0
    assert walk["offer_after_sync"] == "No scene can gain tags from tags resolved since the last run."
    ids, tags = library["scene_ids"], library["tag_ids"]
    assert {scene_id: set(tag_ids) for scene_id, tag_ids in walk["after_sync"].items()} == {
        ids["one"]: {tags["Keep Me"], tags["Kissing"]}, ids["two"]: set(),
        ids["three"]: {tags["Kissing"], tags["Candles"]}, ids["four"]: {tags["Eye Mask"]}, ids["five"]: set()}


def test_after_a_reload_the_page_offers_the_scenes_a_tag_linked_elsewhere_can_reach(walk):
    assert walk["linked"]["stash_ids"][0]["stash_id"] == BLINDFOLD.id
    assert walk["offer"] == "2 scenes can gain tags from tags resolved since the last run."
    assert walk["offer_tags"] == "Blindfold → Eye Mask (2 scenes)"   # scene four carries Eye Mask already
    assert walk["offer_notes"][0] == "1 scene of the last run is no longer in Stash."   # scene five
    assert walk["button"] == "Re-match these 2 scenes"


def test_the_button_rematches_exactly_those_scenes_without_asking_stashdb(walk, library):
    ids, eye_mask = library["scene_ids"], library["tag_ids"]["Eye Mask"]
    expected = {scene_id: set(tags) for scene_id, tags in walk["after_sync"].items() if scene_id != ids["five"]}
    expected[ids["one"]].add(eye_mask)
    expected[ids["two"]].add(eye_mask)
    assert {scene_id: set(tags) for scene_id, tags in walk["after_rematch"].items()} == expected
    assert walk["rematch_outcome"] == "Re-matched 2 scenes: 2 scenes updated, 2 tags added."
    assert walk["offer_after_rematch"] == "No scene can gain tags from tags resolved since the last run."
    assert walk["stashdb_requests_since_link"] == 0


def test_the_runs_are_listed_newest_first_and_only_live_syncs_and_rematches_can_be_undone(walk):
    assert walk["runs"] == [("Re-match", "2 scenes updated, 2 tags added", True),
                            ("Sync, whole library", "2 scenes updated, 3 tags added", True)]


def test_the_undo_previews_then_removes_exactly_what_the_rematch_added(walk):
    assert walk["undo_title"].startswith("Undo the Re-match of ")
    assert walk["undo_preview"] == "This would remove 2 tags from 2 scenes."
    assert walk["confirm_label"] == "Remove 2 tags"
    assert walk["undo_result"] == "Removed 2 tags from 2 scenes."
    assert walk["after_undo"] == {scene_id: tags for scene_id, tags in walk["after_sync"].items()
                                  if scene_id in walk["after_undo"]}
    assert len(walk["after_undo"]) == len(walk["after_sync"]) - 1     # scene five, deleted
    undo, rematch, sync = walk["runs_after_undo"]
    assert undo[0] == "Undo" and undo[1].startswith("2 tags removed; undoes ") and undo[2] is False
    assert rematch[0] == "Re-match" and "undone by " in rematch[1] and rematch[2] is False
    assert sync[2] is True
    assert walk["offer_after_undo"] == "2 scenes can gain tags from tags resolved since the last run."
    assert walk["rematch_said_after_undo"] == 0    # what the panel said of the re-match is gone with it


def test_pinning_previews_then_pins_the_name_match_and_leaves_the_tag_linked_elsewhere_alone(walk, stashdb):
    lines = [line for line in walk["pin_preview"].splitlines() if line.strip()]
    assert lines == ["Would pin 1 StashDB tags on 1 local tags.", "Kissing ← StashDB Kissing (by name)", "Left alone:",
                     f"Candles ← StashDB Candles (by name): left alone, linked to {ELSEWHERE_ID}"]
    assert walk["pin_confirm_label"] == "Pin 1 StashDB tag"
    assert walk["pin_result"] == "Pinned 1 StashDB tags on 1 local tags. 1 tag left alone (linked to another StashDB tag)."
    tags = walk["tags_after_pin"]
    assert tags["Kissing"] == [{"endpoint": stashdb.url, "stash_id": KISSING.id}]
    assert tags["Candles"] == [{"endpoint": stashdb.url, "stash_id": ELSEWHERE_ID}]
    assert tags["Eye Mask"] == [{"endpoint": stashdb.url, "stash_id": BLINDFOLD.id}]


@pytest.mark.parametrize("document", [TAG_UPDATE, SCENE_DESTROY])
def test_the_edits_sent_here_are_valid_against_stashs_schema(document: str):
    assert validate(require_stash_schema(), parse(document)) == []


def test_nothing_left_the_machine_and_every_screenshot_was_taken(walk):
    assert walk["allowed"] > 0 and walk["blocked"] == [], walk["blocked"]
    assert all(path.stat().st_size > 10_000 for path in walk["shots"])
