"""The page's re-match offer over real HTTP, the plugin run as Stash runs it: a full dry-run
report; one unmatched tag created through the plugin and one linked by another client (as
Stash's tag page does); `rematch_candidates` names exactly the scenes the library's own
oracle says can gain tags from those two; the re-match of those scenes gives each its
expected tags; then nothing is offered, and StashDB was asked nothing after the report.
"""
from __future__ import annotations

import pytest

from tests.sim.test_resolving_against_simulators import SETTINGS, run
from tests.simulators.expectations import compute_outcomes
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library


def outcomes(library, local_tags) -> dict:
    """The oracle's outcome per scene for these local tags."""
    return compute_outcomes(local_tags, library.local_scenes, library.stashdb_tags, library.stashdb_scenes,
                            library.endpoint, library.spec.exclude_tag_patterns)


def gained_from_resolving(before: dict, now: dict) -> dict[int, frozenset[int]]:
    """Per scene, the tags the oracle adds with today's local tags and did not with the old ones."""
    gained = {scene_id: now[scene_id].new_tag_ids - before[scene_id].new_tag_ids for scene_id in now}
    return {scene_id: tags for scene_id, tags in gained.items() if tags}


@pytest.fixture(scope="module")
def offer(tmp_path_factory):
    library = generate_library(200, seed=23)
    stash_dir = tmp_path_factory.mktemp("stash-config")
    with start_simulators(library) as sims:
        before_tags, before_scene_tags = sims.stash.local_tags(), sims.stash.tags_snapshot()
        assert run(sims, stash_dir, {"mode": "sync_scene_tags", "full_dry_run": "true"})[0] == 0
        asked = len(sims.stashdb.request_log)
        untouched = run(sims, stash_dir, {"mode": "rematch_candidates"})[1]["output"]
        listed = run(sims, stash_dir, {"mode": "unmatched_tags", "limit": 200})[1]["output"]["tags"]
        by_count = sorted(listed, key=lambda t: -t["scenes"])
        to_create, to_link = by_count[0], by_count[1]
        assert run(sims, stash_dir, {"mode": "create_tags", "stashdb_ids": [to_create["stashdb_id"]]})[0] == 0
        unlinked = next(t for t in sims.stash.local_tags() if not t.stash_ids)
        sims.stash.edit_tag({"id": str(unlinked.id), "stash_ids": [{"endpoint": library.endpoint,
                                                                   "stash_id": to_link["stashdb_id"]}]})
        now = outcomes(library, sims.stash.local_tags())
        expected = gained_from_resolving(outcomes(library, before_tags), now)
        code, answer, _ = run(sims, stash_dir, {"mode": "rematch_candidates"})
        offered = answer["output"]
        rematch = run(sims, stash_dir, {"mode": "rematch_scene_tags", "scene_ids": ",".join(offered["scene_ids"])},
                      {**SETTINGS, "syncDryRun": False})
        again = run(sims, stash_dir, {"mode": "rematch_candidates"})[1]["output"]
        yield {"code": code, "offered": offered, "untouched": untouched, "expected": expected, "rematch": rematch,
               "again": again, "asked_since_report": len(sims.stashdb.request_log) - asked,
               "before": before_scene_tags, "after": sims.stash.tags_snapshot(),
               "names": {to_create["stashdb_id"], to_link["stashdb_id"]}, "linked_tag": unlinked,
               "now": now}


def test_before_anything_is_resolved_nothing_is_offered(offer):
    assert offer["untouched"]["total"] == 0 and offer["untouched"]["report"] is not None


def test_the_offer_is_exactly_the_scenes_the_oracle_says_can_gain_from_the_resolved_tags(offer):
    assert offer["code"] == 0
    assert len(offer["expected"]) >= 5      # the two busiest unmatched tags of the library
    assert offer["offered"]["scene_ids"] == sorted(map(str, offer["expected"]), key=int)
    assert {t["stashdb_id"] for t in offer["offered"]["tags"]} == offer["names"]
    linked = next(t for t in offer["offered"]["tags"] if t["tag_id"] == str(offer["linked_tag"].id))
    assert linked["tag_name"] == offer["linked_tag"].name


def test_the_rematch_touches_only_the_offered_scenes_and_each_then_holds_its_expected_tags(offer):
    """The re-match adds everything that matches today (the full dry run wrote nothing), and
    only to the scenes named."""
    code, answer, _ = offer["rematch"]
    assert code == 0 and answer["output"]["outcomes"]["updated"] == len(offer["expected"])
    for scene_id, before in offer["before"].items():
        wanted = offer["now"][scene_id].expected_tag_ids if scene_id in offer["expected"] else set(before)
        assert set(offer["after"][scene_id]) == wanted, scene_id
    assert offer["again"]["total"] == 0 and offer["again"]["carrying"] == offer["offered"]["carrying"]
    assert offer["asked_since_report"] == 0
