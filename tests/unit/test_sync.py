"""The sync's behaviour with in-memory collaborators: merge, dry run, passes, errors."""
from __future__ import annotations

import json
import logging

import pytest

from concurrent.futures import Executor, Future

from scene_fetcher import MAX_REQUESTS_IN_FLIGHT, SceneFetcher
from stashdb_api import StashDBAuthError
from stashdb_scene_sync import SyncSettings, sync_scene_tags
from sync_stats import Outcome
from tests.unit.fakes import (
    ENDPOINT,
    FakeLocalStash,
    FakeStashDB,
    local_scene,
    local_tag,
    stashdb_error,
    stashdb_scene,
)

TAGS = [
    local_tag(1, "Anal", stash_ids=[(ENDPOINT, "sdb-anal")]),
    local_tag(2, "Blonde"),
    local_tag(3, "Big Tits", aliases=["Large Breasts"]),
    local_tag(4, "Outdoors"),
]
SDB_TAGS = [("sdb-anal", "Anal Sex"), ("sdb-blonde", "blonde"), ("sdb-big", "Large Breasts"), ("sdb-x", "Unknown Tag")]


def build(n_scenes=3, *, with_fingerprints=True, existing=()):
    scenes, sdb_scenes, by_oshash = {}, {}, {}
    for i in range(1, n_scenes + 1):
        sdb_id = f"sdb-scene-{i}"
        oshash = f"{i:016x}" if with_fingerprints else None
        scenes[str(i)] = local_scene(i, sdb_id, tags=existing, oshash=oshash, title=f"Title {i}")
        sdb_scenes[sdb_id] = stashdb_scene(sdb_id, SDB_TAGS)
        if oshash:
            by_oshash[oshash] = [sdb_id]
    return FakeLocalStash(tags=list(TAGS), scenes=scenes), FakeStashDB(scenes=sdb_scenes, by_oshash=by_oshash)


def live(**kwargs):
    return SyncSettings(endpoint=ENDPOINT, dry_run=False, **kwargs)


def test_live_run_adds_matched_tags_and_keeps_existing_ones():
    local, stashdb = build(3, existing=["4"])
    stats = sync_scene_tags(local, stashdb, live())
    for scene_id in ("1", "2", "3"):
        assert local.tag_ids(scene_id) == {"1", "2", "3", "4"}
    assert stats.count(Outcome.UPDATED) == 3
    assert stats.tags_added == 9
    assert stats.unmatched_tags_skipped == 3
    assert stats.top_unmatched() == [("Unknown Tag", 3)]
    assert stats.unmatched_stashdb_ids["Unknown Tag"] == "sdb-x"


def test_only_missing_tags_are_sent_and_a_second_run_writes_nothing():
    local, stashdb = build(2, existing=["1"])
    sync_scene_tags(local, stashdb, live())
    assert sorted(local.writes) == [("1", ["2", "3"]), ("2", ["2", "3"])]
    local.writes.clear()
    stats = sync_scene_tags(local, stashdb, live())
    assert local.writes == []
    assert stats.count(Outcome.UNCHANGED) == 2


def test_fingerprint_batches_hold_forty_scenes():
    local, stashdb = build(95)
    sync_scene_tags(local, stashdb, live())
    sizes = [len(batches) for kind, batches in stashdb.calls if kind == "fingerprints"]
    assert sizes == [40, 40, 15]
    assert stashdb.count("ids") == 0
    assert [len(request) for request in local.write_requests] == [40, 40, 15]


def test_dry_run_writes_nothing_and_previews_at_most_200_scenes(caplog):
    local, stashdb = build(250)
    with caplog.at_level(logging.INFO, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, SyncSettings(endpoint=ENDPOINT, dry_run=True))
    assert local.writes == []
    assert stats.count(Outcome.WOULD_UPDATE) == 200
    assert stats.count(Outcome.UPDATED) == 0
    assert stats.tags_would_add == 600 and stats.tags_added == 0
    assert stats.scenes_not_processed == 50
    assert stats.scenes_processed + stats.scenes_not_processed == stats.scenes_total == 250
    dry_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[DRY RUN] Scene")]
    assert len(dry_lines) == 200
    assert dry_lines[0] == "[DRY RUN] Scene 1 (Title 1): would add 3 tags: [Anal, Blonde, Big Tits]"


def test_scene_without_fingerprints_goes_straight_to_pass_two():
    local, stashdb = build(2, with_fingerprints=False)
    stats = sync_scene_tags(local, stashdb, live())
    assert stashdb.count("fingerprints") == 0  # empty lists are never asked
    assert stats.found_by_id == 2 and stats.count(Outcome.UPDATED) == 2


def test_scene_whose_files_carry_only_md5_goes_straight_to_pass_two():
    """stash-box ignores MD5s in fingerprint queries: such a scene is asked by id, not by MD5."""
    local, stashdb = build(2, with_fingerprints=False)
    local.scenes["1"]["files"] = [{"fingerprints": [{"type": "md5", "value": "9e107d9d372bb6826bd81d3542a419d6"}]}]
    stats = sync_scene_tags(local, stashdb, live())
    assert stashdb.count("fingerprints") == 0
    assert stats.found_by_id == 2 and stats.count(Outcome.UPDATED) == 2


def test_fingerprint_answer_naming_another_scene_is_not_trusted():
    local, stashdb = build(1)
    stashdb.scenes["sdb-other"] = stashdb_scene("sdb-other", [("sdb-blonde", "Blonde")])
    stashdb.by_oshash[f"{1:016x}"] = ["sdb-other"]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.found_by_fingerprint == 0 and stats.found_by_id == 1
    assert ("ids", ["sdb-scene-1"]) in stashdb.calls
    assert local.tag_ids("1") == {"1", "2", "3"}


def test_empty_fingerprint_answer_falls_back_to_the_id():
    local, stashdb = build(1)
    stashdb.by_oshash.clear()
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.found_by_id == 1 and local.tag_ids("1") == {"1", "2", "3"}


def test_deleted_stashdb_scene_is_a_stale_stash_id(caplog):
    local, stashdb = build(1, with_fingerprints=False)
    stashdb.scenes["sdb-scene-1"]["deleted"] = True
    with caplog.at_level(logging.WARNING, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.STALE) == 1 and local.writes == []
    warning = [r for r in caplog.records if r.levelno == logging.WARNING][0].getMessage()
    assert "Scene 1" in warning and "sdb-scene-1" in warning and "re-match" in warning


def test_unknown_stashdb_id_is_counted_as_not_found():
    local, stashdb = build(1, with_fingerprints=False)
    del stashdb.scenes["sdb-scene-1"]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.NOT_FOUND) == 1 and local.writes == []


def test_exclude_patterns_drop_tags_before_matching():
    local, stashdb = build(1)
    stats = sync_scene_tags(local, stashdb, live(exclude_patterns=("^blon", "unknown")))
    assert local.tag_ids("1") == {"1", "3"}
    assert stats.excluded_tags_skipped == 2 and stats.unmatched_tags_skipped == 0


def test_one_failing_write_does_not_stop_the_run(caplog):
    local, stashdb = build(3)
    local.failing_writes.add("2")
    with caplog.at_level(logging.DEBUG, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 1 and stats.count(Outcome.UPDATED) == 2
    assert local.tag_ids("2") == set()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "Scene 2" in errors[0].getMessage() and "FOREIGN KEY" in errors[0].getMessage()


def test_unexpected_exception_in_a_write_is_logged_with_traceback_at_debug(caplog):
    local, stashdb = build(2)

    def broken(additions):
        raise KeyError("surprise")

    local.add_tags_to_scenes = broken
    with caplog.at_level(logging.DEBUG, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 2
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)


def test_failed_fingerprint_request_sends_its_scenes_to_pass_two():
    local, stashdb = build(3)
    stashdb.errors = [stashdb_error()]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.found_by_id == 3 and stats.count(Outcome.UPDATED) == 3


def test_scenes_without_fingerprint_answers_are_asked_by_id_forty_at_a_time():
    local, stashdb = build(95, with_fingerprints=False)
    stats = sync_scene_tags(local, stashdb, live())
    assert [len(ids) for kind, ids in stashdb.calls] == [40, 40, 15]
    assert stats.found_by_id == 95 and stats.count(Outcome.UPDATED) == 95


def test_a_failed_id_request_defers_its_scenes_to_a_second_attempt_at_the_end():
    local, stashdb = build(45, with_fingerprints=False)
    stashdb.errors = [stashdb_error()]
    stats = sync_scene_tags(local, stashdb, live())
    assert [len(ids) for _, ids in stashdb.calls] == [40, 5, 40]
    assert stats.count(Outcome.UPDATED) == 45 and stats.count(Outcome.ERROR) == 0
    assert stats.deferred == 40 and stats.aborted is None


def test_a_request_failing_on_the_second_attempt_too_fails_its_scenes():
    local, stashdb = build(45, with_fingerprints=False)
    stashdb.errors = [stashdb_error(), None, stashdb_error()]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 40 and stats.count(Outcome.UPDATED) == 5
    assert stats.scenes_processed == 45 and stats.aborted is None


def test_a_failed_write_request_defers_its_scenes_and_the_second_attempt_writes_them():
    local, stashdb = build(45)
    local.failing_write_requests = 1
    stats = sync_scene_tags(local, stashdb, live())
    assert [len(request) for request in local.write_requests] == [40, 5, 40]
    assert stats.count(Outcome.UPDATED) == 45 and stats.deferred == 40
    assert all(local.tag_ids(str(i)) == {"1", "2", "3"} for i in range(1, 46))


def test_a_scene_deferred_after_planning_counts_its_unmatched_tags_once():
    local, stashdb = build(45)
    local.failing_write_requests = 1
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.deferred == 40
    assert stats.unmatched_scene_counts == {"Unknown Tag": 45} and stats.unmatched_tags_skipped == 45


def test_a_failed_local_read_defers_its_batch():
    local, stashdb = build(45)
    local.failing_reads = 1
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.UPDATED) == 45 and stats.deferred == 40
    assert stats.scenes_processed == 45


def test_rejected_key_stops_the_run_at_once(caplog):
    local, stashdb = build(100)
    stashdb.errors = [None, StashDBAuthError("HTTP 401", operation="findScenesBySceneFingerprints", status=401)]
    with caplog.at_level(logging.ERROR, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live())
    assert stats.aborted and "API key" in stats.aborted
    assert len(stashdb.calls) <= 1 + MAX_REQUESTS_IN_FLIGHT  # what was already on its way, no more
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    assert stats.scenes_processed == 40
    assert stats.scenes_processed + stats.scenes_not_processed == 100


def test_the_next_batch_is_planned_while_the_previous_one_is_being_written(monkeypatch):
    import threading

    import stashdb_scene_sync

    local, stashdb = build(80)
    batch_two_planned = threading.Event()
    waited_for_planning = []
    real_plan, real_write = stashdb_scene_sync.plan_scene_tags, local.add_tags_to_scenes

    def plan(scene, *args):
        if scene["id"] == "41":
            batch_two_planned.set()
        return real_plan(scene, *args)

    def write(additions):
        if additions[0][0] == "1":  # the first batch's write holds on until batch two is planned
            waited_for_planning.append(batch_two_planned.wait(timeout=10))
        return real_write(additions)

    monkeypatch.setattr(stashdb_scene_sync, "plan_scene_tags", plan)
    local.add_tags_to_scenes = write
    stats = sync_scene_tags(local, stashdb, live())
    assert waited_for_planning == [True]
    assert stats.count(Outcome.UPDATED) == 80 and local.write_requests == [list(map(str, range(1, 41))),
                                                                           list(map(str, range(41, 81)))]


def test_a_run_stopped_while_a_write_is_under_way_records_that_write():
    local, stashdb = build(120)
    stashdb.errors = [None, None, StashDBAuthError("HTTP 401", operation="findScenesBySceneFingerprints", status=401)]
    stats = sync_scene_tags(local, stashdb, live(requests_in_flight=1))
    assert stats.aborted and "API key" in stats.aborted
    assert len(local.write_requests) == 2 and stats.count(Outcome.UPDATED) == 80  # both writes, both recorded
    assert stats.scenes_processed == 80 and stats.scenes_not_processed == 40


def test_failures_shorter_than_the_outage_window_never_stop_the_run():
    local, stashdb = build(40 * 3)
    local.failing_write_requests = 1000
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.aborted is None
    assert len(local.write_requests) == 6  # every batch, then every batch once more
    assert stats.count(Outcome.ERROR) == 120


def test_writes_failing_for_the_whole_outage_window_stop_the_run():
    local, stashdb = build(40 * 12)
    local.failing_write_requests = 1000
    stats = sync_scene_tags(local, stashdb, live(outage_seconds=0))
    assert stats.aborted and stats.aborted.startswith("Stash writes gave nothing usable")
    assert len(local.write_requests) == 1
    assert stats.scenes_processed + stats.scenes_not_processed == 480


def test_stashdb_failing_for_the_whole_outage_window_stops_the_run():
    local, stashdb = build(40 * 12, with_fingerprints=True)
    stashdb.errors = [stashdb_error() for _ in range(1000)]
    stats = sync_scene_tags(local, stashdb, live(outage_seconds=0))
    assert stats.aborted and stats.aborted.startswith("StashDB gave nothing usable")
    assert len(stashdb.calls) <= MAX_REQUESTS_IN_FLIGHT
    assert stats.scenes_processed + stats.scenes_not_processed == 480


def test_progress_rises_to_one_over_both_passes():
    local, stashdb = build(90)
    for i in range(1, 31):  # a third need pass 2
        stashdb.by_oshash.pop(f"{i:016x}")
    seen = []
    sync_scene_tags(local, stashdb, live(), on_progress=lambda done, total: seen.append((done, total)))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert {total for _, total in seen} == {90} and seen[-1] == (90, 90)
    assert len({done for done, _ in seen}) > 10


def test_scenes_are_processed_in_snapshot_order():
    local, stashdb = build(5)
    local.scenes = dict(reversed(list(local.scenes.items())))
    sync_scene_tags(local, stashdb, live())
    assert [scene_id for scene_id, _ in local.writes] == ["5", "4", "3", "2", "1"]


@pytest.mark.parametrize("bad_tags", [None, [None], [{"id": None, "name": None}], [{"name": 7}]])
def test_hostile_stashdb_tag_lists_do_not_crash(bad_tags):
    local, stashdb = build(1)
    stashdb.scenes["sdb-scene-1"]["tags"] = bad_tags
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.UNCHANGED) == 1


def test_targeted_run_processes_only_named_scenes_in_snapshot_order(caplog):
    local, stashdb = build(50)
    with caplog.at_level(logging.WARNING, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live(scene_ids=("7", "3", "999")))
    assert [scene_id for scene_id, _ in local.writes] == ["3", "7"]
    assert stats.scenes_total == 2 and stats.scenes_not_processed == 0
    assert "999" in caplog.text


def test_limit_takes_the_first_scenes_of_the_snapshot():
    local, stashdb = build(50)
    stats = sync_scene_tags(local, stashdb, live(limit=5))
    assert [scene_id for scene_id, _ in local.writes] == ["1", "2", "3", "4", "5"]
    assert stats.scenes_total == 5


def test_full_dry_run_previews_every_scene_and_writes_nothing():
    local, stashdb = build(250)
    settings = SyncSettings(endpoint=ENDPOINT, dry_run=True, dry_run_scene_limit=None)
    stats = sync_scene_tags(local, stashdb, settings)
    assert local.writes == [] and stats.count(Outcome.WOULD_UPDATE) == 250


class ReportRows(list):
    """A report keeping each scene's row, its unmatched tags as their StashDB ids."""
    incomplete = None

    def scene(self, *row):
        *columns, unmatched, stashdb_tags, added_tag_ids = row
        self.append((*columns, [tag.stashdb_id for tag in unmatched]))
        self.memory = getattr(self, "memory", []) + [(columns[0], [t["id"] for t in stashdb_tags or []], added_tag_ids)]

    def flush(self):
        pass


def test_report_receives_one_row_per_scene():
    local, stashdb = build(3, with_fingerprints=False)
    del stashdb.scenes["sdb-scene-2"]
    rows = ReportRows()
    sync_scene_tags(local, stashdb, live(), report=rows)
    assert sorted(rows) == [
        ("1", "Title 1", "sdb-scene-1", "updated", ["Anal", "Blonde", "Big Tits"], "", ["sdb-x"]),
        ("2", "Title 2", "sdb-scene-2", "not_found", [], "", []),
        ("3", "Title 3", "sdb-scene-3", "updated", ["Anal", "Blonde", "Big Tits"], "", ["sdb-x"]),
    ]
    # What StashDB said (every tag, unmatched ones included) and what the run added.
    remembered = sorted(rows.memory)
    assert [scene_id for scene_id, _, _ in remembered] == ["1", "2", "3"]
    assert remembered[1] == ("2", [], [])
    assert len(remembered[0][1]) == 4 and "sdb-x" in remembered[0][1] and len(remembered[0][2]) == 3


def test_a_scene_whose_planning_crashes_is_that_scenes_error_only(caplog, monkeypatch):
    import stashdb_scene_sync

    local, stashdb = build(3)
    real_plan = stashdb_scene_sync.plan_scene_tags

    def plan(scene, *args):
        if scene["id"] == "2":
            raise ValueError("unexpected data")
        return real_plan(scene, *args)

    monkeypatch.setattr(stashdb_scene_sync, "plan_scene_tags", plan)
    with caplog.at_level(logging.DEBUG, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 1 and stats.count(Outcome.UPDATED) == 2
    assert local.tag_ids("2") == set()
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)


def test_an_unexpected_failure_while_fetching_fails_only_that_batch():
    local, stashdb = build(45)
    stashdb.errors = [KeyError("odd answer")]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 40 and stats.count(Outcome.UPDATED) == 5
    assert stats.aborted is None


def test_an_answer_by_id_about_another_scene_is_not_used():
    local, stashdb = build(1, with_fingerprints=False)
    stashdb.scenes["sdb-scene-1"] = stashdb_scene("sdb-other", SDB_TAGS)
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.ERROR) == 1 and local.writes == []


def test_a_deleted_scene_in_a_fingerprint_answer_is_not_used():
    local, stashdb = build(1)
    stashdb.scenes["sdb-scene-1"]["deleted"] = True
    stashdb.by_oshash[f"{1:016x}"] = ["sdb-scene-1"]
    stashdb.find_scenes_by_fingerprints = lambda batches: [[stashdb.scenes["sdb-scene-1"]] for _ in batches]
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.STALE) == 1 and local.writes == []


def test_huge_unmatched_names_are_shortened_in_the_summary_and_kept_short():
    from stashdb_tag import MAX_TAG_TEXT_CHARS

    local, stashdb = build(1)
    stashdb.scenes["sdb-scene-1"]["tags"] = [{"id": "x" * 10_000, "name": "N" * 100_000}]
    stats = sync_scene_tags(local, stashdb, live())
    assert len(json.dumps(stats.as_dict())) < 2_000
    [(kept_name, count)] = stats.top_unmatched()
    assert count == 1 and kept_name.startswith("N" * 400) and len(kept_name) == MAX_TAG_TEXT_CHARS
    assert [len(i) for i in stats.unmatched_stashdb_ids.values()] == [MAX_TAG_TEXT_CHARS]


def test_write_batch_plans_writes_and_sets_each_result():
    from stashdb_scene_sync import SceneTagSync
    from sync_stats import FOUND_BY_ID, SceneResult
    from tag_matching import TagCache

    local, stashdb = build(2, existing=["2"])
    local.scenes["2"]["tags"] = [{"id": "1"}, {"id": "2"}, {"id": "3"}]
    sync = SceneTagSync(local, stashdb, live())
    sync.tag_cache = TagCache.build(local)
    found = [SceneResult(i, local.scenes[i], stashdb.scenes[f"sdb-scene-{i}"], FOUND_BY_ID) for i in ("1", "2")]
    sync.write_batch(found)
    assert [(r.outcome, r.added_tag_ids) for r in found] == [(Outcome.UPDATED, ["1", "3"]), (Outcome.UNCHANGED, [])]
    assert local.writes == [("1", ["1", "3"])]
    assert [[tag.name for tag in r.unmatched] for r in found] == [["Unknown Tag"], ["Unknown Tag"]]


def test_pass_two_asks_as_soon_as_forty_scenes_wait():
    local, stashdb = build(95)
    stashdb.by_oshash.clear()  # fingerprints are asked, and settle nothing
    sync_scene_tags(local, stashdb, live(requests_in_flight=1))
    assert [(kind, len(asked)) for kind, asked in stashdb.calls] == [
        ("fingerprints", 40), ("ids", 40), ("fingerprints", 40), ("ids", 40), ("fingerprints", 15), ("ids", 15)]


class InlinePool(Executor):
    """Runs each StashDB request as it is started, so the calls come in the order started."""

    def __init__(self, _workers: int):
        super().__init__()

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def fetch_all_by_id(n_scenes: int, requests_in_flight: int):
    """The fetcher over scenes whose fingerprints settle nothing: (kinds asked, calls made
    by the time each batch was handed over)."""
    local, stashdb = build(n_scenes)
    stashdb.by_oshash.clear()
    fetcher = SceneFetcher(local, stashdb, ENDPOINT, 40, requests_in_flight=requests_in_flight,
                           pool_factory=InlinePool)
    handed_over = [len(stashdb.calls) for _ in fetcher.batches(sorted(local.scenes, key=int))]
    return [(kind[0], len(asked)) for kind, asked in stashdb.calls], handed_over


def test_pass_one_asks_first_and_pass_two_waits_for_a_batch_per_request_in_flight():
    """With 5 in flight, by id only once 200 scenes wait while pass 1 has batches left; so
    the run ends on the limiter's pace, not on two answer times in a row."""
    calls, _ = fetch_all_by_id(400, requests_in_flight=5)
    assert calls == [("f", 40)] * 9 + [("i", 40)] * 5 + [("f", 40)] + [("i", 40)] * 5


def test_the_last_few_scenes_are_asked_by_id_once_pass_one_has_no_answer_to_come():
    calls, handed_over = fetch_all_by_id(90, requests_in_flight=5)
    assert calls == [("f", 40), ("f", 40), ("f", 10), ("i", 40), ("i", 40), ("i", 10)]
    # batches handed over: fp 1-3, then by id. The last 10 are asked as soon as pass 1's last
    # answer is handed over, not after the two by-id answers before them.
    assert handed_over == [3, 4, 5, 6, 6, 6]


@pytest.mark.parametrize("scenes, previewed", [(199, 199), (200, 200), (201, 200)])
def test_the_dry_run_cap_is_exactly_two_hundred_scenes(scenes, previewed):
    local, stashdb = build(scenes)
    stats = sync_scene_tags(local, stashdb, SyncSettings(endpoint=ENDPOINT, dry_run=True))
    assert stats.scenes_processed == previewed and stats.scenes_not_processed == scenes - previewed


def test_stashdb_requests_overlap_up_to_the_limit_and_never_beyond():
    import threading
    import time

    local, stashdb = build(40 * 12)
    stashdb.by_oshash.clear()
    lock, waiting = threading.Lock(), {"now": 0, "most": 0}
    real_by_fingerprints, real_by_ids = stashdb.find_scenes_by_fingerprints, stashdb.find_scenes_by_ids

    def slow(answer):
        def call(argument):
            with lock:
                waiting["now"] += 1
                waiting["most"] = max(waiting["most"], waiting["now"])
            time.sleep(0.05)  # a StashDB that takes its time to answer
            with lock:
                waiting["now"] -= 1
            return answer(argument)
        return call

    stashdb.find_scenes_by_fingerprints, stashdb.find_scenes_by_ids = slow(real_by_fingerprints), slow(real_by_ids)
    stats = sync_scene_tags(local, stashdb, live(requests_in_flight=3))
    assert waiting["most"] == 3
    assert stats.count(Outcome.UPDATED) == 480 and stats.found_by_id == 480
    assert [len(ids) for kind, ids in stashdb.calls if kind == "ids"] == [40] * 12


# -- syncCreateMissing and syncSkipOrganized ------------------------------------------------

ROPE = {"id": "sdb-rope", "name": "Rope", "description": "Tied up.", "aliases": ["Shibari", "Blonde"],
        "category": {"name": "Action"}, "deleted": False}


def build_with_missing_tags(n_scenes=3):
    local, stashdb = build(n_scenes)
    for scene in stashdb.scenes.values():
        scene["tags"] = [*scene["tags"], ROPE, {"id": "sdb-gone", "name": "Gone", "deleted": True}]
    return local, stashdb


def test_create_missing_makes_each_unmatched_tag_once_and_adds_it_to_the_scenes(caplog):
    local, stashdb = build_with_missing_tags()
    with caplog.at_level(logging.INFO, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, live(create_missing=True))
    names = [tag["name"] for tag in local.created_tags]
    assert names == ["Unknown Tag", "Rope"]
    rope = local.created_tags[1]
    assert rope["description"] == "Tied up." and rope["aliases"] == ["Shibari"]  # "Blonde" is tag 2's name
    assert rope["stash_ids"] == [{"endpoint": ENDPOINT, "stash_id": "sdb-rope"}]
    rope_id = next(t["id"] for t in local.tags if t["name"] == "Rope")
    for scene_id in ("1", "2", "3"):
        assert rope_id in local.tag_ids(scene_id)
    assert stats.tags_created == 2 and stats.tag_creations_skipped == 1  # "Gone" is deleted on StashDB
    assert stats.top_unmatched() == [("Gone", 3)]
    assert any("Not creating local tag 'Gone'" in r.getMessage() for r in caplog.records)
    again = sync_scene_tags(local, stashdb, live(create_missing=True))
    assert again.tags_created == 0 and again.count(Outcome.UNCHANGED) == 3 and len(local.created_tags) == 2


def test_create_missing_in_a_dry_run_lists_and_counts_what_it_would_create(caplog):
    local, stashdb = build_with_missing_tags()
    with caplog.at_level(logging.INFO, logger="tagManager"):
        stats = sync_scene_tags(local, stashdb, SyncSettings(endpoint=ENDPOINT, dry_run=True, create_missing=True))
    assert local.created_tags == [] and local.writes == []
    assert stats.tags_would_create == 2
    lines = [r.getMessage() for r in caplog.records if "would create local tag" in r.getMessage()]
    assert lines == ["[DRY RUN] would create local tag 'Unknown Tag' from StashDB tag sdb-x",
                     "[DRY RUN] would create local tag 'Rope' from StashDB tag sdb-rope "
                     "(aliases left out: 'Blonde': local tag 'Blonde' (id 2) has it as its name)"]
    assert any("local tags that would be created from StashDB tags: 2" in r.getMessage() for r in caplog.records)


def test_create_missing_in_a_dry_run_previews_the_tags_a_scene_would_gain_once_they_are_created(caplog):
    """A scene whose only new tags are ones the setting would create changes in the live
    run, so the preview must say so, and name them."""
    local, stashdb = build_with_missing_tags()
    sync_scene_tags(local, stashdb, live())  # every matched tag is on the scenes now
    rows = ReportRows()
    with caplog.at_level(logging.INFO, logger="tagManager"):
        dry = sync_scene_tags(local, stashdb, SyncSettings(endpoint=ENDPOINT, dry_run=True, create_missing=True),
                              report=rows)
    lines = [r.getMessage() for r in caplog.records if ": would add" in r.getMessage()]
    assert len(lines) == 3 and all(line.endswith("would add 2 tags once it creates them: [Unknown Tag, Rope]")
                                   for line in lines), lines
    assert dry.count(Outcome.WOULD_UPDATE) == 3 and dry.count(Outcome.UNCHANGED) == 0 and dry.tags_would_add == 2 * 3
    assert [row[3:5] for row in rows] == [("would_update", ["Unknown Tag", "Rope"])] * 3
    wet = sync_scene_tags(local, stashdb, live(create_missing=True))
    assert wet.count(Outcome.UPDATED) == 3 and wet.tags_added == 2 * 3


def test_without_the_setting_nothing_is_created():
    local, stashdb = build_with_missing_tags()
    stats = sync_scene_tags(local, stashdb, live())
    assert local.created_tags == [] and stats.tags_created == 0


def test_skip_organized_leaves_organized_scenes_alone_and_counts_them():
    local, stashdb = build(4)
    local.scenes["2"]["organized"] = local.scenes["4"]["organized"] = True
    stats = sync_scene_tags(local, stashdb, live(skip_organized=True))
    assert sorted(scene_id for scene_id, _ in local.writes) == ["1", "3"]
    assert stats.count(Outcome.ORGANIZED) == 2 and stats.as_dict()["outcomes"]["skipped_organized"] == 2
    asked = [scene for kind, batches in stashdb.calls if kind == "fingerprints" for scene in batches]
    assert len(asked) == 2  # organized scenes are not even looked up
    assert sync_scene_tags(local, stashdb, live()).count(Outcome.UPDATED) == 2  # off: they are synced
