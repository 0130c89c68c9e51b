"""The whole loop, real on both sides: a real Stash v0.30.1 whose stash-box is the real stash-box.

The tier's seeded stash-box (conftest.py) holds the StashDB side of the library; the local
side goes into a real Stash through Stash's own import (tests/e2e/stash_import.py): the same
tags, the files with the very fingerprints stash-box holds, the scenes with their StashIDs
for the server's URL. Stash's config names the server (`stash_boxes`, the root admin's key)
and two exclude patterns that drop tags scenes would gain. The plugin is installed and run
as Stash runs it (`runPluginTask`, `runPluginOperation`, the job watched), in this order:

1. the full dry run: writes nothing, its report counts what the expectation predicts;
2. the live run: every scene holds exactly its expected tags;
3. a re-run: nothing written (no `Scene.Update.Post` hook fires);
4. Stash's own Tagger (`scrapeSingleScene`) asked for every scene: the sync added exactly
   the tags Stash resolves (`stored_id`), scene by scene (parity, N/N);
5. `unmatched_tags`, every page: each unmatched StashDB tag with its scene count;
6. `create_tags` for three of them: Stash holds each with StashDB's name, description,
   aliases, link and category parent (read back through Stash's `findTag`);
7. the targeted re-run of `tag_scenes` of those tags: exactly those scenes gain them;
8. tests/integration_test_sync.py against the two servers (URLs and keys in its environment).

Expectations come from the seed's library and the matching rules (tests/simulators/
expectations.py), never from the plugin's output.
"""
from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from graphql import parse, validate

from plugin_info import PLUGIN_ID
from report_reader import read_summary, report_folders
from tests.e2e.hook_recorder import HookRecorder
from tests.e2e.plugin_install import FULL_DRY_RUN_TASK_NAME, install_checkout, reload_plugins, run_operation
from tests.e2e.stash_import import IMPORT_OPERATIONS, METADATA_IMPORT, write_import_folder
from tests.e2e.stash_jobs import watch_job
from tests.e2e.stash_seed import CONFIGURE_SCRAPING, FIND_TAG, all_scenes, all_tags, scene_tag_sets
from tests.e2e.stash_server import RealStash, StashBoxEntry, StashGraphQLError
from tests.e2e.stash_tagger import TAGGER_OPERATIONS, scrape_scenes
from tests.e2e.task_runs import TaskRun, run_task
from tests.integration_process import run_integration_test
from tests.integration_rules import WRITE_SCENE_KEY
from tests.shared_schemas import require_stash_schema
from tests.simulators.expectations import (STASHDB_DELETED, STASHDB_NOT_FOUND, UNCHANGED, UPDATED, SceneOutcome,
                                           TagOracle, compute_outcomes, summarize)
from tests.simulators.library import Library
from tests.simulators.records import PHASH, LocalStashID, LocalTag, StashDBTag
from tests.simulators.text_rules import ascii_fold
from tests.stashbox.real_stash_parts import real_stash_binary_or_skip

BOX_NAME = "Real stash-box"
# Stash's Tagger goes at this rate (Stash's default is 240 a minute: 3,000 scrapes would take
# 12 minutes); the plugin keeps to its own 2 requests a second whatever the box says.
TAGGER_REQUESTS_PER_MINUTE = 60_000
TAGGER_THREADS = 4
IMPORT_TIMEOUT_SECONDS = 600.0
RUN_TIMEOUT_SECONDS = 900.0
CREATE_COUNT = 3
LISTING_PAGE = 200
REPORTS = Path("plugin_data") / PLUGIN_ID / "reports"   # beside Stash's config (tag_manager.plugin_report_dir)
GENERATE_API_KEY = "mutation TierGenerateAPIKey { generateAPIKey(input: {}) }"
FOUND = (UPDATED, UNCHANGED)


@pytest.mark.parametrize("operation", [*IMPORT_OPERATIONS, *TAGGER_OPERATIONS, GENERATE_API_KEY])
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


# -- the library and what it must come to ------------------------------------------------

def exclude_patterns_for(library: Library) -> list[str]:
    """Two of Stash's exclude patterns that drop tags scenes would otherwise gain: the most
    used matched tag's whole name (in its own case: Stash lower-cases patterns) and a word
    from another matched tag's name, found anywhere in a name."""
    oracle = TagOracle(library.local_tags, library.endpoint)
    tags = {tag.id: tag for tag in library.stashdb_tags}
    uses = Counter(tag_id for scene in library.stashdb_scenes if not scene.deleted for tag_id in scene.tag_ids)
    plain = [tags[tag_id] for tag_id, _ in uses.most_common()
             if re.fullmatch(r"[A-Za-z ]+", tags[tag_id].name) and isinstance(oracle.match(tags[tag_id]), int)]
    whole = plain[0].name
    word = next(word for tag in plain[10:] for word in tag.name.split()
                if len(word) >= 6 and word.lower() not in whole.lower())
    return [f"^{whole}$", word.lower()]


@pytest.fixture(scope="module")
def library(seeded, stashbox) -> Library:
    """The seeded library with its StashIDs naming the real server's URL."""
    return seeded.library.with_endpoint(stashbox.url)


@pytest.fixture(scope="module")
def patterns(library: Library) -> list[str]:
    return exclude_patterns_for(library)


@pytest.fixture(scope="module")
def expected(library: Library, patterns: list[str]) -> dict[int, SceneOutcome]:
    return compute_outcomes(library.local_tags, library.local_scenes, library.stashdb_tags, library.stashdb_scenes,
                            library.endpoint, patterns)


def tag_sets(outcomes: dict[int, SceneOutcome], before_any_run: bool = False) -> dict[str, frozenset[str]]:
    """Per scene (Stash's id), the tag ids it must hold after a live run (or before any)."""
    return {str(scene_id): frozenset(map(str, outcome.existing_tag_ids if before_any_run else outcome.expected_tag_ids))
            for scene_id, outcome in outcomes.items()}


# -- Stash -------------------------------------------------------------------------------

def import_library(stash: RealStash) -> float:
    """Stash's own import of the folder written beside its config; its seconds."""
    started = time.monotonic()
    watch = watch_job(stash, str(stash.graphql(METADATA_IMPORT)["metadataImport"]), IMPORT_TIMEOUT_SECONDS)
    assert watch.final_status == "FINISHED", f"import ended {watch.final}; see {stash.log_file}"
    return time.monotonic() - started


@pytest.fixture(scope="module")
def stash(stashbox, library: Library, patterns: list[str], tmp_path_factory: pytest.TempPathFactory):
    binary = real_stash_binary_or_skip()
    work_dir = tmp_path_factory.mktemp("stash-whole-loop")
    write_import_folder(library, work_dir / "metadata", stashbox.url)
    box = StashBoxEntry(stashbox.url, stashbox.api_key, BOX_NAME, TAGGER_REQUESTS_PER_MINUTE)
    with RealStash(binary, work_dir, stash_boxes=[box]) as server:
        seconds = import_library(server)
        print(f"\nStash imported {len(library.local_scenes)} scenes in {seconds:.1f} s")
        server.graphql(CONFIGURE_SCRAPING, {"input": {"excludeTagPatterns": patterns}})
        install_checkout(server.plugins_dir)
        assert [plugin["id"] for plugin in reload_plugins(server)] == [PLUGIN_ID]
        yield server


def test_stash_holds_the_library_with_its_ids_and_fingerprints(stash: RealStash, library: Library) -> None:
    """The expectation speaks of the library's ids: Stash's must be the same, and every file
    must carry exactly the fingerprints stash-box was seeded from."""
    scenes = {int(scene["id"]): scene for scene in all_scenes(stash)}
    assert {scene_id: scene["title"] for scene_id, scene in scenes.items()} == {
        scene.id: scene.title for scene in library.local_scenes}
    assert {int(tag["id"]): tag["name"] for tag in all_tags(stash)} == {tag.id: tag.name for tag in library.local_tags}
    for scene in library.local_scenes:
        held = sorted((fp["type"], fp["value"]) for file in scenes[scene.id]["files"] for fp in file["fingerprints"])
        assert held == sorted((fp.type, fp.value) for file in scene.files for fp in file.fingerprints), scene.id
    assert any(fp.type == PHASH for scene in library.local_scenes for file in scene.files for fp in file.fingerprints)


# -- the runs ------------------------------------------------------------------------------

LIVE = {"syncEndpoint": BOX_NAME, "syncDryRun": False}


def newest_summary(stash: RealStash) -> dict:
    (newest, *_) = report_folders(stash.paths.root / REPORTS)
    summary = read_summary(newest)
    assert summary is not None, f"report {newest.name} has no summary"
    return summary


@dataclass
class LoopRun:
    run: TaskRun
    summary: dict
    hook_calls: list[dict] = field(default_factory=list)


def timed(label: str, action):
    started = time.monotonic()
    result = action()
    print(f"\n{label}: {time.monotonic() - started:.1f} s")
    return result


@pytest.fixture(scope="module")
def dry_run(stash: RealStash) -> LoopRun:
    # The full dry run previews every scene and writes nothing whatever syncDryRun says.
    run = timed("full dry run", lambda: run_task(stash, {"syncEndpoint": BOX_NAME}, timeout=RUN_TIMEOUT_SECONDS,
                                                 task_name=FULL_DRY_RUN_TASK_NAME))
    return LoopRun(run, newest_summary(stash))


@pytest.fixture(scope="module")
def live_run(stash: RealStash, dry_run: LoopRun) -> LoopRun:
    run = timed("live run", lambda: run_task(stash, LIVE, timeout=RUN_TIMEOUT_SECONDS))
    return LoopRun(run, newest_summary(stash))


@pytest.fixture(scope="module")
def rerun(stash: RealStash, live_run: LoopRun) -> LoopRun:
    recorder = HookRecorder.install(stash.plugins_dir)
    assert sorted(plugin["id"] for plugin in reload_plugins(stash)) == sorted([PLUGIN_ID, recorder.folder.name])
    try:
        run = timed("re-run", lambda: run_task(stash, LIVE, hooks=recorder, timeout=RUN_TIMEOUT_SECONDS))
    finally:
        recorder.uninstall()
        assert [plugin["id"] for plugin in reload_plugins(stash)] == [PLUGIN_ID]
    return LoopRun(run, newest_summary(stash), run.hook_calls)


def wrong_scenes(found: dict[str, frozenset[str]], wanted: dict[str, frozenset[str]]) -> dict[str, dict]:
    return {scene_id: {"missing": sorted(wanted[scene_id] - tags), "extra": sorted(tags - wanted[scene_id])}
            for scene_id, tags in found.items() if tags != wanted[scene_id]}


def assert_summary_is_expected(summary: dict, outcomes: dict[int, SceneOutcome]) -> None:
    """The run's report counts what the expectation predicts (a dry run: what it would do)."""
    expected = summarize(outcomes.values())
    dry = summary["dry_run"]
    updated = summary["outcomes"]["would_update" if dry else "updated"]
    added = summary["tags_would_add" if dry else "tags_added"]
    assert (summary["scenes_total"], summary["scenes_processed"], updated, summary["outcomes"]["stale_stash_id"],
            summary["outcomes"]["not_found"], summary["outcomes"]["error"], added) == (
        expected.scenes_in_scope, expected.scenes_in_scope, expected.updated, expected.stashdb_deleted,
        expected.stashdb_not_found, 0, expected.tags_added)
    assert (summary["found_by_fingerprint"], summary["found_by_id"]) == (
        expected.found_by_fingerprint, expected.found_by_id)


def test_the_dry_run_writes_nothing_and_counts_what_the_live_run_must_do(dry_run: LoopRun, expected) -> None:
    assert dry_run.run.watch.final_status == "FINISHED", dry_run.run.watch.final
    assert dry_run.summary["dry_run"] is True
    assert dry_run.run.after == dry_run.run.before
    assert_summary_is_expected(dry_run.summary, expected)


def test_the_live_run_gives_every_scene_exactly_its_expected_tags(live_run: LoopRun, expected) -> None:
    assert live_run.run.watch.final_status == "FINISHED", live_run.run.watch.final
    assert live_run.run.before == tag_sets(expected, before_any_run=True)
    assert wrong_scenes(live_run.run.after, tag_sets(expected)) == {}
    assert live_run.summary["dry_run"] is False
    assert_summary_is_expected(live_run.summary, expected)
    assert live_run.run.lines("error") == []


def test_a_rerun_writes_nothing(rerun: LoopRun, live_run: LoopRun) -> None:
    assert rerun.run.watch.final_status == "FINISHED", rerun.run.watch.final
    assert rerun.run.after == live_run.run.after
    assert (rerun.summary["outcomes"]["updated"], rerun.summary["tags_added"]) == (0, 0)
    assert rerun.hook_calls == []


# -- Stash's own Tagger ----------------------------------------------------------------------

@dataclass(frozen=True)
class TaggerAnswer:
    """What Stash's Tagger makes of one scene: the scraped scene whose id is the scene's
    StashID (found by its fingerprints, or by asking for the id), its tags' local ids, and
    the errors Stash's queries met on the way."""

    scene_id: str
    way: str | None                  # "fingerprints", "StashID query" or None (not found)
    stored_ids: frozenset[str]
    errors: tuple[tuple[str, str], ...]


def ask_tagger(stash: RealStash, endpoint: str, scene_id: str, stash_id: str) -> TaggerAnswer:
    errors = []
    for way, scrape_input in (("fingerprints", {"scene_id": scene_id}), ("StashID query", {"query": stash_id})):
        try:
            scraped = scrape_scenes(stash, endpoint, scrape_input) or []
        except StashGraphQLError as exc:
            errors.append((way, str(exc)))
            continue
        mine = [scene for scene in scraped if scene["remote_site_id"] == stash_id]
        if mine:
            stored = frozenset(tag["stored_id"] for tag in mine[0]["tags"] or [] if tag["stored_id"])
            return TaggerAnswer(scene_id, way, stored, tuple(errors))
    return TaggerAnswer(scene_id, None, frozenset(), tuple(errors))


@pytest.fixture(scope="module")
def tagger(stash: RealStash, stashbox, library: Library, rerun: LoopRun) -> dict[str, TaggerAnswer]:
    """Every scene with a StashID, asked of Stash's Tagger with the tags as the live run left them."""
    linked = [(str(scene.id), scene.stash_id_for(library.endpoint)) for scene in library.local_scenes
              if scene.stash_id_for(library.endpoint)]
    started = time.monotonic()
    with ThreadPoolExecutor(TAGGER_THREADS) as pool:
        answers = list(pool.map(lambda pair: ask_tagger(stash, stashbox.url, *pair), linked))
    print(f"\nStash's Tagger asked for {len(linked)} scenes in {time.monotonic() - started:.1f} s")
    return {answer.scene_id: answer for answer in answers}


def test_the_sync_added_exactly_what_stashs_tagger_resolves(tagger, live_run: LoopRun, expected) -> None:
    before, after = live_run.run.before, live_run.run.after
    found = [str(s) for s, outcome in expected.items() if outcome.category in FOUND]
    compared = [s for s in found if tagger[s].way is not None]
    differing = {s: {"tagger": sorted(tagger[s].stored_ids - before[s]), "sync": sorted(after[s] - before[s])}
                 for s in compared if after[s] != before[s] | tagger[s].stored_ids}
    failures = Counter((way, message) for answer in tagger.values() for way, message in answer.errors)
    ways = Counter(tagger[s].way for s in compared)
    print(f"\nparity through Stash's Tagger: {len(compared) - len(differing)}/{len(compared)} scenes the sync "
          f"found got exactly the tags Stash resolves ({ways['fingerprints']} found by Stash by fingerprints, "
          f"{ways['StashID query']} by asking for the StashID); {len(found) - len(compared)} not found by Stash")
    for (way, message), count in sorted(failures.items()):
        print(f"  Stash's {way} query failed for {count} scenes: {message[:300]}")
    assert differing == {}
    unresolved = [s for s in found if tagger[s].way is None and not tagger[s].errors]
    assert unresolved == [], "Stash found no scene for these, and none of its queries failed"
    assert compared, "no scene could be compared"


def test_stashs_tagger_offers_nothing_for_unknown_ids_and_what_it_offers_for_deleted_scenes_is_left(
        tagger, live_run: LoopRun, expected) -> None:
    """An unknown StashID finds nothing anywhere; a deleted (merged-away) StashDB scene is
    still answered by id, with its tags, but the sync leaves it as stale: never a tag."""
    by_category = {category: [str(s) for s, o in expected.items() if o.category == category]
                   for category in (STASHDB_NOT_FOUND, STASHDB_DELETED)}
    assert [s for s in by_category[STASHDB_NOT_FOUND] if tagger[s].way is not None] == []
    offered = [s for s in by_category[STASHDB_DELETED] if tagger[s].stored_ids - live_run.run.before[s]]
    print(f"\nStash's Tagger offers tags for {len(offered)} of {len(by_category[STASHDB_DELETED])} scenes whose "
          f"StashDB scene is deleted; the sync added none")
    assert all(live_run.run.after[s] == live_run.run.before[s] for s in by_category[STASHDB_DELETED])


# -- resolving: the listing, creating, the targeted re-run -------------------------------------

def every_unmatched_tag(stash: RealStash) -> list[dict]:
    rows: list[dict] = []
    while True:
        page = run_operation(stash, mode="unmatched_tags", offset=len(rows), limit=LISTING_PAGE)
        rows += page["tags"]
        if not page["tags"] or len(rows) >= page["total"]:
            return rows


@pytest.fixture(scope="module")
def listing(stash: RealStash, tagger) -> list[dict]:
    return every_unmatched_tag(stash)


def test_the_listing_names_each_unmatched_tag_with_its_scene_count(listing: list[dict], expected) -> None:
    assert {row["name"]: row["scenes"] for row in listing} == summarize(expected.values()).unmatched_tag_counts


def folded_local_names(tags) -> set[str]:
    return {ascii_fold(text) for tag in tags for text in (tag.name, *tag.aliases)}


def cleanly_creatable(tags: list[StashDBTag], local_tags) -> list[StashDBTag]:
    """Tags whose name, aliases and category no local tag (nor another of them) holds, so
    that Stash must take every alias and the category parent is a new tag of that name."""
    taken, chosen = folded_local_names(local_tags), []
    for tag in tags:
        texts = [ascii_fold(text) for text in (tag.name, *tag.aliases)]
        if (tag.category and tag.description and tag.aliases and len(set(texts)) == len(texts)
                and not (set(texts) | {ascii_fold(tag.category)}) & taken
                and not any(c in text for text in texts for c in "%_")):
            chosen.append(tag)
            taken |= set(texts)
    return chosen


@pytest.fixture(scope="module")
def created(stash: RealStash, library: Library, listing: list[dict]) -> dict:
    seeded_tags = {tag.id: tag for tag in library.stashdb_tags}
    listed = [seeded_tags[row["stashdb_id"]] for row in listing]
    chosen = cleanly_creatable(listed, library.local_tags)[:CREATE_COUNT]
    assert len(chosen) == CREATE_COUNT
    answer = run_operation(stash, mode="create_tags", stashdb_ids=[tag.id for tag in chosen], parent_from_category=True)
    return {"chosen": chosen, "answer": answer,
            "held": {row["stashdb_id"]: stash.graphql(FIND_TAG, {"id": row["tag_id"]})["findTag"]
                     for row in answer["tags"]}}


def test_create_tags_makes_each_tag_with_stashdbs_details(created: dict, stashbox) -> None:
    assert [row["status"] for row in created["answer"]["tags"]] == ["created"] * CREATE_COUNT
    for tag in created["chosen"]:
        held = created["held"][tag.id]
        assert (held["name"], held["description"], sorted(held["aliases"])) == (
            tag.name, tag.description, sorted(tag.aliases))
        assert held["stash_ids"] == [{"endpoint": stashbox.url, "stash_id": tag.id}]
        assert [parent["name"] for parent in held["parents"]] == [tag.category]


def local_tags_in_stash(stash: RealStash) -> list[LocalTag]:
    """Stash's tags now, as the expectation reads local tags."""
    return [LocalTag(int(tag["id"]), tag["name"], tag["sort_name"] or None, tuple(tag["aliases"]),
                     tuple(LocalStashID(link["endpoint"], link["stash_id"]) for link in tag["stash_ids"]))
            for tag in all_tags(stash)]


@pytest.fixture(scope="module")
def targeted(stash: RealStash, created: dict) -> dict:
    ids = [tag.id for tag in created["chosen"]]
    scene_ids = run_operation(stash, mode="tag_scenes", stashdb_ids=ids)["scene_ids"]
    run = timed("targeted re-run", lambda: run_task(stash, LIVE, args_map={"scene_ids": ",".join(scene_ids)},
                                                      timeout=RUN_TIMEOUT_SECONDS))
    return {"scene_ids": scene_ids, "run": run, "summary": newest_summary(stash),
            "local_tags": local_tags_in_stash(stash)}


def test_the_targeted_rerun_adds_the_created_tags_to_exactly_their_scenes(
        targeted: dict, created: dict, library: Library, patterns: list[str], expected) -> None:
    names = {tag.name for tag in created["chosen"]}
    carrying = {str(s) for s, outcome in expected.items() if names & set(outcome.unmatched_tag_names)}
    assert set(targeted["scene_ids"]) == carrying
    run = targeted["run"]
    assert run.watch.final_status == "FINISHED", run.watch.final
    assert targeted["summary"]["scenes_total"] == len(carrying)
    now = compute_outcomes(targeted["local_tags"], library.local_scenes, library.stashdb_tags, library.stashdb_scenes,
                           library.endpoint, patterns)
    wanted = {s: (tags if s in carrying else run.before[s]) for s, tags in tag_sets(now).items()}
    assert wrong_scenes(run.after, wanted) == {}
    gained = {tag for s in carrying for tag in run.after[s] - run.before[s]}
    assert {row["tag_id"] for row in created["answer"]["tags"]} <= gained


def test_no_key_reaches_stashs_logs_or_the_reports(stash: RealStash, stashbox, targeted: dict) -> None:
    files = [stash.log_file, stash.paths.console_log, *(stash.paths.root / REPORTS).rglob("*.json*")]
    assert len(files) > 2
    leaking = [path for path in files if stashbox.api_key in path.read_text(encoding="utf-8", errors="replace")]
    assert leaking == []


# -- the integration test, against both servers --------------------------------------------------

@pytest.fixture(scope="module")
def integration(stash: RealStash, stashbox, expected, targeted: dict, tmp_path_factory: pytest.TempPathFactory):
    stash.require_login("tier-user", "tier-" + secrets.token_hex(16))
    stash_key = stash.graphql(GENERATE_API_KEY)["generateAPIKey"]
    scene = next(str(s) for s, outcome in expected.items() if outcome.category in FOUND)
    settings = {"STASH_URL": stash.url, "STASH_API_KEY": stash_key, "STASHDB_URL": stashbox.url,
                "STASHDB_API_KEY": stashbox.api_key, WRITE_SCENE_KEY: scene}
    before = scene_tag_sets(stash)
    code, outcomes, output = timed("integration test", lambda: run_integration_test(
        tmp_path_factory.mktemp("integration"), settings))
    return {"code": code, "outcomes": outcomes, "output": output, "before": before, "after": scene_tag_sets(stash),
            "keys": (stash_key, stashbox.api_key)}


def test_the_integration_test_passes_against_the_real_servers(integration: dict) -> None:
    assert integration["code"] == 0, integration["output"][-4000:]
    assert integration["outcomes"] == {
        "test_stashdb_accepts_the_key": "passed",
        "test_dry_run_against_real_servers_changes_nothing": "passed",
        "test_stashdb_requests_are_at_least_half_a_second_apart": "passed",
        "test_can_update_scene_tags_on_a_test_scene": "passed",
    }
    assert integration["after"] == integration["before"]  # its dry run wrote nothing; its one tag was undone
    assert [key for key in integration["keys"] if key in integration["output"]] == []
