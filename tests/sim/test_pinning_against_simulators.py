"""pin_matches over real HTTP, the plugin run as Stash runs it (a subprocess fed stdin JSON):
full dry run -> pin preview -> live pin -> a second pin -> StashDB renames every pinned tag
-> a live sync still gives every scene exactly the tags the library's own oracle expects.

Which StashDB tags should be pinned comes from how the library made each local tag
(`Library.tag_link_kinds`), not from the plugin's matcher.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tag_resolution import exact_name_pattern
from tests.sim.test_resolving_against_simulators import SETTINGS, run
from tests.simulators.expectations import TagOracle, compute_outcomes
from tests.simulators.launch import start_simulators
from tests.simulators.library import OTHER_ENDPOINT, generate_library
from tests.simulators.library_tags import BY_ALIAS, BY_NAME, BY_NAME_CASE_VARIANT
from tests.simulators.records import LocalStashID

PINNABLE = (BY_NAME, BY_NAME_CASE_VARIANT, BY_ALIAS)
PIN, LIVE = {"mode": "pin_matches"}, {"mode": "pin_matches", "dry_run": "false"}
UNKNOWN_STASHDB_ID = "00000000-0000-4000-8000-00000000dead"


def vocabulary_ids(stash_dir: Path) -> set[str]:
    [report] = (stash_dir / "plugin_data" / "tagManager" / "reports").iterdir()
    lines = (report / "stashdb_vocabulary.jsonl").read_text().splitlines()
    return {json.loads(line)["id"] for line in lines}


def edit_tag(sims, tag_id: int, **changes) -> None:
    """Another client changes a local tag (Stash's own tag page)."""
    tag = replace(sims.stash.store.tags[tag_id], **changes)
    sims.stash.store.tags[tag_id] = tag
    sims.stash.refresh_tag_view(tag)


def on_library_endpoint(tags, url: str, endpoint: str) -> list:
    """The simulator's tags with the plugin's endpoint (the simulator's URL) written as the
    library's, as the oracle knows it."""
    return [replace(t, stash_ids=tuple(replace(s, endpoint=endpoint) if s.endpoint == url else s
                                       for s in t.stash_ids)) for t in tags]


@pytest.fixture(scope="module")
def pinning(tmp_path_factory):
    library = generate_library(300, seed=23)
    stash_dir = tmp_path_factory.mktemp("stash-config")
    with start_simulators(library) as sims:
        dry = run(sims, stash_dir, {"mode": "sync_scene_tags", "full_dry_run": "true"})
        met = vocabulary_ids(stash_dir)
        pinnable = sorted(i for i in met if library.tag_link_kinds.get(i) in PINNABLE)
        stashdb_tags = {tag.id: tag for tag in library.stashdb_tags}
        oracle = TagOracle(library.local_tags, library.endpoint)
        local_of = {i: oracle.match(stashdb_tags[i]) for i in pinnable}
        excluded, elsewhere, other_box = pinnable[:3]
        sims.stash.exclude_tag_patterns = [exact_name_pattern(stashdb_tags[excluded].name)]
        edit_tag(sims, local_of[elsewhere], stash_ids=(LocalStashID(library.endpoint, UNKNOWN_STASHDB_ID),))
        edit_tag(sims, local_of[other_box], stash_ids=(LocalStashID(OTHER_ENDPOINT, "fansdb-1"),))
        before = {tag.id: tag for tag in sims.stash.local_tags()}
        asked, writes = len(sims.stashdb.request_log), len(sims.stash.tag_log)
        preview = run(sims, stash_dir, PIN)
        writes_after_preview = len(sims.stash.tag_log)
        live = run(sims, stash_dir, LIVE)
        writes_after_live = len(sims.stash.tag_log)
        again = run(sims, stash_dir, LIVE)
        asked_while_pinning = len(sims.stashdb.request_log) - asked
        pinned = {tag.id: tag for tag in sims.stash.local_tags()}
        renamed = [replace(tag, name=f"{tag.name} (renamed on StashDB)") if tag.id in pinnable else tag
                   for tag in library.stashdb_tags]
        for tag in renamed:
            sims.stashdb.data.add_tag(tag)
        sync = run(sims, stash_dir, {"mode": "sync_scene_tags"}, {**SETTINGS, "syncDryRun": False})
        yield {"library": library, "sims": sims, "dry": dry, "pinnable": pinnable, "local_of": local_of,
               "excluded": excluded, "elsewhere": elsewhere, "other_box": other_box, "before": before,
               "preview": preview, "live": live, "again": again, "writes": writes,
               "writes_after_preview": writes_after_preview, "writes_after_live": writes_after_live,
               "asked_while_pinning": asked_while_pinning, "pinned": pinned, "renamed": renamed, "sync": sync,
               "after": sims.stash.tags_snapshot(), "patterns": list(sims.stash.exclude_tag_patterns)}


def rows_by_status(answer: dict, status: str) -> dict[str, dict]:
    """The answer's listed rows (at most 200) of one status, by StashDB id."""
    return {row["stashdb_id"]: row for row in answer[1]["output"]["rows"] if row["status"] == status}


def expected_pins(pinning) -> set[str]:
    return set(pinning["pinnable"]) - {pinning["excluded"], pinning["elsewhere"]}


def links(tag, url: str, endpoint: str) -> set[tuple[str, str]]:
    return {(endpoint if s.endpoint == url else s.endpoint, s.stash_id) for s in tag.stash_ids}


def gained_links(pinning) -> set[tuple[int, str, str]]:
    url, endpoint = pinning["sims"].stashdb.url, pinning["library"].endpoint
    return {(tag_id, *link) for tag_id, tag in pinning["pinned"].items()
            for link in links(tag, url, endpoint) - links(pinning["before"][tag_id], url, endpoint)}


def test_the_preview_counts_every_name_and_alias_match_and_writes_nothing(pinning):
    code, answer, _ = pinning["preview"]
    output = answer["output"]
    assert code == 0 and answer["error"] is None and output["dry_run"] is True
    assert output["would_pin"] == len(expected_pins(pinning)) >= 20
    assert len(output["rows"]) == min(200, output["rows_total"])
    assert set(rows_by_status(pinning["preview"], "would_pin")) <= expected_pins(pinning)
    assert pinning["writes_after_preview"] == pinning["writes"] and pinning["asked_while_pinning"] == 0


def test_live_pins_exactly_those_matches_each_on_the_oracles_local_tag(pinning):
    code, answer, _ = pinning["live"]
    output = answer["output"]
    assert code == 0 and output["failed"] == 0 and output["pinned"] == len(expected_pins(pinning))
    endpoint = pinning["library"].endpoint
    assert gained_links(pinning) == {(pinning["local_of"][i], endpoint, i) for i in expected_pins(pinning)}
    kinds = pinning["library"].tag_link_kinds
    for stashdb_id, row in rows_by_status(pinning["live"], "pinned").items():
        assert row["tag_id"] == str(pinning["local_of"][stashdb_id])
        assert row["matched_by"] == ("alias" if kinds[stashdb_id] == BY_ALIAS else "name")
    assert pinning["writes_after_live"] - pinning["writes_after_preview"] == output["local_tags"]


def test_pinned_tags_keep_their_names_aliases_and_other_links(pinning):
    url, endpoint = pinning["sims"].stashdb.url, pinning["library"].endpoint
    for tag_id, before in pinning["before"].items():
        after = pinning["pinned"][tag_id]
        assert (after.name, after.aliases) == (before.name, before.aliases)
        assert links(before, url, endpoint) <= links(after, url, endpoint)
    other_box = pinning["pinned"][pinning["local_of"][pinning["other_box"]]]
    assert {s.endpoint for s in other_box.stash_ids} == {OTHER_ENDPOINT, url}


def test_a_tag_linked_elsewhere_is_listed_and_untouched_and_an_excluded_tag_not_pinned(pinning):
    assert pinning["live"][1]["output"]["already_linked_elsewhere"] == 1
    [row] = rows_by_status(pinning["live"], "already_linked_elsewhere").values()    # listed first
    assert row["stashdb_id"] == pinning["elsewhere"]
    assert row["linked_to"] == [{"stashdb_id": UNKNOWN_STASHDB_ID, "stashdb_name": None}]
    tag_id = pinning["local_of"][pinning["elsewhere"]]
    assert pinning["pinned"][tag_id] == pinning["before"][tag_id]
    excluded_tag = pinning["local_of"][pinning["excluded"]]
    assert pinning["pinned"][excluded_tag] == pinning["before"][excluded_tag]
    assert pinning["live"][1]["output"]["excluded"] == 1


def test_a_second_pin_changes_nothing(pinning):
    code, answer, _ = pinning["again"]
    output = answer["output"]
    assert code == 0 and output["pinned"] == output["would_pin"] == output["failed"] == 0
    assert output["already_linked_elsewhere"] == 1
    assert len(pinning["sims"].stash.tag_log) == pinning["writes_after_live"]


def test_after_stashdb_renames_the_pinned_tags_the_sync_still_adds_them(pinning):
    code, answer, _ = pinning["sync"]
    assert code == 0 and answer["error"] is None
    library, url = pinning["library"], pinning["sims"].stashdb.url

    def expected(local_tags):
        tags = on_library_endpoint(local_tags, url, library.endpoint)
        return compute_outcomes(tags, library.local_scenes, pinning["renamed"], library.stashdb_scenes,
                                library.endpoint, pinning["patterns"])

    now = expected(pinning["pinned"].values())
    wrong = [s for s, tags in pinning["after"].items() if set(tags) != set(now[s].expected_tag_ids)]
    assert wrong == []
    unpinned = expected(pinning["before"].values())      # the same renames without the pins
    lost = {t for s in now for t in now[s].expected_tag_ids - unpinned[s].expected_tag_ids}
    assert lost and lost <= {tag_id for tag_id, _, _ in gained_links(pinning)}
