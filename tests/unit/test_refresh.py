"""The refresh's choices: what StashDB says changed since the last whole-library report (paged
back to its start less the margin), which tags changed, which scenes are asked and which
answered from the report, and when the full sync is needed instead.

StashDB here is a small stand-in that pages a list of (id, updated) as stash-box does
(newest first) and answers findTag from a dict; the code under test is the real one.
"""
from __future__ import annotations

import json

import pytest

from report_memory import choose_memory, read_memory
from run_config import ConfigError
from run_report import RunReport
from scene_refresh import (SAFETY_MARGIN_SECONDS, FullRunNeeded, RefreshingStashDB, memory_for_refresh,
                           plan_refresh)
from stashdb_changes import LIVE_TAGS_OPERATION, PagingCannotReach, changed_scene_ids, changed_tags, parse_stashbox_time
from tag_manager import MODE_REFRESH_SCENE_TAGS, overrides_from_task_args

ENDPOINT = "https://stashdb.org/graphql"
T0 = 1_780_000_000.0          # the memory report's start


def iso(epoch: float) -> str:
    """A time as stash-box writes it (the simulator's rule, held against the real server)."""
    from datetime import datetime, timezone

    from tests.simulators.scene_changes import format_stashbox_time

    return format_stashbox_time(datetime.fromtimestamp(epoch, timezone.utc))


class PagingStashDB:
    """Pages `scenes` ([(id, epoch)], newest first) as queryScenes does; `tags`: id -> answer."""

    def __init__(self, scenes=(), tags=None, counts=None):
        self.scenes = list(scenes)
        self.tags = tags or {}
        self.counts = list(counts or [])     # count to answer per page, else len(scenes)
        self.request_count = 0
        self.pages_asked: list[dict] = []
        self.ids_asked: list[list[str]] = []
        self.rate_limiter = None

    def query_data(self, operation, query, variables):
        self.request_count += 1
        page = variables["input"]
        if operation == LIVE_TAGS_OPERATION:
            live = [{"id": tag["id"], "name": tag["name"]} for tag in self.tags.values() if not tag["deleted"]]
            start = (page["page"] - 1) * page["per_page"]
            return {"queryTags": {"count": len(live), "tags": live[start:start + page["per_page"]]}}
        assert (page["sort"], page["direction"]) == ("UPDATED_AT", "DESC")
        self.pages_asked.append(page)
        start = (page["page"] - 1) * page["per_page"]
        count = self.counts.pop(0) if self.counts else len(self.scenes)
        return {"queryScenes": {"count": count, "scenes": [
            {"id": scene_id, "updated": updated if isinstance(updated, str) or updated is None else iso(updated)}
            for scene_id, updated in self.scenes[start:start + page["per_page"]]]}}

    def find_scenes_by_ids(self, ids):
        self.request_count += 1
        self.ids_asked.append(list(ids))
        return [{"id": i, "deleted": False, "tags": [{"id": "fresh", "name": "Fresh"}]} for i in ids]


# -- StashDB's time ----------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2026-05-28T20:26:40Z", 1_780_000_000.0),
    ("2026-05-28T20:26:40.5Z", 1_780_000_000.5),
    ("2026-05-28T20:26:40.123456789Z", 1_780_000_000.123456789),
    ("2026-05-28T22:26:40+02:00", 1_780_000_000.0),
])
def test_stashbox_times_are_read_as_go_writes_them(text, expected):
    assert parse_stashbox_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", [None, "", "2026-05-28 20:26:40Z", "2026-05-28T20:26:40", "yesterday", 17,
                                  "2026-13-28T20:26:40Z"])
def test_anything_else_is_no_time(text):
    assert parse_stashbox_time(text) is None


# -- paging back -------------------------------------------------------------------------

def newest_first(*updates):
    return [(f"s{i}", when) for i, when in enumerate(updates)]


def test_paging_stops_at_the_first_scene_updated_before_the_time():
    stashdb = PagingStashDB(newest_first(T0 + 50, T0 + 40, T0 + 30, T0 + 20, T0 - 1, T0 - 2, T0 - 3))
    changed = changed_scene_ids(stashdb, T0, max_pages=10, page_size=2)
    assert changed.ids == {"s0", "s1", "s2", "s3"} and changed.pages == 3
    assert [page["page"] for page in stashdb.pages_asked] == [1, 2, 3]


def test_a_scene_updated_exactly_at_the_time_counts_as_changed():
    stashdb = PagingStashDB(newest_first(T0 + 1, T0, T0 - 0.000001))
    assert changed_scene_ids(stashdb, T0, max_pages=10, page_size=10).ids == {"s0", "s1"}


def test_paging_ends_with_stashdbs_last_scene():
    stashdb = PagingStashDB(newest_first(T0 + 3, T0 + 2, T0 + 1))
    changed = changed_scene_ids(stashdb, T0, max_pages=10, page_size=2)
    assert changed.ids == {"s0", "s1", "s2"} and changed.pages == 2


@pytest.mark.parametrize("scenes, words", [
    (newest_first(T0 + 1, T0 + 5, T0 - 9), "not sorted newest first"),
    ([("s0", T0 + 1), ("s1", None)], "without its id or update time"),
    ([("s0", T0 + 1), ("s1", "last week")], "without its id or update time"),
])
def test_an_answer_that_cannot_be_trusted_stops_the_paging(scenes, words):
    with pytest.raises(PagingCannotReach, match=words):
        changed_scene_ids(PagingStashDB(scenes), T0, max_pages=10, page_size=10)


def test_more_pages_than_the_full_sync_costs_stop_the_paging():
    stashdb = PagingStashDB(newest_first(*(T0 + 100 - i for i in range(30))))
    with pytest.raises(PagingCannotReach, match="more requests than the full sync"):
        changed_scene_ids(stashdb, T0, max_pages=3, page_size=5)
    assert len(stashdb.pages_asked) == 3


def test_a_count_that_falls_while_paging_starts_it_again_once_then_gives_up():
    scenes = newest_first(T0 + 4, T0 + 3, T0 + 2, T0 + 1, T0 - 1)
    once = PagingStashDB(scenes, counts=[5, 4, 4, 4, 4])
    assert changed_scene_ids(once, T0, max_pages=10, page_size=2).ids == {"s0", "s1", "s2", "s3"}
    assert [page["page"] for page in once.pages_asked] == [1, 2, 1, 2, 3]
    twice = PagingStashDB(scenes, counts=[5, 4, 4, 3])
    with pytest.raises(PagingCannotReach, match="count fell"):
        changed_scene_ids(twice, T0, max_pages=10, page_size=2)


# -- tags --------------------------------------------------------------------------------

def test_a_deleted_merged_renamed_or_unknown_tag_is_a_change_and_the_same_tag_is_not():
    stashdb = PagingStashDB(tags={
        "same": {"id": "same", "name": "Rope", "deleted": False},
        "merged": {"id": "merged", "name": "Ropes", "deleted": True},
        "renamed": {"id": "renamed", "name": "Blonde Hair", "deleted": False},
        "other": {"id": "other", "name": "Other", "deleted": False},
    })
    changed, requests = changed_tags(stashdb, {"same": "Rope", "merged": "Ropes", "renamed": "Blonde", "gone": "Old"})
    assert set(changed) == {"merged", "renamed", "gone"} and requests == 1
    assert changed["renamed"] == "renamed to Blonde Hair"


def test_more_tags_than_a_page_are_listed_page_after_page(monkeypatch):
    import stashdb_changes

    monkeypatch.setattr(stashdb_changes, "TAG_PAGE_SIZE", 2)
    stashdb = PagingStashDB(tags={f"t{i}": {"id": f"t{i}", "name": f"T{i}", "deleted": False} for i in range(5)})
    changed, requests = changed_tags(stashdb, {f"t{i}": f"T{i}" for i in range(5)})
    assert changed == {} and requests == 3


# -- which scenes are asked --------------------------------------------------------------

def write_report(reports, rows, started=T0, **run):
    """A report of a whole-library sync, unless `run` says otherwise: rows of (local id,
    StashDB id, [(tag id, name)])."""
    info = {"endpoint": ENDPOINT, "dry_run": False, "targeted": False, "kind": "sync", "covers_library": True,
            "started_epoch": started, **run}
    report = RunReport(reports, run_info=info)
    for scene_id, stashdb_id, tags in rows:
        report.scene(scene_id, None, stashdb_id, "unchanged", [],
                     stashdb_tags=[{"id": tag_id, "name": name} for tag_id, name in tags])
    report.finish({}, [])


def write_memory(reports, rows, started=T0, **run):
    write_report(reports, rows, started, **run)
    return read_memory(choose_memory(reports, ENDPOINT))


LIBRARY = [("1", "a", [("rope", "Rope")]), ("2", "b", [("rope", "Rope"), ("blonde", "Blonde")]),
           ("3", "c", [("blonde", "Blonde")]), ("4", "d", []), ("5", "e", [("blonde", "Blonde")]),
           ("6", "f", [])]
SAME_TAGS = {"rope": {"id": "rope", "name": "Rope", "deleted": False},
             "blonde": {"id": "blonde", "name": "Blonde", "deleted": False}}


def test_asked_are_the_changed_scenes_the_scenes_of_a_changed_tag_and_scenes_the_report_does_not_know(tmp_path):
    memory = write_memory(tmp_path, [*LIBRARY, ("8", "g", []), ("9", "h", [])])
    stashdb = PagingStashDB([("zz", T0 + 9), ("c", T0 + 5), ("x", T0 - SAFETY_MARGIN_SECONDS - 1), ("a", T0 - 10**6)],
                            tags={**SAME_TAGS, "rope": {"id": "rope", "name": "Rope", "deleted": True}})
    plan = plan_refresh(stashdb, memory, ["1", "2", "3", "4", "5", "6", "7", "8", "9"], now=T0 + 100)
    assert plan.changed.ids == {"zz", "c"} and plan.changed_in_library == 1
    assert set(plan.changed_tags) == {"rope"}
    assert plan.asked_stashdb_ids == {"a", "b", "c"}
    asked = [scene_id for scene_id in ["1", "2", "3", "4", "5", "6", "7"] if plan.asks(scene_id)]
    assert asked == ["1", "2", "3", "7"]                      # 7: not in the report
    assert plan.asked_first(["7", "6", "5", "4", "3", "2", "1"]) == ["7", "3", "2", "1", "6", "5", "4"]


def test_the_margin_reaches_an_hour_before_the_reports_start(tmp_path):
    memory = write_memory(tmp_path, LIBRARY)
    stashdb = PagingStashDB([("b", T0 - 3599), ("d", T0 - 3601)], tags=SAME_TAGS)   # the docs say one hour
    plan = plan_refresh(stashdb, memory, ["1", "2", "3", "4", "5", "6"], now=T0)
    assert plan.since == T0 - 3600 and plan.asked_stashdb_ids == {"b"}


def test_unchanged_scenes_are_answered_from_the_report_and_only_changed_ones_are_asked(tmp_path):
    memory = write_memory(tmp_path, LIBRARY)
    stashdb = PagingStashDB([("c", T0 + 5)], tags=SAME_TAGS)
    refreshing = RefreshingStashDB(stashdb, plan_refresh(stashdb, memory, ["1", "2", "3", "4", "5", "6"], now=T0))
    answers = refreshing.find_scenes_by_ids(["a", "c", "e", "new"])
    assert stashdb.ids_asked == [["c", "new"]]
    assert [answer["tags"] for answer in answers] == [
        [{"id": "rope", "name": "Rope"}], [{"id": "fresh", "name": "Fresh"}], [{"id": "blonde", "name": "Blonde"}],
        [{"id": "fresh", "name": "Fresh"}]]
    assert refreshing.answers_from_memory("a") and not refreshing.answers_from_memory("c")
    summary = refreshing.summary()
    assert (summary["scenes_asked"], summary["scenes_from_memory"]) == (2, 2)
    assert summary["requests"] == {"paging": 1, "tag_check": 1, "by_fingerprints": 0, "by_id": 1, "tag_details": 0}


def test_asking_about_more_than_half_the_library_is_the_full_syncs_job(tmp_path):
    memory = write_memory(tmp_path, LIBRARY)
    stashdb = PagingStashDB([("a", T0 + 3), ("b", T0 + 2), ("c", T0 + 1)], tags=SAME_TAGS)
    assert len(plan_refresh(stashdb, memory, ["1", "2", "3", "4", "5", "6"], now=T0).asked_stashdb_ids) == 3
    stashdb = PagingStashDB([("a", T0 + 3), ("b", T0 + 2), ("c", T0 + 1), ("d", T0 + 1)], tags=SAME_TAGS)
    with pytest.raises(FullRunNeeded, match="4 of the library's 6 scenes"):
        plan_refresh(stashdb, memory, ["1", "2", "3", "4", "5", "6"], now=T0)


def test_a_paging_that_cannot_reach_back_needs_the_full_run(tmp_path):
    memory = write_memory(tmp_path, LIBRARY)
    with pytest.raises(FullRunNeeded, match="could not be listed back"):
        plan_refresh(PagingStashDB([("a", None)], tags=SAME_TAGS), memory, ["1", "2"], now=T0)


# -- which memory ------------------------------------------------------------------------

def test_without_a_report_or_with_an_old_one_the_full_run_is_needed(tmp_path):
    with pytest.raises(FullRunNeeded, match="no whole-library report"):
        memory_for_refresh(tmp_path, ENDPOINT, T0)
    write_report(tmp_path, LIBRARY, started=T0 - 31 * 86400)
    with pytest.raises(FullRunNeeded, match="31 days old"):
        memory_for_refresh(tmp_path, ENDPOINT, T0)
    assert memory_for_refresh(tmp_path, ENDPOINT, T0 - 86400).folder.run["started_epoch"] == T0 - 31 * 86400


def test_a_targeted_or_capped_dry_run_report_is_no_memory_for_a_refresh(tmp_path):
    write_report(tmp_path, LIBRARY, targeted=True)
    write_report(tmp_path, LIBRARY, dry_run=True, covers_library=False)
    with pytest.raises(FullRunNeeded, match="no whole-library report"):
        memory_for_refresh(tmp_path, ENDPOINT, T0)


def test_a_report_without_its_start_time_needs_the_full_run(tmp_path):
    write_report(tmp_path, LIBRARY, started="yesterday")
    with pytest.raises(FullRunNeeded, match="does not say when it started"):
        memory_for_refresh(tmp_path, ENDPOINT, T0)


@pytest.mark.parametrize("args", [{"scene_ids": "1"}, {"limit": "5"}, {"full_dry_run": "true"}, {"since": ""}])
def test_the_refresh_takes_no_argument_and_refuses_any(args):
    with pytest.raises(ConfigError, match="unknown argument"):
        overrides_from_task_args(MODE_REFRESH_SCENE_TAGS, {"mode": MODE_REFRESH_SCENE_TAGS, **args}, {})
    assert overrides_from_task_args(MODE_REFRESH_SCENE_TAGS, {"mode": MODE_REFRESH_SCENE_TAGS}, {}).refresh


# -- the task, as Stash runs it ------------------------------------------------------------

def stashdb_changes_answers(servers, changed=()):
    """StashDB's answers to the refresh's two questions: `changed` scene ids edited just now
    (then one scene long ago), and the servers' tags as they are."""
    from tests.unit.plugin_harness import json_answer

    def answer(body):
        if body.get("operationName") == "TagManagerChangedScenes":
            scenes = [{"id": i, "updated": iso(10**10)} for i in changed] + [{"id": "old", "updated": iso(1e9)}]
            return json_answer({"data": {"queryScenes": {"count": 10, "scenes": scenes}}})
        if body.get("operationName") == "TagManagerLiveTags":
            tags = [{"id": tag["id"], "name": tag["name"]} for tag in servers.stashdb_tags]
            return json_answer({"data": {"queryTags": {"count": len(tags), "tags": tags}}})
        return None
    return answer


def test_a_dry_run_refresh_previews_the_whole_library_asks_only_the_changed_scene_and_writes_nothing(tmp_path):
    from tests.unit.plugin_harness import FakeServers, assert_stash_protocol, run_plugin

    servers = FakeServers(scene_count=250)
    assert run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags"})[0] == 0
    servers.stashdb_fault = stashdb_changes_answers(servers, changed=["sdb-7"])
    servers.settings = {"syncDryRun": True}
    asked, written = len(servers.stashdb_ops), len(servers.mutations)
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "refresh_scene_tags"})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None
    assert servers.stashdb_ops[asked:] == ["TagManagerMe", "TagManagerChangedScenes", "TagManagerLiveTags",
                                           "TagManagerFindScenesByFingerprints"]
    assert len(servers.mutations) == written
    assert result["output"]["scenes_processed"] == 250            # no 200-scene cap: its report is a memory
    assert result["output"]["refresh"]["scenes_asked"] == 1
    runs = [json.loads(path.read_text()) for path in tmp_path.glob("plugin_data/tagManager/reports/*/run.json")]
    assert {(r["kind"], r["dry_run"], r["covers_library"]) for r in runs} == {("sync", False, True),
                                                                             ("refresh", True, True)}


def test_a_stashdb_failure_while_paging_stops_the_refresh_with_the_reason_and_writes_nothing(tmp_path):
    from tests.unit.plugin_harness import STASHDB_KEY, FakeServers, assert_stash_protocol, run_plugin

    servers = FakeServers(scene_count=3)
    assert run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags"})[0] == 0
    written = len(servers.mutations)
    servers.stashdb_fault = lambda body: (400, {}, f"no {STASHDB_KEY}") \
        if body.get("operationName") == "TagManagerChangedScenes" else None
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "refresh_scene_tags"})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and "the changed-scenes lookup failed" in result["error"] and "HTTP 400" in result["error"]
    assert STASHDB_KEY not in stdout + stderr and len(servers.mutations) == written


def test_unmatched_tags_details_come_from_the_report_unless_the_tag_changed_or_it_lacks_them(tmp_path):
    """The refresh's sync asks the unmatched tags' details (tag_details.py): the report kept
    them for its unmatched tags, so only a changed tag or one it did not describe is asked."""
    from scene_tag_plan import UnmatchedTag
    from stashdb_tag import StashDBTag

    info = {"endpoint": ENDPOINT, "dry_run": False, "targeted": False, "kind": "sync", "covers_library": True,
            "started_epoch": T0}
    report = RunReport(tmp_path, run_info=info)
    kept = {tag_id: StashDBTag(tag_id, name, f"About {name}.", (f"{name}s",)) for tag_id, name in
            (("rope", "Rope"), ("blonde", "Blonde"))}
    report.scene("1", None, "a", "unchanged", [], unmatched=[UnmatchedTag(t.name, t.stashdb_id, t) for t in kept.values()],
                 stashdb_tags=[{"id": t.stashdb_id, "name": t.name} for t in kept.values()])
    for scene_id, stashdb_id in (("2", "b"), ("3", "c")):
        report.scene(scene_id, None, stashdb_id, "unchanged", [], stashdb_tags=[])
    report.finish({}, [])
    memory = read_memory(choose_memory(tmp_path, ENDPOINT))
    stashdb = PagingStashDB(tags={**SAME_TAGS, "blonde": {"id": "blonde", "name": "Blond", "deleted": False}})
    asked = []
    stashdb.find_tags_by_ids = lambda ids: asked.append(list(ids)) or [{"id": i, "name": i.title(), "aliases": []}
                                                                      for i in ids]
    refreshing = RefreshingStashDB(stashdb, plan_refresh(stashdb, memory, ["1", "2", "3"], now=T0))
    answers = refreshing.find_tags_by_ids(["rope", "blonde", "new"])
    assert asked == [["blonde", "new"]]                     # renamed since; never described
    assert StashDBTag.from_answer(answers[0]) == kept["rope"]
    assert [answer["name"] for answer in answers[1:]] == ["Blonde", "New"]
    assert refreshing.summary()["requests"]["tag_details"] == 1
