"""unmatched_tags a page at a time, and tag_scenes: bounded answers on a report written by
the real RunReport, the local tags answered from memory (the listing asks Stash nothing else)."""
from __future__ import annotations

import json

import pytest

import report_reader
import unmatched_listing
from plugin_operations import OperationContext, parse_operation_args, run_operation
from run_config import ConfigError
from run_report import RunReport
from scene_tag_plan import UnmatchedTag
from stashdb_tag import StashDBTag

ENDPOINT = "https://stashdb.org/graphql"


class LocalTags:
    """The one thing the listing asks the local Stash: its tags."""

    def __init__(self, *tags: dict):
        self.tags = [{"id": str(i), "name": name, "sort_name": None, "aliases": [], "stash_ids": [], **extra}
                     for i, (name, extra) in enumerate(tags, start=1)]

    def all_tags(self) -> list[dict]:
        return self.tags


def write_report(reports, scenes: dict[str, list[StashDBTag]], outcomes: dict[str, str] | None = None,
                 targeted: bool = False):
    report = RunReport(reports, run_info={"endpoint": ENDPOINT, "dry_run": True, "targeted": targeted})
    for scene_id, tags in scenes.items():
        outcome = (outcomes or {}).get(scene_id, "would_update")
        report.scene(scene_id, f"Scene {scene_id}", f"sdb-{scene_id}", outcome, [], "",
                     [UnmatchedTag(tag.name, tag.stashdb_id, tag) for tag in tags])
    return report.finish({"scenes_total": len(scenes)}, [])


def listing(tmp_path, local=None, patterns=(), **args) -> dict:
    context = OperationContext(local or LocalTags(), {"scraping": {"excludeTagPatterns": list(patterns)}}, ENDPOINT,
                               tmp_path, lambda: pytest.fail("the listing never asks StashDB"))
    mode = args.pop("mode", "unmatched_tags")
    return run_operation(mode, parse_operation_args(mode, args), context)


def tag(number: int, name: str | None = None, **extra) -> StashDBTag:
    return StashDBTag(f"t-{number:03d}", name or f"Tag {number:03d}", **extra)


def test_a_page_of_open_tags_with_counts_and_totals_most_scenes_first(tmp_path):
    tags = [tag(n) for n in range(120)]
    # tag n is lacked by n % 7 + 1 scenes: counts repeat, so names break the ties
    write_report(tmp_path, {str(s): [t for n, t in enumerate(tags) if s <= n % 7] for s in range(7)})
    first = listing(tmp_path)
    assert (first["total"], first["unfiltered_total"], first["offset"], first["limit"]) == (120, 120, 0, 50)
    second = listing(tmp_path, offset=50, limit=50)
    last = listing(tmp_path, offset="100", limit="50")
    rows = first["tags"] + second["tags"] + last["tags"]
    assert [len(page["tags"]) for page in (first, second, last)] == [50, 50, 20]
    expected = sorted(tags, key=lambda t: (-(int(t.stashdb_id[2:]) % 7 + 1), t.name))
    assert [row["stashdb_id"] for row in rows] == [t.stashdb_id for t in expected]
    assert rows[0]["scenes"] == 7 and rows[-1]["scenes"] == 1
    assert set(rows[0]) == {"stashdb_id", "name", "description", "aliases", "category", "scenes", "suggestions"}
    assert listing(tmp_path, offset=500)["tags"] == []


def test_the_answer_does_not_grow_with_the_reports_scenes(tmp_path):
    tags = [tag(n, description="d" * 200, aliases=("Alias A", "Alias B")) for n in range(60)]
    sizes = {}
    for scenes in (1000, 8000):
        reports = tmp_path / str(scenes)
        write_report(reports, {str(s): tags[s % 40:s % 40 + 20] for s in range(1, scenes + 1)},
                     {str(s): "not_found" for s in range(1, scenes + 1, 7)})
        answer = listing(reports)
        assert len(answer["tags"]) == 50 and answer["total"] == 59   # tags 0 to 58
        sizes[scenes] = len(json.dumps(answer))
    assert sizes[8000] < sizes[1000] * 1.05 and sizes[8000] < 60_000, sizes


def test_ties_sort_by_name_ignoring_case_then_by_id(tmp_path):
    write_report(tmp_path, {"1": [tag(1, "rope"), tag(2, "Anal"), tag(3, "Big Tits"), tag(4, "Rope")],
                            "2": [tag(1, "rope"), tag(3, "Big Tits"), tag(4, "Rope")]})
    assert [row["stashdb_id"] for row in listing(tmp_path)["tags"]] == ["t-003", "t-001", "t-004", "t-002"]


def test_the_filter_matches_name_or_alias_ignoring_case_and_a_category(tmp_path):
    stockings = tag(1, "Stockings", category="Clothing", aliases=("Nylons",))
    rope, watermark = tag(2, "Rope", category="Action"), tag(3, "Watermark")
    write_report(tmp_path, {"1": [stockings, rope, watermark]})

    def ids(**args):
        return [row["stashdb_id"] for row in listing(tmp_path, **args)["tags"]]

    assert ids(text="NYLON") == ["t-001"]
    assert ids(text=" rope ") == ["t-002"]
    assert ids(category="Action") == ["t-002"]
    assert ids(category="") == ["t-003"]          # "" is the tags without a category
    assert ids(text="s", category="Action") == []
    assert ids(text="") == ["t-002", "t-001", "t-003"]  # Rope, Stockings, Watermark
    answer = listing(tmp_path, text="o", limit=1)
    assert (answer["total"], answer["unfiltered_total"], answer["filter"]) == (2, 3, {"text": "o", "category": None})
    assert answer["categories"] == ["", "Action", "Clothing"] and answer["categories_total"] == 3


def test_suggestions_are_made_for_the_answered_page_only(tmp_path, monkeypatch):
    write_report(tmp_path, {"1": [tag(n) for n in range(30)] + [tag(99, "Stockings")]})
    asked = []
    real = unmatched_listing.SuggestionIndex.suggest
    monkeypatch.setattr(unmatched_listing.SuggestionIndex, "suggest",
                        lambda self, name, aliases: asked.append(name) or real(self, name, aliases))
    answer = listing(tmp_path, LocalTags(("Stocking", {})), text="stock")
    assert asked == ["Stockings"]
    assert [s["name"] for s in answer["tags"][0]["suggestions"]] == ["Stocking"]


def test_resolved_tags_leave_the_listing_and_are_counted(tmp_path):
    write_report(tmp_path, {"1": [tag(1, "Anal"), tag(2, "Rope"), tag(3, "Gag")]})
    answer = listing(tmp_path, LocalTags(("anal", {})), patterns=["^gag$"])
    assert [row["name"] for row in answer["tags"]] == ["Rope"]
    assert (answer["resolved_since_report"], answer["total"]) == (2, 1)


def test_a_scene_with_two_rows_counts_once(tmp_path):
    rope = tag(1, "Rope")
    folder = write_report(tmp_path, {"5": [rope], "6": [rope]})
    scenes = folder / "scenes.json"
    lines = scenes.read_text(encoding="utf-8").splitlines()
    scenes.write_text("\n".join([*lines[:2], lines[1], *lines[2:]]) + "\n", encoding="utf-8")  # scene 5 twice
    assert listing(tmp_path)["tags"][0]["scenes"] == 2
    assert listing(tmp_path, mode="tag_scenes", stashdb_ids="t-001")["scene_ids"] == ["5", "6"]


def test_tag_scenes_answers_each_scene_once_in_id_order_and_bounded(tmp_path, monkeypatch):
    rope, gag, other = tag(1, "Rope"), tag(2, "Gag"), tag(3, "Other")
    write_report(tmp_path, {"10": [rope], "9": [rope, gag], "100": [gag], "7": [other], "8": []})
    answer = listing(tmp_path, mode="tag_scenes", stashdb_ids=["t-001", "t-002"])
    assert answer["scene_ids"] == ["9", "10", "100"] and answer["total"] == 3
    assert answer["complete"] is True and answer["note"] is None
    monkeypatch.setattr(unmatched_listing, "MAX_TAG_SCENES", 2)
    bounded = listing(tmp_path, mode="tag_scenes", stashdb_ids="t-001,t-002")
    assert bounded["scene_ids"] == ["9", "10"] and bounded["total"] == 3 and bounded["complete"] is False
    assert "3 scenes carry these tags" in bounded["note"] and "whole library" in bounded["note"]


def test_the_scenes_to_rematch_are_counted_and_the_first_hundred_listed(tmp_path):
    scenes = {str(n): [] for n in range(1, 251)}
    write_report(tmp_path, scenes, {str(n): "not_found" if n % 2 else "stale_stash_id" for n in range(1, 251)})
    answer = listing(tmp_path)
    assert answer["rematch_total"] == 250 and len(answer["rematch_scenes"]) == 100
    assert answer["rematch_scenes"][0] == {"scene_id": "1", "title": "Scene 1", "stashdb_id": "sdb-1",
                                           "outcome": "not_found"}


def test_a_report_naming_more_distinct_tags_than_are_tracked_stays_bounded(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(report_reader, "MAX_TRACKED_TAGS", 5)
    write_report(tmp_path, {"1": [tag(n) for n in range(8)], "2": [tag(0)]})
    answer = listing(tmp_path)
    assert answer["unfiltered_total"] == 5 and answer["untracked_tags"] == 3
    assert answer["tags"][0] == {**answer["tags"][0], "stashdb_id": "t-000", "scenes": 2}
    assert any("more than 5 distinct StashDB tags" in r.getMessage() for r in caplog.records)


def test_the_newest_run_of_any_kind_is_named_for_the_page(tmp_path):
    write_report(tmp_path, {"1": [tag(1)]})
    folder = write_report(tmp_path, {"1": [tag(1)]}, targeted=True)
    run = json.loads((folder / "run.json").read_text())
    answer = listing(tmp_path)
    assert answer["report"] != folder.name   # the listing is of the whole-library run
    assert answer["newest_run"] == {"report": folder.name, "dry_run": run["dry_run"], "targeted": True,
                                    "finished": True}


@pytest.mark.parametrize("args, message", [
    ({"offset": -1}, "offset must be a whole number from 0"),
    ({"offset": "ten"}, "offset must be a whole number"),
    ({"offset": True}, "offset must be a whole number"),
    ({"limit": 0}, "limit must be a whole number from 1 to 200"),
    ({"limit": 201}, "limit must be a whole number from 1 to 200"),
    ({"limit": ""}, "limit must be a whole number"),
    ({"text": ["rope"]}, "text must be a text"),
    ({"category": 7}, "category must be a text"),
    ({"sort": "name"}, "unknown argument(s) 'sort'"),
])
def test_paging_and_filter_arguments_are_refused_when_garbled(args, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_operation_args("unmatched_tags", args)


def test_tag_scenes_needs_the_tags_and_takes_at_most_a_thousand():
    with pytest.raises(ConfigError, match="missing argument"):
        parse_operation_args("tag_scenes", {"stashdb_ids": []})
    with pytest.raises(ConfigError, match="between 1 and 1000"):
        parse_operation_args("tag_scenes", {"stashdb_ids": [f"t-{n}" for n in range(1001)]})
