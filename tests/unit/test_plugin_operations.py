"""The page's operations in plugin mode, as runPluginOperation starts them: stdin JSON in,
one JSON answer out, Stash and StashDB answered by `responses` (tests/unit/plugin_harness.py).

Each test first runs the sync (a dry run) so that a report exists, as on a real machine.
"""
from __future__ import annotations

import json

import pytest

from tests.unit.plugin_harness import STASHDB_URL, FakeServers, assert_stash_protocol, log_lines, run_plugin

OTHER_ENDPOINT = "https://fansdb.cc/graphql"
BIG_TITS = {"id": "t-big", "name": "Big Tits", "description": "Large natural or enhanced breasts.",
            "aliases": ["Large Breasts", "Big Boobs", " big boobs ", "Big Tits"], "deleted": False,
            "category": {"name": "Body"}}
STOCKINGS = {"id": "t-stockings", "name": "Stockings", "aliases": [], "deleted": False,
             "category": {"name": "Clothing"}}
ATM = {"id": "t-atm", "name": "Ass-to-Mouth", "aliases": ["ATM"], "deleted": False, "category": {"name": "Action"}}


def servers_with_unmatched_tags(**overrides) -> FakeServers:
    servers = FakeServers(settings={}, scene_count=3, **overrides)
    servers.stashdb_tags += [BIG_TITS, STOCKINGS, ATM]
    servers.local_tags.update({
        "3": local_tag("3", "Large Breasts"),
        "4": local_tag("4", "Stocking", stash_ids=[{"endpoint": OTHER_ENDPOINT, "stash_id": "f-1"}], aliases=["Nylons"]),
        "5": local_tag("5", "Ass to Mouth", stash_ids=[{"endpoint": STASHDB_URL, "stash_id": "t-someone-else"}]),
        "6": local_tag("6", "Clothing"),
    })
    return servers


def local_tag(tag_id, name, *, aliases=(), stash_ids=()):
    return {"id": tag_id, "name": name, "sort_name": None, "description": None, "aliases": list(aliases),
            "stash_ids": [dict(s, updated_at="2024-01-01T00:00:00Z") for s in stash_ids], "parents": []}


def operation(servers, tmp_path, **args):
    """(exit code, the JSON answer, stderr) of one operation."""
    code, stdout, stderr = run_plugin(servers, tmp_path, args=args)
    return code, assert_stash_protocol(stdout, stderr), stderr


@pytest.fixture
def servers(tmp_path):
    servers = servers_with_unmatched_tags()
    code, _, _ = run_plugin(servers, tmp_path)  # the dry run writes the report
    assert code == 0 and servers.mutations == []
    return servers


# -- unmatched_tags ------------------------------------------------------------------

def test_unmatched_tags_lists_the_reports_tags_with_their_scenes_and_details(servers, tmp_path):
    asked_before = len(servers.stashdb_ops)
    code, result, _ = operation(servers, tmp_path, mode="unmatched_tags")
    assert code == 0 and result["error"] is None
    output = result["output"]
    assert output["endpoint"] == STASHDB_URL and output["dry_run"] is True and output["finished_at"]
    assert output["summary"]["outcomes"]["would_update"] == 3
    by_name = {tag["name"]: tag for tag in output["tags"]}
    assert set(by_name) == {"Big Tits", "Stockings", "Ass-to-Mouth"}
    big = by_name["Big Tits"]
    assert big["stashdb_id"] == "t-big" and big["scenes"] == 3 and "scene_ids" not in big
    scenes = operation(servers, tmp_path, mode="tag_scenes", stashdb_ids="t-big")[1]["output"]
    assert scenes["scene_ids"] == ["1", "2", "3"] and scenes["total"] == 3 and scenes["complete"] is True
    assert big["description"] == BIG_TITS["description"] and big["category"] == "Body"
    assert big["aliases"] == BIG_TITS["aliases"]
    assert len(servers.stashdb_ops) == asked_before  # listing asks StashDB nothing


def test_each_suggestion_says_why(servers, tmp_path):
    tags = {t["name"]: t for t in operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]["tags"]}
    (big,) = tags["Big Tits"]["suggestions"]
    assert (big["tag_id"], big["name"]) == ("3", "Large Breasts") and "alias" in big["reason"]
    (stocking,) = tags["Stockings"]["suggestions"]
    assert stocking["tag_id"] == "4" and "singular/plural" in stocking["reason"]
    (atm,) = tags["Ass-to-Mouth"]["suggestions"]
    assert atm["tag_id"] == "5" and "already linked to StashDB tag t-someone-else" in atm["reason"]
    assert big["score"] > stocking["score"] > atm["score"]


def test_resolved_tags_drop_out_of_the_listing(servers, tmp_path):
    servers.local_tags["4"]["stash_ids"].append({"endpoint": STASHDB_URL, "stash_id": "t-stockings"})
    servers.exclude_tag_patterns.append("^big tits$")
    output = operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]
    assert [t["name"] for t in output["tags"]] == ["Ass-to-Mouth"] and output["resolved_since_report"] == 2


def test_the_newest_whole_library_report_is_chosen_over_a_targeted_rerun(servers, tmp_path):
    code, _, _ = run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags", "scene_ids": "2"})
    assert code == 0
    reports = sorted(p.name for p in (tmp_path / "plugin_data" / "tagManager" / "reports").iterdir())
    assert len(reports) == 2
    output = operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]
    assert output["tags"][0]["scenes"] == 3
    targeted = [name for name in reports if name != output["report"]]
    named = operation(servers, tmp_path, mode="unmatched_tags", report=targeted[0])[1]["output"]
    assert named["report"] == targeted[0] and named["tags"][0]["scenes"] == 1
    scenes = operation(servers, tmp_path, mode="tag_scenes", stashdb_ids=["t-big"], report=targeted[0])[1]["output"]
    assert scenes["scene_ids"] == ["2"]


# -- link_tag ------------------------------------------------------------------------

def test_link_tag_adds_the_stash_id_and_the_alias_keeping_everything_else(servers, tmp_path):
    code, result, _ = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4")
    assert code == 0 and result["error"] is None
    (write,) = servers.tag_writes
    assert write[0] == "tagUpdate"
    assert write[1]["stash_ids"] == [{"endpoint": OTHER_ENDPOINT, "stash_id": "f-1", "updated_at": "2024-01-01T00:00:00Z"},
                                     {"endpoint": STASHDB_URL, "stash_id": "t-stockings"}]
    assert write[1]["aliases"] == ["Nylons", "Stockings"]
    assert result["output"]["alias_added"] == "Stockings" and result["output"]["already_linked"] is False
    listed = operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]["tags"]
    assert "Stockings" not in [t["name"] for t in listed]


def test_link_tag_without_alias_when_asked_or_when_another_tag_holds_the_name(servers, tmp_path):
    operation(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4", add_alias=False)
    assert "aliases" not in servers.tag_writes[-1][1]
    servers.local_tags["6"] = local_tag("6", "Other", aliases=["Big Tits"])
    output = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-big", tag_id="3", add_alias=True)[1]["output"]
    assert output["alias_added"] is None and "'Other' (id 6) has it as an alias" in output["alias_note"]
    assert "aliases" not in servers.tag_writes[-1][1]


def test_link_tag_refuses_a_tag_linked_elsewhere_for_this_endpoint_unless_replace(servers, tmp_path):
    code, result, _ = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-atm", tag_id="5")
    assert code == 1 and "already linked to StashDB tag t-someone-else" in result["error"]
    assert servers.tag_writes == []
    code, result, _ = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-atm", tag_id="5", replace=True)
    assert code == 0 and result["output"]["replaced_stash_ids"] == ["t-someone-else"]
    assert servers.local_tags["5"]["stash_ids"] == [{"endpoint": STASHDB_URL, "stash_id": "t-atm"}]


def test_link_tag_a_second_time_writes_nothing(servers, tmp_path):
    operation(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4")
    code, result, _ = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4")
    assert code == 0 and result["output"]["already_linked"] is True and result["output"]["written"] is False
    assert len(servers.tag_writes) == 1


@pytest.mark.parametrize("args, message", [
    ({"stashdb_id": "t-stockings", "tag_id": "99"}, "Stash has no tag with id '99'"),
    ({"stashdb_id": "t-nowhere", "tag_id": "4"}, "StashDB has no tag t-nowhere"),
])
def test_link_tag_with_an_unknown_id_names_it_and_writes_nothing(servers, tmp_path, args, message):
    code, result, stderr = operation(servers, tmp_path, mode="link_tag", **args)
    assert code == 1 and message in result["error"] and result["output"] is None
    assert servers.tag_writes == [] and log_lines(stderr, "e") == [result["error"]]


# -- create_tags ---------------------------------------------------------------------

def test_create_tags_copies_stashdb_details_and_drops_colliding_aliases(servers, tmp_path):
    code, result, _ = operation(servers, tmp_path, mode="create_tags", stashdb_ids="t-big, t-anal")
    assert code == 0 and result["error"] is None
    big, anal = result["output"]["tags"]
    assert big["status"] == "created" and big["aliases"] == ["Big Boobs"]
    assert {d["alias"] for d in big["dropped_aliases"]} == {"Large Breasts", "big boobs", "Big Tits"}
    assert "'Large Breasts' (id 3) has it as its name" in big["dropped_aliases"][0]["reason"]
    created = servers.local_tags[big["tag_id"]]
    assert created["description"] == BIG_TITS["description"]
    assert created["stash_ids"] == [{"endpoint": STASHDB_URL, "stash_id": "t-big"}]
    assert anal["status"] == "skipped" and "'Anal' (id 1) already matches it" in anal["reason"]
    assert result["output"]["created"] == 1 and result["output"]["skipped"] == 1


def test_create_tags_under_the_category_tag_found_or_made(servers, tmp_path):
    args = {"mode": "create_tags", "stashdb_ids": ["t-big", "t-stockings"], "parent_from_category": "true"}
    big, stockings = operation(servers, tmp_path, **args)[1]["output"]["tags"]
    assert big["status"] == stockings["status"] == "created"
    assert big["parent"]["name"] == "Body" and big["parent"]["created"] is True
    assert stockings["parent"] == {"tag_id": "6", "name": "Clothing", "created": False}
    assert servers.local_tags[big["tag_id"]]["parents"] == [{"id": big["parent"]["tag_id"]}]
    assert servers.local_tags[stockings["tag_id"]]["parents"] == [{"id": "6"}]
    assert [t["name"] for t in servers.local_tags.values()].count("Body") == 1


def test_create_tags_asks_stashdb_only_for_tags_the_report_lacks(servers, tmp_path):
    servers.stashdb_tag_catalogue["t-new"] = {"id": "t-new", "name": "Rope", "aliases": ["Shibari"],
                                             "description": "Tied up.", "deleted": False, "category": None}
    servers.stashdb_tag_catalogue["t-gone"] = {"id": "t-gone", "name": "Old", "deleted": True}
    before = len(servers.stashdb_ops)
    output = operation(servers, tmp_path, mode="create_tags", stashdb_ids=["t-stockings", "t-new", "t-gone", "t-x"])[1]
    stockings, rope, gone, unknown = output["output"]["tags"]
    assert servers.stashdb_ops[before:] == ["TagManagerFindTagsByIds"]
    assert stockings["status"] == "created" and rope["status"] == "created" and rope["aliases"] == ["Shibari"]
    assert gone["status"] == "skipped" and "deleted" in gone["reason"]
    assert unknown["status"] == "skipped" and unknown["reason"] == "StashDB has no tag t-x"


def test_a_tag_the_sync_could_not_describe_is_listed_by_name_and_described_by_create_tags(tmp_path):
    """The sync's findTag request failed: the report knows the tags by id and name only; the
    listing shows the names, and create_tags asks StashDB instead of creating a bare tag."""
    servers = servers_with_unmatched_tags(
        stashdb_fault=lambda body: (502, {}, "") if body.get("operationName") == "TagManagerFindTagsByIds" else None)
    assert run_plugin(servers, tmp_path)[0] == 0
    assert servers.stashdb_ops.count("TagManagerFindTagsByIds") == 4  # one request, its three retries
    listed = {tag["name"]: tag for tag in operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]["tags"]}
    assert set(listed) == {"Big Tits", "Stockings", "Ass-to-Mouth"}
    assert listed["Big Tits"]["description"] is None and listed["Big Tits"]["aliases"] == []
    servers.stashdb_fault = lambda body: None
    (big,) = operation(servers, tmp_path, mode="create_tags", stashdb_ids="t-big")[1]["output"]["tags"]
    assert big["status"] == "created" and big["aliases"] == ["Big Boobs"]
    assert servers.local_tags[big["tag_id"]]["description"] == BIG_TITS["description"]
    assert servers.stashdb_ops[-1] == "TagManagerFindTagsByIds"


def test_a_name_another_tag_holds_once_trimmed_is_skipped_with_a_hint_to_link(servers, tmp_path):
    # The matcher compares " Hosiery " as it is; tagCreate would trim it and collide.
    servers.local_tags["7"] = local_tag("7", "Hosiery")
    servers.stashdb_tag_catalogue["t-hosiery"] = {"id": "t-hosiery", "name": " Hosiery ", "deleted": False}
    (hosiery,) = operation(servers, tmp_path, mode="create_tags", stashdb_ids="t-hosiery")[1]["output"]["tags"]
    assert hosiery["status"] == "skipped"
    assert "'Hosiery' (id 7) has it as its name" in hosiery["reason"] and "link that tag" in hosiery["reason"]
    assert servers.tag_writes == []


# -- exclude_tag ---------------------------------------------------------------------

def test_exclude_tag_appends_one_exact_pattern_and_keeps_the_others(servers, tmp_path):
    servers.exclude_tag_patterns[:] = ["^fansdb", "(?i)watermark"]
    code, result, _ = operation(servers, tmp_path, mode="exclude_tag", name="Ass-to-Mouth (ATM)")
    assert code == 0
    output = result["output"]
    assert output["pattern"] == r"^Ass-to-Mouth \(ATM\)$" and output["written"] is True
    assert output["patterns"] == ["^fansdb", "(?i)watermark", r"^Ass-to-Mouth \(ATM\)$"]
    assert "Identify" in output["note"] and "Tagger" in output["note"]
    again = operation(servers, tmp_path, mode="exclude_tag", name="ass-to-mouth (atm)")[1]["output"]
    assert again["written"] is False and again["already_excluded_by"] == r"^Ass-to-Mouth \(ATM\)$"
    assert len(servers.tag_writes) == 1


def another_client_undoes_the_writes(servers, times: int, undo) -> None:
    """After each of tagManager's first `times` writes, another client's write from an
    older read (`undo`) lands before tagManager's next request (its read-back)."""
    count = {"written": 0, "undone": 0}

    def stash_fault(query, variables):
        if "TagManagerConfigureScraping" in query or "TagManagerTagUpdate" in query:
            count["written"] += 1
        elif count["undone"] < min(count["written"], times):
            count["undone"] += 1
            undo()

    servers.stash_fault = stash_fault


def test_exclude_tag_writes_again_when_another_write_undid_its_pattern(servers, tmp_path):
    servers.exclude_tag_patterns[:] = ["^fansdb"]
    another_client_undoes_the_writes(servers, 1, lambda: servers.exclude_tag_patterns.__setitem__(
        slice(None), ["^fansdb", "^user"]))
    code, result, stderr = operation(servers, tmp_path, mode="exclude_tag", name="Watermark")
    assert code == 0 and result["output"]["written"] is True
    assert servers.exclude_tag_patterns == ["^fansdb", "^user", "^Watermark$"]
    assert len(servers.tag_writes) == 2
    assert any("lost ['^Watermark$'] right after tagManager wrote them" in line for line in log_lines(stderr, "w"))


def test_exclude_tag_gives_up_after_three_writes_another_client_undid(servers, tmp_path):
    servers.exclude_tag_patterns[:] = ["^fansdb"]
    another_client_undoes_the_writes(servers, 3, lambda: servers.exclude_tag_patterns.__setitem__(
        slice(None), ["^fansdb"]))
    code, result, _ = operation(servers, tmp_path, mode="exclude_tag", name="Watermark")
    assert code == 1 and "kept changing" in result["error"] and "after 3 writes they still lack ['^Watermark$']" \
        in result["error"]
    assert len(servers.tag_writes) == 3


def test_link_tag_writes_again_when_another_write_undid_its_link(servers, tmp_path):
    stale = json.loads(json.dumps(servers.local_tags["4"]))
    stale["aliases"].append("Hosiery Too")      # the other client's own edit, made on an older read
    another_client_undoes_the_writes(servers, 1, lambda: servers.local_tags.__setitem__("4", stale))
    code, result, _ = operation(servers, tmp_path, mode="link_tag", stashdb_id="t-stockings", tag_id="4")
    assert code == 0 and result["output"]["written"] is True and result["output"]["alias_added"] == "Stockings"
    tag = servers.local_tags["4"]
    assert [s["stash_id"] for s in tag["stash_ids"]] == ["f-1", "t-stockings"]
    assert tag["aliases"] == ["Nylons", "Hosiery Too", "Stockings"]
    assert [w[0] for w in servers.tag_writes] == ["tagUpdate", "tagUpdate"]


# -- bad input -----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"mode": "link_tag", "stashdb_id": "t-big"}, "link_tag: missing argument(s) tag_id"),
    ({"mode": "link_tag", "stashdb_id": "t-big", "tag_id": "four"}, "tag_id must be a Stash tag id"),
    ({"mode": "link_tag", "stashdb_id": "t-big", "tag_id": "4", "add_alias": "maybe"}, "add_alias must be one of true/yes/1/on or false/no/0/off"),
    ({"mode": "create_tags", "stashdb_ids": 7}, "stashdb_ids must be a list"),
    ({"mode": "create_tags", "stashdb_ids": " , "}, "stashdb_ids must name between 1 and 1000"),
    ({"mode": "exclude_tag", "name": "x", "pattern": "y"}, "unknown argument(s) 'pattern'"),
    ({"mode": "unmatched_tags", "report": "../../etc"}, "must be the name of a report folder"),
    ({"mode": "unmatched_tags", "report": "20990101-000000-sync"}, "no report named '20990101-000000-sync'"),
    ({"mode": "resolve_everything"}, "Unknown mode 'resolve_everything'"),
])
def test_bad_input_is_refused_with_its_reason_and_nothing_written(servers, tmp_path, args, message):
    code, result, _ = operation(servers, tmp_path, **args)
    assert code == 1 and message in result["error"] and result["output"] is None
    assert servers.tag_writes == []


def test_a_list_of_args_is_not_a_map(servers, tmp_path):
    code, stdout, stderr = run_plugin(servers, tmp_path, args=["mode", "link_tag"])
    assert code == 1 and "args must be a map" in json.loads(stdout)["error"]


def test_unmatched_tags_without_any_report_says_to_run_the_sync(tmp_path):
    code, result, _ = operation(servers_with_unmatched_tags(), tmp_path, mode="unmatched_tags")
    assert code == 1 and "run the sync task" in result["error"]


def test_unmatched_tags_lists_the_scenes_to_rematch_with_their_stale_or_unknown_stash_ids(tmp_path):
    servers = servers_with_unmatched_tags(with_fingerprints=False)
    known = servers._stashdb_scene
    servers._stashdb_scene = lambda stash_id: (None if stash_id == "sdb-2" else
                                               {**known(stash_id), "deleted": stash_id == "sdb-3"})
    assert run_plugin(servers, tmp_path)[0] == 0
    output = operation(servers, tmp_path, mode="unmatched_tags")[1]["output"]
    assert output["rematch_scenes"] == [
        {"scene_id": "2", "title": "Scene 2", "stashdb_id": "sdb-2", "outcome": "not_found"},
        {"scene_id": "3", "title": "Scene 3", "stashdb_id": "sdb-3", "outcome": "stale_stash_id"},
    ]


def test_the_report_reader_names_the_sync_outcomes_that_ask_for_a_rematch():
    from report_reader import REMATCH_OUTCOMES
    from sync_stats import Outcome

    assert REMATCH_OUTCOMES == (Outcome.STALE.value, Outcome.NOT_FOUND.value)
