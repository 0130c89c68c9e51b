"""plan_scene_tags on its own: what one scene gains, from its tags and its StashDB scene."""
from __future__ import annotations

from scene_tag_plan import UnmatchedTag, plan_scene_tags
from tag_matching import TagCache, TagExcluder
from tests.unit.fakes import ENDPOINT, local_tag

CACHE = TagCache.from_tags([
    local_tag(1, "Anal", stash_ids=[(ENDPOINT, "sdb-anal")]),
    local_tag(2, "Blonde"),
    local_tag(3, "Big Tits", aliases=["Large Breasts"]),
])
NO_EXCLUSIONS = TagExcluder(())


def plan(existing, stashdb_tags, excluder=NO_EXCLUSIONS):
    scene = {"id": "9", "tags": [{"id": str(t)} for t in existing]}
    stashdb_scene = {"id": "s", "deleted": False, "tags": [{"id": i, "name": n} for i, n in stashdb_tags]}
    return plan_scene_tags(scene, stashdb_scene, CACHE, ENDPOINT, excluder)


def test_tags_the_scene_has_are_kept_out_of_the_plan():
    result = plan(existing=[1, 2], stashdb_tags=[("sdb-anal", "Anal Sex"), ("x", "blonde"), ("y", "Large Breasts")])
    assert result.new_tag_ids == ["3"]


def test_new_tags_are_added_in_stashdb_order():
    result = plan(existing=[], stashdb_tags=[("y", "Large Breasts"), ("x", "blonde"), ("sdb-anal", "Anything")])
    assert result.new_tag_ids == ["3", "2", "1"]


def test_two_stashdb_tags_matching_one_local_tag_add_it_once():
    result = plan(existing=[], stashdb_tags=[("y", "Large Breasts"), ("z", "big tits"), ("x", "Blonde"), ("x2", "BLONDE")])
    assert result.new_tag_ids == ["3", "2"]


def test_an_unmatched_stashdb_tag_is_listed_once_and_never_planned():
    result = plan(existing=[], stashdb_tags=[("u", "Unknown"), ("u", "Unknown"), ("v", "Other")])
    assert result.new_tag_ids == []
    assert result.unmatched == [UnmatchedTag("Unknown", "u"), UnmatchedTag("Other", "v")]


def test_nothing_to_merge_gives_an_empty_plan():
    assert plan(existing=[1], stashdb_tags=[]).new_tag_ids == []
    assert plan(existing=[], stashdb_tags=[]).new_tag_ids == []
    assert plan(existing=[1, 2, 3], stashdb_tags=[("sdb-anal", "x"), ("b", "Blonde")]).new_tag_ids == []


def test_excluded_tags_are_counted_and_neither_planned_nor_unmatched():
    result = plan(existing=[], stashdb_tags=[("x", "Blonde"), ("u", "Unknown")], excluder=TagExcluder(["^blo", "unk"]))
    assert result.new_tag_ids == [] and result.unmatched == [] and result.excluded_count == 2
