"""tagManager's page in Stash's real web UI, driven by chromium: the whole resolving loop.

A small file-less library in a real-UI Stash v0.30.1 with the StashDB simulator as its
stash-box. From the page only: a dry run, the table of unmatched tags with their counts,
one tag linked through its suggestion, one created, one excluded, two created together,
the mode switched to Live, and "Sync the affected scenes". Then GraphQL shows every scene
holds exactly the expected tags, and the page shows the outcome. Every request the page
makes off 127.0.0.1 is aborted and recorded. Screenshots of each step go to
$TAGMANAGER_SCREENSHOTS (default: a temp folder); the README's two to docs/screenshots/.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from plugin_info import PLUGIN_ID
from tests.browser.conftest import LoopbackOnly, open_page
from tests.e2e.plugin_install import configure_plugin, stash_with_this_plugin
from tests.e2e.stash_seed import STASH_CONFIGURATION, all_tags, create_scenes, create_tags, scene_tag_sets
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import labelled_scene_plans, stable_uuid
from tests.simulators.records import StashDBTag

REPO_ROOT = Path(__file__).resolve().parents[2]
README_SHOTS = REPO_ROOT / "docs" / "screenshots"
BOX_NAME = "Simulated StashDB (page)"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
JOB_WAIT_MS = 120_000
RUN_MODE_OPERATION = 'mutation ($plugin_id: ID!) { runPluginOperation(plugin_id: $plugin_id, args: {mode: "run_mode"}) }'

ANAL = StashDBTag(stable_uuid("p:anal"), "Anal", ("Anal Sex",), "Action")
STOCKINGS = StashDBTag(stable_uuid("p:stockings"), "Stockings", (), "Clothing", "Thigh-high hosiery.")
BIG_TITS = StashDBTag(stable_uuid("p:big"), "Big Tits", ("Big Boobs",), "Body", "Large breasts.")
WATERMARK = StashDBTag(stable_uuid("p:watermark"), "Watermark (Logo)", (), "Production")
ROPE = StashDBTag(stable_uuid("p:rope"), "Rope", ("Shibari",), "Action", "Bondage with rope.")
OUTDOORS = StashDBTag(stable_uuid("p:outdoors"), "Outdoors", (), "Location", "Filmed outside.")
SCENES = {  # label -> (its StashDB tags, its local tags before the sync)
    "one": ((ANAL, STOCKINGS, ROPE), ("Keep Me",)),
    "two": ((BIG_TITS, WATERMARK), ()),
    "three": ((STOCKINGS, BIG_TITS, ANAL, OUTDOORS), ("Keep Me",)),
    "four": ((ROPE,), ()),
    "five": ((ANAL,), ()),
    "six": ((OUTDOORS,), ()),
}


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    named = os.environ.get("TAGMANAGER_SCREENSHOTS")
    folder = Path(named) if named else tmp_path_factory.mktemp("page-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def stash(stash_ui_binary: Path, stashdb, stashbox_api_key: str, tmp_path_factory):
    with stash_with_this_plugin(stash_ui_binary, tmp_path_factory.mktemp("stash-page"), stashdb, stashbox_api_key,
                                BOX_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def library(stash: RealStash, stashdb) -> dict:
    names = ["Anal", "Keep Me", "Stocking"]
    tag_ids = dict(zip(names, create_tags(stash, [{"name": name} for name in names])))
    plans = labelled_scene_plans(stashdb, SCENES, tag_ids, key="p", title="Page")
    # One more scene whose StashID StashDB never had: the page lists it to re-match.
    plans.append({"title": "Page gone", "stash_ids": [{"endpoint": stashdb.url, "stash_id": stable_uuid("p:scene:gone")}],
                  "tag_ids": []})
    scene_ids = dict(zip([*SCENES, "gone"], create_scenes(stash, plans)))
    # The endpoint is set as a user would in Settings; syncDryRun stays unset (the page must say so).
    configure_plugin(stash, {"syncEndpoint": BOX_NAME})
    return {"tag_ids": tag_ids, "scene_ids": scene_ids, "before": scene_tag_sets(stash)}


def close_release_notes(page) -> None:
    """A fresh config shows Stash's Release Notes over every page once."""
    dialog = page.locator(".modal-dialog", has_text="Release Notes")
    try:
        dialog.wait_for(state="visible", timeout=8_000)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: no modal this time
        return
    dialog.locator(".modal-footer button").last.click()
    dialog.wait_for(state="hidden")


def row(page, name: str):
    return page.locator("tr[data-testid=tag-row]", has=page.locator("td.tm-name > a", has_text=re.compile(f"^{re.escape(name)}$")))


def reached_by_keyboard(page, presses: int = 120) -> list[str]:
    """What Tab reaches inside the page, in order: each control's label or text."""
    page.locator("h1", has_text="tagManager").click()  # start from the page's top
    reached = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => { const el = document.activeElement;
            if (!el || !el.closest('.tag-manager')) return null;
            return el.getAttribute('aria-label') || el.placeholder || el.innerText || el.id || el.tagName; }""")
        if label is not None:
            reached.append(label.strip())
    return reached


ODD_SETTINGS = ("TRUE", "on", 1, "maybe", [])  # how syncDryRun may be stored by hand or by another client


def modes_shown_for_odd_settings(page, stash: RealStash) -> dict:
    """What the page shows for syncDryRun values that are not plain booleans, against what
    the plugin's run_mode answers for each; the setting is left unset again afterwards."""
    shown = {}
    try:
        for value in ODD_SETTINGS:
            configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": value})
            answered = stash.graphql(RUN_MODE_OPERATION, {"plugin_id": PLUGIN_ID})["runPluginOperation"]
            page.reload()
            page.get_by_test_id("mode-reason").wait_for()
            shown[repr(value)] = {"page": (page.get_by_test_id("mode-label").inner_text(),
                                           page.get_by_test_id("mode-reason").inner_text()),
                                  "plugin": (answered["label"], answered["reason"]), "dry_run": answered["dry_run"]}
    finally:
        configure_plugin(stash, {"syncEndpoint": BOX_NAME})
    page.reload()
    page.get_by_test_id("mode-reason").wait_for()
    return shown


def table_names(page) -> list[str]:
    return [r.locator("td.tm-name > a").inner_text() for r in page.locator("tr[data-testid=tag-row]").all()]


def filtered_rows(page) -> dict:
    """The rows and the pager line for an alias typed in the filter, then for a category;
    each is an unmatched_tags call. The filters are cleared again afterwards."""
    seen = {}
    search = page.get_by_placeholder("Filter by name or alias")
    search.fill("SHIB")   # Rope's alias, in capitals
    page.get_by_test_id("pager").filter(has_text="of 1 (of 5)").wait_for()
    seen["alias"] = (table_names(page), page.get_by_test_id("pager").inner_text())
    search.fill("")
    page.get_by_test_id("pager").filter(has_text="1–5 of 5").wait_for()
    page.get_by_label("Category").select_option("Location")
    page.get_by_test_id("pager").filter(has_text="of 1 (of 5)").wait_for()
    seen["category"] = table_names(page)
    page.get_by_label("Category").select_option("*")
    page.get_by_test_id("pager").filter(has_text="1–5 of 5").wait_for()
    return seen


def wait_for_job_end(page, title: str) -> None:
    page.locator("[data-testid=job-status]", has_text=f"{title}: finished").wait_for(timeout=JOB_WAIT_MS)


@pytest.fixture(scope="module")
def walk(browser, stash: RealStash, library: dict, shots: Path) -> dict:
    guard = LoopbackOnly()
    started = time.monotonic()
    context, page = open_page(browser, DESKTOP, guard)
    seen: dict = {"shots": []}

    def shot(name: str, readme: bool = False) -> None:
        path = (README_SHOTS if readme else shots) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not readme:  # a full-page shot from the top, so Stash's fixed navbar stays at the top
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=readme is False)
        seen["shots"].append(path)

    try:
        # The way in: Settings → Plugins links to the page, and so does the main navigation.
        page.goto(stash.url + "/settings?tab=plugins")
        close_release_notes(page)
        settings_link = page.get_by_role("link", name="Open the tagManager page")
        settings_link.wait_for()
        shot("01-settings-plugins")
        settings_link.click()
        page.wait_for_url("**/tag-manager")
        seen["nav_link"] = page.locator("a.tm-nav-link").get_attribute("href")
        seen["mode_before"] = (page.get_by_test_id("mode-label").inner_text(), page.get_by_test_id("mode-reason").inner_text())
        seen["modes_shown"] = modes_shown_for_odd_settings(page, stash)
        no_report = page.locator("#tm-tags .alert")
        no_report.wait_for()
        seen["no_report"] = no_report.inner_text()
        shot("02-page-before-any-run")

        # 1. the dry run, from the page
        page.get_by_role("button", name="Dry run (first 200 scenes)").click()
        wait_for_job_end(page, "Dry run")
        page.locator("tr[data-testid=tag-row]").first.wait_for()
        seen["after_dry"] = scene_tag_sets(stash)
        seen["table"] = [(r.locator("td.tm-name > a").inner_text(), r.locator("td.tm-count").inner_text())
                         for r in page.locator("tr[data-testid=tag-row]").all()]
        seen["last_run"] = page.get_by_test_id("last-run").inner_text()
        seen["stockings_suggestion"] = row(page, "Stockings").locator(".tm-suggestion").first.inner_text()
        rematch = page.get_by_test_id("rematch-scenes")
        seen["rematch"] = (rematch.inner_text(), rematch.get_by_role("link").get_attribute("href"))
        page.locator("#tm-tags").scroll_into_view_if_needed()
        shot("03-unmatched-tags", readme=True)
        seen["reached_by_tab"] = reached_by_keyboard(page)
        seen["filtered"] = filtered_rows(page)

        # 2. link through the suggestion, create one, exclude one
        row(page, "Stockings").get_by_role("button", name="Link to Stocking").click()
        row(page, "Stockings").get_by_test_id("row-state").wait_for()
        row(page, "Big Tits").get_by_role("button", name="Create", exact=True).click()
        row(page, "Big Tits").get_by_test_id("row-state").wait_for()
        row(page, WATERMARK.name).get_by_role("button", name="Exclude").click()
        dialog = page.locator(".modal-dialog", has_text="Exclude")
        seen["exclude_warning"] = dialog.inner_text()
        page.locator(".modal.show").wait_for()
        page.wait_for_timeout(400)  # let Bootstrap's fade end before the screenshot
        shot("04-exclude-asks")
        dialog.get_by_role("button", name="Exclude", exact=True).click()
        row(page, WATERMARK.name).get_by_test_id("row-state").wait_for()

        # 3. two at once
        for name in ("Rope", "Outdoors"):
            row(page, name).locator("input[type=checkbox]").check()
        page.get_by_role("button", name="Create selected (2)").click()
        for name in ("Rope", "Outdoors"):
            row(page, name).get_by_test_id("row-state").wait_for()
        page.locator("#tm-affected", has_text="5 scenes carry").wait_for()  # tag_scenes has answered
        seen["states"] = {name: row(page, name).get_by_test_id("row-state").inner_text()
                          for name in ("Stockings", "Big Tits", WATERMARK.name, "Rope", "Outdoors")}
        seen["affected_text"] = page.locator("#tm-affected").inner_text()
        shot("05-resolved")

        # 4. live, then the targeted sync of the affected scenes
        page.evaluate("window.scrollTo(0, 0)")  # the mode is at the top, under Stash's fixed navbar
        page.locator("label[for=tm-live-switch]").click()
        page.get_by_test_id("mode-label").filter(has_text="Live").wait_for()
        seen["settings_after_switch"] = stash.graphql("query { configuration { plugins } }")["configuration"]["plugins"][PLUGIN_ID]
        page.get_by_role("button", name="Sync the affected scenes").click()
        outcome = page.get_by_test_id("sync-outcome")
        outcome.wait_for(timeout=JOB_WAIT_MS)
        seen["outcome"] = outcome.inner_text()
        seen["states_after"] = {name: row(page, name).get_by_test_id("row-state").inner_text()
                                for name in ("Stockings", "Big Tits", WATERMARK.name, "Rope", "Outdoors")}
        seen["after"] = scene_tag_sets(stash)
        page.locator("#tm-affected").evaluate("node => node.scrollIntoView({block: 'end'})")
        shot("06-after-sync", readme=True)
        shot("06-after-sync-full")

        # A scene to re-match opens in Stash. Stash's own scene page then asks Google for its
        # Chromecast script: blocked like everything else, but not a request of our page.
        seen["blocked_by_our_page"] = list(guard.blocked)
        page.get_by_test_id("rematch-scenes").get_by_role("link", name="Page gone").click()
        page.wait_for_url(f"**/scenes/{library['scene_ids']['gone']}*")
        seen["rematch_opened"] = page.url

        # The same page at phone width, and reached by keyboard.
        phone_context, phone = open_page(browser, PHONE, guard)
        try:
            phone.goto(stash.url + "/tag-manager")
            close_release_notes(phone)
            phone.get_by_test_id("mode-label").wait_for()
            phone.locator("#tm-tags").wait_for()
            path = shots / "07-phone.png"
            phone.screenshot(path=str(path), full_page=True)
            seen["shots"].append(path)
            seen["phone_overflow"] = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        finally:
            phone_context.close()
    finally:
        context.close()
    seen["blocked"], seen["allowed"] = guard.blocked, guard.allowed
    seen["seconds"] = time.monotonic() - started
    print(f"\nbrowser scenario: {seen['seconds']:.1f}s; screenshots in {shots} and {README_SHOTS}")
    return seen


def test_the_page_is_linked_from_settings_and_the_navigation_and_says_why_it_is_a_dry_run(walk):
    assert walk["nav_link"] == "/tag-manager"
    label, reason = walk["mode_before"]
    assert label == "Dry run" and "never been set" in reason
    assert "a dry run is enough" in walk["no_report"]


def test_the_page_shows_the_mode_the_plugin_answers_for_any_stored_value(walk):
    shown = walk["modes_shown"]
    assert set(shown) == {repr(value) for value in ODD_SETTINGS}
    for value, seen in shown.items():
        assert seen["page"] == seen["plugin"], value
        assert seen["dry_run"] is True, value     # none of them says off: a dry run
    assert shown["'TRUE'"]["page"][0] == "Dry run" and "is on" in shown["'TRUE'"]["page"][1]
    assert "not a yes or no" in shown["'maybe'"]["page"][1] and "not a yes or no" in shown["[]"]["page"][1]


def test_the_dry_run_wrote_nothing_and_the_table_lists_each_unmatched_tag_most_scenes_first(walk, library):
    assert walk["after_dry"] == library["before"]
    assert walk["table"] == [("Big Tits", "2"), ("Outdoors", "2"), ("Rope", "2"), ("Stockings", "2"),
                             (WATERMARK.name, "1")]
    assert "Stocking" in walk["stockings_suggestion"]
    assert "Unmatched StashDB tags\n5" in walk["last_run"]
    assert "StashID unknown to StashDB\n1" in walk["last_run"]


def test_the_filter_is_answered_by_the_plugin_by_alias_and_by_category(walk):
    assert walk["filtered"] == {"alias": (["Rope"], "1–1 of 1 (of 5)"), "category": ["Outdoors"]}


def test_a_scene_whose_stash_id_stashdb_does_not_know_is_listed_to_rematch_and_opens_in_stash(walk, library):
    text, href = walk["rematch"]
    gone = library["scene_ids"]["gone"]
    assert text.startswith("Page gone") and "StashDB does not know this StashID" in text
    assert href == f"/scenes/{gone}"
    assert f"/scenes/{gone}" in walk["rematch_opened"]


def test_each_action_shows_its_state_and_exclude_warns_it_is_global(walk):
    assert "Identify and the scene Tagger" in walk["exclude_warning"]
    assert walk["states"] == {"Stockings": "linked to Stocking", "Big Tits": "created as Big Tits",
                              WATERMARK.name: r"excluded by ^Watermark \(Logo\)$", "Rope": "created as Rope",
                              "Outdoors": "created as Outdoors"}
    lines = [line for line in walk["affected_text"].splitlines() if line.strip()]
    assert lines[1:] == ["5 scenes carry the tags resolved here.",
                         "The mode is Dry run: this run writes nothing. Switch to Live above to write the tags.",
                         "Sync the affected scenes (dry run)"]


def test_every_control_of_the_page_is_reached_from_the_keyboard(walk):
    reached = walk["reached_by_tab"]
    for control in ("tm-live-switch", "Dry run (first 200 scenes)", "Full dry-run report", "Filter by name or alias",
                    "Category", "Select this page", "Select Stockings", "Link to Stocking", "Create", "Exclude"):
        assert control in reached, (control, reached)
    assert sum(label.startswith("react-select-") for label in reached) >= 5  # Stash's tag selector, on every row


def test_the_switch_wrote_sync_dry_run_and_kept_the_endpoint(walk):
    assert walk["settings_after_switch"] == {"syncEndpoint": BOX_NAME, "syncDryRun": False}


def test_after_the_sync_every_scene_holds_exactly_its_tags_and_the_page_says_so(walk, stash, library):
    ids, tags = library["scene_ids"], library["tag_ids"]
    created = {tag["name"]: tag["id"] for tag in all_tags(stash)}
    expected = {
        ids["one"]: {tags["Keep Me"], tags["Anal"], tags["Stocking"], created["Rope"]},
        ids["two"]: {created["Big Tits"]},
        ids["three"]: {tags["Keep Me"], tags["Stocking"], created["Big Tits"], tags["Anal"], created["Outdoors"]},
        ids["four"]: {created["Rope"]},
        ids["five"]: set(),  # not affected: untouched, though Anal would match
        ids["six"]: {created["Outdoors"]},
        ids["gone"]: set(),
    }
    assert {scene_id: set(tag_ids) for scene_id, tag_ids in walk["after"].items()} == expected
    assert walk["outcome"] == "Synced the 5 affected scenes: their resolved tags are on them now."
    assert all(state.endswith(" — scenes synced") for state in walk["states_after"].values()), walk["states_after"]
    patterns = stash.graphql(STASH_CONFIGURATION)["configuration"]["scraping"]["excludeTagPatterns"]
    assert patterns == [r"^Watermark \(Logo\)$"]


def test_the_page_fits_a_phone_and_nothing_left_the_machine(walk):
    assert walk["phone_overflow"] <= 0
    assert walk["allowed"] > 0
    assert walk["blocked_by_our_page"] == [], walk["blocked_by_our_page"]
    assert all(url.startswith("https://www.gstatic.com/cv/js/sender/") for url in walk["blocked"]), walk["blocked"]
    assert all(path.stat().st_size > 10_000 for path in walk["shots"])
