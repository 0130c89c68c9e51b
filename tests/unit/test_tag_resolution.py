"""Stash's uniqueness rules as tag_resolution applies them, and the cache it keeps exact."""
from __future__ import annotations

import random

import pytest

from stashdb_tag import StashDBTag
from tag_matching import TagCache, TagExcluder, match_stashdb_tag_to_local
from tag_resolution import exact_name_pattern, plan_new_tag

E = "https://stashdb.org/graphql"


def cache_of(*tags):
    return TagCache.from_tags([{"id": str(i), "name": name, "aliases": list(aliases), "stash_ids": []}
                               for i, (name, aliases) in enumerate(tags, start=1)])


def test_a_new_tag_carries_stashdb_details_and_the_link():
    plan = plan_new_tag(StashDBTag("s1", "  Rope Bondage ", "Tied.", ("Shibari",), "Action"), cache_of(), E)
    assert plan.tag_input == {"name": "Rope Bondage", "aliases": ["Shibari"], "description": "Tied.",
                              "stash_ids": [{"endpoint": E, "stash_id": "s1"}]}


@pytest.mark.parametrize("alias, holder", [
    ("BIG BOOBS", "Big Boobs"),        # another tag's name, ASCII case aside (LIKE)
    ("Jugs", "Breasts"),               # another tag's alias
    ("B%bs", "Big Boobs"),             # a LIKE pattern: Stash's check matches it against names
])
def test_aliases_another_tag_holds_are_dropped_and_named(alias, holder):
    plan = plan_new_tag(StashDBTag("s1", "Big Tits", aliases=(alias, "Large Tits")),
                        cache_of(("Big Boobs", ()), ("Breasts", ("Jugs",))), E)
    assert plan.tag_input["aliases"] == ["Large Tits"]
    (dropped,) = plan.dropped_aliases
    assert dropped["alias"] == alias and f"{holder!r}" in dropped["reason"]


def test_aliases_repeating_the_name_or_each_other_are_dropped_once_trimmed():
    plan = plan_new_tag(StashDBTag("s1", "Anal", aliases=(" anal", "Butt", "BUTT ", "", "  ")), cache_of(), E)
    assert plan.tag_input["aliases"] == ["Butt"]
    assert [d["alias"] for d in plan.dropped_aliases] == ["anal", "BUTT"]


def test_a_unicode_case_twin_is_not_a_collision_for_stash():
    plan = plan_new_tag(StashDBTag("s1", "ÉCOLE"), cache_of(("école", ())), E)
    assert plan.tag_input is not None  # LIKE folds ASCII only: Stash accepts both


@pytest.mark.parametrize("tag, reason", [
    (StashDBTag("s1", "Gone", deleted=True), "deleted"),
    (StashDBTag("s1", "anal"), "'Anal' (id 1) already matches it as the sync would"),
    (StashDBTag("s1", "Buttsex"), "'Anal' (id 1) already matches it"),
    (StashDBTag("s1", " Anal"), "'Anal' (id 1) has it as its name"),   # the matcher keeps the space; Stash trims
    (StashDBTag("s1", "   "), "empty"),
])
def test_tags_that_cannot_be_created_say_why(tag, reason):
    plan = plan_new_tag(tag, cache_of(("Anal", ("Buttsex",))), E)
    assert plan.tag_input is None and reason in plan.skip_reason


def test_cache_add_gives_the_same_answers_as_a_cache_built_with_the_tag():
    rng = random.Random(3)
    words = ["Anal", "anal", "ANAL", "Blonde", "Scene 9", "Scene 10", "B_nd", "Milf", "MILF", "Tag %"]
    tags = [{"id": str(i), "name": rng.choice(words) + rng.choice(["", " x", ""]), "sort_name": rng.choice([None, "a", "z"]),
             "aliases": rng.sample(words, rng.randint(0, 2)),
             "stash_ids": [{"endpoint": E, "stash_id": f"s{rng.randint(1, 5)}"}] if rng.random() < 0.3 else []}
            for i in range(1, 60)]
    grown = TagCache.from_tags(tags[:20])
    for extra in tags[20:]:
        grown.add(extra)
    whole = TagCache.from_tags(tags)
    for probe in [*words, "B%", "%", "s_ene 9", "Blonde x"]:
        for stash_id in (None, "s1", "s3", "s9"):
            stashdb_tag = {"id": stash_id, "name": probe}
            assert match_stashdb_tag_to_local(stashdb_tag, grown, E) == match_stashdb_tag_to_local(stashdb_tag, whole, E)
    assert grown.linked_count(E) == whole.linked_count(E)


def test_adding_a_known_tag_id_is_refused():
    cache = cache_of(("Anal", ()))
    with pytest.raises(ValueError):
        cache.add({"id": "1", "name": "Other"})


@pytest.mark.parametrize("name", ["Big Tits", "C++ (Code) [x] {y} ^z$ a|b a.b a*b a+b a?b", "Ü.ber", "back\\slash",
                                  "İstanbul", "ΣΊΣΥΦΟΣ"])
def test_the_exclude_pattern_matches_exactly_that_name_as_stash_applies_it(name):
    excluder = TagExcluder([exact_name_pattern(name)])
    assert excluder.excludes(name) and excluder.excludes(name.upper())
    assert not excluder.excludes(name + "s") and not excluder.excludes("x" + name)
    assert not excluder.excludes(name.replace(" ", "  ")) or " " not in name
