"""Suggestions: which rule finds which local tag, how they rank, and what they leave out."""
from __future__ import annotations

import pytest

from tag_suggestions import MAX_SUGGESTIONS, SuggestionIndex, normal_key, singular_key, typo_apart

E = "https://stashdb.org/graphql"


def index(*tags):
    return SuggestionIndex([{"id": str(i), "name": name, "aliases": list(aliases), "stash_ids": list(links)}
                            for i, (name, aliases, links) in enumerate(tags, start=1)], E)


def tag(name, aliases=(), links=()):
    return (name, aliases, links)


def first(idx, name, aliases=()):
    found = idx.suggest(name, aliases)
    return (found[0].name, found[0].reason) if found else None


@pytest.mark.parametrize("stashdb_name, local_name", [
    ("Ass-to-Mouth", "ass to mouth"),
    ("CAFÉ", "Café"),            # Stash's LIKE folds ASCII only: Unicode case differs
    ("Café", "Cafe"),             # accents
    ("69 (Position)", "69 position"),
    ("Ｆｕｌｌ Ｗｉｄｔｈ", "Full Width"),
])
def test_names_equal_after_folding_are_found(stashdb_name, local_name):
    found = first(index(tag(local_name)), stashdb_name)
    assert found is not None and found[0] == local_name and "apart from case, accents" in found[1]


@pytest.mark.parametrize("stashdb_name, local_name", [
    ("Stockings", "Stocking"), ("Pussy", "Pussies"), ("Big Tits", "Big Tit"), ("Booth BJs", "Booth BJ"),
    ("Glass", "Glasses"), ("Box", "Boxes"),
])
def test_singular_and_plural_are_found(stashdb_name, local_name):
    found = first(index(tag(local_name)), stashdb_name)
    assert found is not None and found[0] == local_name and "singular/plural" in found[1]


def test_a_stashdb_alias_is_the_strongest_hint_and_names_the_alias():
    idx = index(tag("Buttsex"), tag("Anal Sex Toys"), tag("Analogue", aliases=["Anal"]))
    found = idx.suggest("Anal", ["Buttsex"])
    assert [s.name for s in found] == ["Buttsex", "Analogue"]
    assert "StashDB lists 'Buttsex' as an alias of this tag" in found[0].reason
    assert "this local tag's alias 'Anal'" in found[1].reason


def test_a_tag_linked_elsewhere_is_offered_lower_and_says_so():
    idx = index(tag("Outdoor", links=[{"endpoint": E, "stash_id": "other"}]), tag("Outdoors "),
                tag("Open Air", links=[{"endpoint": "https://fansdb.cc/graphql", "stash_id": "x"}]))
    found = idx.suggest("Outdoors", ["Open Air"])
    assert [s.name for s in found] == ["Open Air", "Outdoors ", "Outdoor"]
    assert "already linked to StashDB tag other for this endpoint" in found[2].reason
    assert "linked" not in found[0].reason  # a link for another endpoint does not count


def test_whole_word_differences_and_numbers_are_not_fuzzy_hints():
    idx = index(tag("Tall Woman"), tag("Female Doctor"), tag("Doggy Style (DP)"), tag("Scene 10"), tag("Stockings"))
    assert idx.suggest("Tall Man") == []
    assert idx.suggest("Male Doctor") == []
    assert idx.suggest("Doggy Style") == []
    assert idx.suggest("Scene 19") == []
    found = idx.suggest("Stokings")
    assert [s.name for s in found] == ["Stockings"] and "similar name" in found[0].reason and found[0].score < 0.8


def test_rules_rank_alias_then_same_then_plural_then_fuzzy():
    idx = index(tag("Blowjobz"), tag("Blowjobs"), tag("Blow-job"), tag("Oral"))
    found = idx.suggest("Blowjob", ["Oral"])
    assert [s.name for s in found] == ["Oral", "Blow-job", "Blowjobs", "Blowjobz"]
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)


def test_at_most_five_suggestions_each_tag_once():
    idx = index(*[tag(f"Stocking{suffix}", aliases=["Stockings"]) for suffix in ("", "s", " ", "-", "!", ".", "?")])
    found = idx.suggest("Stockings", ["Stocking"])
    assert len(found) == MAX_SUGGESTIONS and len({s.tag_id for s in found}) == MAX_SUGGESTIONS


def test_keys_and_typo_rule():
    assert normal_key("Ass-to-Mouth (ATM)") == "asstomouthatm"
    assert singular_key("Big Tits") == singular_key("Big Tit")
    assert typo_apart(["stockings"], ["stokings"]) and not typo_apart(["man"], ["men"])
    assert not typo_apart(["tall", "man"], ["tall", "woman"])
