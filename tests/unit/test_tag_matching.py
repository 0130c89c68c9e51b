"""Stash's Tagger tag-matching rules (pkg/match/scraped.go ScrapedTag), quirks included."""
from __future__ import annotations

import logging

import pytest

from tests.unit.fakes import local_tag as tag
from tag_matching import TagCache, TagExcluder, match_stashdb_tag_to_local

STASHDB = "https://stashdb.org/graphql"
OTHER_BOX = "https://fansdb.cc/graphql"


def match(tags, name, stash_id=None, endpoint=STASHDB):
    cache = TagCache.from_tags(tags)
    return match_stashdb_tag_to_local({"id": stash_id, "name": name}, cache, endpoint)


# --- the three steps and their priority -------------------------------------


def test_a_stash_id_link_matches_whatever_the_names():
    tags = [tag(1, "Something Else", stash_ids=[(STASHDB, "abc")]), tag(2, "Anal")]
    assert match(tags, "Anal", stash_id="abc") == "1"


def test_an_unlinked_stash_id_falls_through_to_the_name():
    tags = [tag(1, "Other", stash_ids=[(STASHDB, "zzz")]), tag(2, "Anal")]
    assert match(tags, "Anal", stash_id="abc") == "2"


def test_name_match():
    assert match([tag(1, "Blowjob"), tag(2, "Anal")], "Anal") == "2"


def test_alias_match():
    assert match([tag(1, "Blowjob"), tag(2, "Anal Sex", aliases=["Anal"])], "Anal") == "2"


def test_no_match_is_none():
    assert match([tag(1, "Blowjob", aliases=["BJ"])], "Anal", stash_id="abc") is None


def test_priority_is_link_then_name_then_alias():
    linked = tag(1, "Zed", stash_ids=[(STASHDB, "abc")])
    named = tag(2, "Anal")
    aliased = tag(3, "Analingus", aliases=["Anal"])
    assert match([linked, named, aliased], "Anal", stash_id="abc") == "1"
    assert match([named, aliased], "Anal", stash_id="abc") == "2"
    assert match([aliased], "Anal", stash_id="abc") == "3"


def test_a_name_beats_an_alias_even_when_the_alias_tag_sorts_first():
    tags = [tag(1, "Aaa", aliases=["Anal"]), tag(2, "anal")]
    assert match(tags, "Anal") == "2"


def test_missing_or_null_id_skips_the_link_step():
    cache = TagCache.from_tags([tag(1, "Anal")])
    assert match_stashdb_tag_to_local({"name": "Anal"}, cache, STASHDB) == "1"
    assert match_stashdb_tag_to_local({"id": None, "name": "Anal"}, cache, STASHDB) == "1"


def test_an_empty_endpoint_skips_the_link_step_as_stash_does():
    tags = [tag(1, "Linked", stash_ids=[("", "abc"), (STASHDB, "abc")]), tag(2, "Anal")]
    assert match(tags, "Anal", stash_id="abc", endpoint="") == "2"


def test_missing_name_matches_nothing_by_name():
    cache = TagCache.from_tags([tag(1, "Anal", stash_ids=[(STASHDB, "abc")])])
    assert match_stashdb_tag_to_local({"id": "zzz"}, cache, STASHDB) is None
    assert match_stashdb_tag_to_local({"id": "zzz", "name": None}, cache, STASHDB) is None
    assert match_stashdb_tag_to_local({"id": "abc", "name": None}, cache, STASHDB) == "1"


# --- links: exact endpoint, exact id, lowest id -----------------------------


def test_links_are_per_endpoint():
    tags = [
        tag(1, "Fans Anal", stash_ids=[(OTHER_BOX, "abc")]),
        tag(2, "Stash Anal", stash_ids=[(STASHDB, "abc")]),
    ]
    assert match(tags, "x", stash_id="abc", endpoint=STASHDB) == "2"
    assert match(tags, "x", stash_id="abc", endpoint=OTHER_BOX) == "1"


def test_a_link_for_the_endpoint_with_a_trailing_slash_does_not_count():
    tags = [tag(1, "Linked", stash_ids=[(STASHDB + "/", "abc")])]
    assert match(tags, "Anal", stash_id="abc") is None
    assert match(tags, "Anal", stash_id="abc", endpoint=STASHDB + "/") == "1"


def test_stash_ids_compare_exactly():
    tags = [tag(1, "Linked", stash_ids=[(STASHDB, "ABC")])]
    assert match(tags, "Anal", stash_id="abc") is None
    assert match(tags, "Anal", stash_id=" ABC") is None


def test_several_tags_linked_to_one_id_gives_the_lowest_numeric_id():
    tags = [tag(10, "B", stash_ids=[(STASHDB, "abc")]), tag(9, "A", stash_ids=[(STASHDB, "abc")])]
    assert match(tags, "x", stash_id="abc") == "9"


# --- LIKE: ASCII-only case folding, wildcards, no trimming ------------------


def test_ascii_case_is_ignored():
    assert match([tag(1, "Milf")], "MILF") == "1"


def test_non_ascii_case_is_not_ignored():
    assert match([tag(1, "Café")], "CAFÉ") is None
    assert match([tag(1, "Café")], "cAFé") == "1"


def test_underscore_matches_any_one_character():
    assert match([tag(1, "Big Tits")], "Big_Tits") == "1"
    assert match([tag(1, "Café")], "Caf_") == "1"
    assert match([tag(1, "Big Tits")], "Big_Tit_s") is None


def test_underscore_prefers_the_tag_sorting_first_over_the_literal_name():
    # " " sorts before "_", so Stash picks "Big Tits" over an exact "Big_Tits".
    assert match([tag(1, "Big_Tits"), tag(2, "Big Tits")], "Big_Tits") == "2"


def test_percent_matches_any_run_and_picks_the_first_tag_in_stash_order():
    tags = [tag(1, "b"), tag(2, "A"), tag(3, "10"), tag(4, "9")]
    assert match(tags, "%") == "4"  # digits before letters, 9 before 10
    assert match(tags, "1%") == "3"
    assert match([tag(1, "Anal")], "Anal%") == "1"  # % also matches nothing


def test_a_wildcard_name_falls_through_to_aliases():
    tags = [tag(1, "Blowjob", aliases=["xyz"]), tag(2, "Anal")]
    assert match(tags, "x%") == "1"


def test_whitespace_is_not_trimmed():
    assert match([tag(1, "Anal")], " Anal") is None
    assert match([tag(1, "Anal")], "Anal ") is None


# --- which of several candidates: Stash's ORDER BY ---------------------------


def test_alias_candidates_are_ordered_by_the_tags_name_not_the_alias():
    tags = [tag(1, "Zeta", aliases=["x"]), tag(2, "Alpha", aliases=["X"])]
    assert match(tags, "x") == "2"


def test_sort_name_overrides_name_in_ordering():
    assert match([tag(1, "milf", sort_name="zzz"), tag(2, "MILF")], "Milf") == "2"
    assert match([tag(1, "milf", sort_name="aaa"), tag(2, "MILF")], "Milf") == "1"


def test_an_empty_sort_name_is_no_sort_name():
    assert match([tag(1, "Milf", sort_name=""), tag(2, "MILF", sort_name="zzz")], "milf") == "1"


def test_digit_runs_compare_as_numbers():
    tags = [tag(1, "Scene 10"), tag(2, "Scene 9")]
    assert match(tags, "Scene %") == "2"


def test_equal_sort_keys_give_the_highest_numeric_id():
    # Stash's collation never says "equal": SQLite keeps the last tied row.
    assert match([tag(9, "Milf"), tag(10, "MILF"), tag(3, "milf")], "milf") == "10"


def test_tags_without_a_name_sort_first_lowest_id_first():
    # NULL sorts before text, and NULLs fall back to the integer id.
    tags = [tag(3, "a", aliases=["x3"]), tag(9, None, aliases=["x9"]), tag(5, None, aliases=["x5"])]
    assert match(tags, "x%") == "5"


# --- robustness and bookkeeping ---------------------------------------------


def test_null_and_missing_fields_do_not_crash():
    tags = [
        {"id": "1", "name": "Anal", "sort_name": None, "aliases": None, "stash_ids": None},
        {"id": "2", "name": "Blowjob"},
        {"id": "3", "name": None, "aliases": ["Nameless"]},
        {"name": "No Id", "aliases": ["ghost"]},
        {"id": "4", "name": "Cum", "stash_ids": [{"endpoint": STASHDB, "stash_id": None}]},
    ]
    cache = TagCache.from_tags(tags)
    assert match_stashdb_tag_to_local({"name": "Blowjob"}, cache, STASHDB) == "2"
    assert match_stashdb_tag_to_local({"name": "Nameless"}, cache, STASHDB) == "3"
    assert match_stashdb_tag_to_local({"name": "ghost"}, cache, STASHDB) is None
    assert cache.tag_count == 4
    assert cache.linked_count(STASHDB) == 0


def test_get_name_tag_count_and_linked_count():
    cache = TagCache.from_tags([
        tag(1, "Anal", stash_ids=[(STASHDB, "a"), (STASHDB, "b")]),
        tag(2, "Oral", stash_ids=[(STASHDB, "c"), (OTHER_BOX, "c")]),
        tag(3, "Solo", stash_ids=[(STASHDB + "/", "d")]),
        tag(4, "Toys"),
    ])
    assert cache.get_name("2") == "Oral"
    assert cache.get_name("99") is None
    assert cache.tag_count == 4
    assert cache.linked_count(STASHDB) == 2
    assert cache.linked_count(OTHER_BOX) == 1
    assert cache.linked_count(STASHDB + "/") == 1
    assert cache.linked_count("https://nowhere") == 0


def test_found_by_alias_tells_which_lookup_found_the_tag():
    tags = [tag(1, "Anal Sex", aliases=["anal"]), tag(2, "Big Tits"), tag(3, "Blowjob", aliases=["xyz"]),
            tag(4, "BIG BOOBS", aliases=["Big Boobs"])]
    cache = TagCache.from_tags(tags)
    for name, winner, by_alias in (("Anal", "1", True), ("big tits", "2", False), ("Big_Tits", "2", False),
                                   ("x%", "3", True), ("Big Boobs", "4", False)):
        assert cache.tag_found_by_name(name) == winner
        assert cache.found_by_alias(winner, name) is by_alias, name


def test_stash_ids_of_lists_one_endpoints_links():
    cache = TagCache.from_tags([tag(1, "Anal", stash_ids=[(STASHDB, "a"), (OTHER_BOX, "f"), (STASHDB, "b")])])
    assert cache.stash_ids_of("1", STASHDB) == ("a", "b")
    assert cache.stash_ids_of("1", OTHER_BOX) == ("f",)
    assert cache.stash_ids_of("2", STASHDB) == ()


def test_build_reads_all_tags_from_the_local_stash():
    class LocalStash:
        def all_tags(self):
            return [tag(7, "Anal")]

    cache = TagCache.build(LocalStash())
    assert match_stashdb_tag_to_local({"name": "ANAL"}, cache, STASHDB) == "7"


# --- scraping.excludeTagPatterns ---------------------------------------------


@pytest.mark.parametrize(
    "patterns, name, excluded",
    [
        (["^Anal$"], "anal", True),  # the pattern is lower-cased too
        (["anal"], "ANAL CREAMPIE", True),  # unanchored search
        (["^anal$"], "Anal Creampie", False),
        ([r"^\d+p$"], "1080P", True),
        ([r"^\d+p$"], "٣p", False),  # Go's \d is ASCII only
        ([r"available\z"], "4K Available", True),  # Go's \z
        (["a$"], "a\n", False),  # Go's $ is the end of the text
        ([r"^istanbul$"], "İSTANBUL", True),  # Go lowers U+0130 to a plain i
        (["^σασ$"], "ΣΑΣ", True),  # Go has no final sigma
        (["^σας$"], "ΣΑΣ", False),
        (["[[:digit:]]k"], "4K", True),  # POSIX class
        ([], "Anal", False),
        (None, "Anal", False),
    ],
)
def test_tag_excluder(patterns, name, excluded):
    assert TagExcluder(patterns).excludes(name) is excluded


def test_an_invalid_pattern_is_warned_once_and_ignored(caplog):
    with caplog.at_level(logging.WARNING, logger="tagManager.matching"):
        excluder = TagExcluder(["(unclosed", "^solo$", "(unclosed"])
    warnings = [r for r in caplog.records if r.name == "tagManager.matching"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "(unclosed" in warnings[0].getMessage()
    assert excluder.invalid_patterns == ("(unclosed",)
    assert excluder.excludes("Solo") is True
    assert excluder.excludes("(unclosed") is False


@pytest.mark.parametrize("pattern", [r"(?=a)", r"(a)\1", r"a*+", r"\u0041", r"(?>a)"])
def test_patterns_go_rejects_are_invalid_even_where_python_accepts_them(pattern, caplog):
    with caplog.at_level(logging.WARNING, logger="tagManager.matching"):
        excluder = TagExcluder([pattern])
    assert excluder.invalid_patterns == (pattern,)
    assert excluder.excludes("aaa") is False
