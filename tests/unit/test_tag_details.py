"""The unmatched StashDB tags' details: asked once per tag per run, never for matched tags,
carried into the report and into the tags syncCreateMissing creates, and a failed request
costs no scene (tag_details.py in the sync, with the in-memory StashDB of tests/unit/fakes.py)."""
from __future__ import annotations

import pytest

from report_reader import choose_report, read_stashdb_tags
from run_report import RunReport
from stashdb_scene_sync import SyncSettings, sync_scene_tags
from stashdb_tag import StashDBTag
from sync_stats import Outcome
from tests.unit.fakes import ENDPOINT, FakeLocalStash, FakeStashDB, local_scene, local_tag, stashdb_error

LOCAL_TAGS = [local_tag(1, "Anal", stash_ids=[(ENDPOINT, "sdb-anal")]), local_tag(2, "Blonde")]
MATCHED = [{"id": "sdb-anal", "name": "Anal Sex"}, {"id": "sdb-blonde", "name": "blonde"}]
ROPE = {"id": "sdb-rope", "name": "Rope", "description": "Tied up.", "aliases": ["Shibari"],
        "category": {"name": "Action"}, "deleted": False}


def unmatched_tag(number: int) -> dict:
    return {"id": f"sdb-u{number}", "name": f"Unmatched {number}", "description": f"About {number}.",
            "aliases": [f"Alias {number}"], "category": {"name": "Theme"}, "deleted": False}


def library(scene_tags: list[list[dict]]) -> tuple[FakeLocalStash, FakeStashDB]:
    """One local scene per entry of `scene_tags`, found by fingerprint, its StashDB scene
    carrying those tags."""
    scenes, stashdb_scenes, by_oshash = {}, {}, {}
    for number, tags in enumerate(scene_tags, start=1):
        oshash = f"{number:016x}"
        scenes[str(number)] = local_scene(number, f"sdb-scene-{number}", oshash=oshash, title=f"Title {number}")
        stashdb_scenes[f"sdb-scene-{number}"] = {"id": f"sdb-scene-{number}", "deleted": False, "tags": tags}
        by_oshash[oshash] = [f"sdb-scene-{number}"]
    return FakeLocalStash(tags=list(LOCAL_TAGS), scenes=scenes), FakeStashDB(stashdb_scenes, by_oshash)


def live(**kwargs) -> SyncSettings:
    return SyncSettings(endpoint=ENDPOINT, dry_run=False, **kwargs)


def run_with_report(local, stashdb, tmp_path, settings=None):
    report = RunReport(tmp_path, run_info={"endpoint": ENDPOINT, "dry_run": False, "targeted": False})
    stats = sync_scene_tags(local, stashdb, settings or live(), report=report)
    report.finish(stats.as_dict(), [])
    return stats, read_stashdb_tags(choose_report(tmp_path, ENDPOINT))


def three_batches_of_unmatched_tags() -> list[list[dict]]:
    """95 scenes (batches of 40, 40, 15): every scene carries the matched tags and Rope; each
    batch brings five unmatched tags of its own, and batch 3 also meets batch 1's again."""
    scenes = []
    for number in range(95):
        batch = number // 40
        own = [unmatched_tag(batch * 5 + number % 5)]
        again = [unmatched_tag(number % 5)] if batch == 2 else []
        scenes.append([*MATCHED, ROPE, *own, *again])
    return scenes


def tag_requests(stashdb) -> list[int]:
    return [len(ids) for kind, ids in stashdb.calls if kind == "tags"]


def test_each_unmatched_tag_is_asked_once_across_batches_and_only_for_unmatched_tags(tmp_path):
    local, stashdb = library(three_batches_of_unmatched_tags())
    stats, described = run_with_report(local, stashdb, tmp_path)
    assert stats.count(Outcome.UPDATED) == 95
    asked = stashdb.asked_tag_ids()
    assert sorted(asked) == sorted({"sdb-rope", *(f"sdb-u{n}" for n in range(15))})  # each once
    assert not {"sdb-anal", "sdb-blonde"} & set(asked)
    assert tag_requests(stashdb) == [16]  # gathered: one request for the run's 16 tags
    assert described["sdb-rope"] == StashDBTag("sdb-rope", "Rope", "Tied up.", ("Shibari",), "Action")
    assert described["sdb-u7"].aliases == ("Alias 7",) and described["sdb-u7"].described


def test_tags_are_asked_forty_a_request_as_soon_as_forty_wait(tmp_path):
    scenes = [[*MATCHED, *(unmatched_tag(n) for n in range(45))]] + [[*MATCHED, unmatched_tag(45 + n)]
                                                                     for n in range(39)]
    local, stashdb = library(scenes + [[*MATCHED, unmatched_tag(100)]] * 10)
    run_with_report(local, stashdb, tmp_path)
    assert tag_requests(stashdb) == [40, 40, 5]  # batch 1 meets 84 new tags; the last 5 wait for the end


def test_with_syncCreateMissing_a_batch_new_tags_are_asked_before_it_is_planned_again(tmp_path):
    local, stashdb = library(three_batches_of_unmatched_tags())
    stats, described = run_with_report(local, stashdb, tmp_path, live(create_missing=True))
    assert tag_requests(stashdb) == [6, 5, 5]  # one request a batch that meets new tags
    assert stats.tags_created == 16 and described["sdb-u12"].described


def test_without_a_report_or_syncCreateMissing_no_details_are_asked():
    local, stashdb = library([[*MATCHED, ROPE]] * 3)
    stats = sync_scene_tags(local, stashdb, live())
    assert stats.count(Outcome.UPDATED) == 3 and stashdb.asked_tag_ids() == []


def test_tags_created_by_syncCreateMissing_carry_the_details_findTag_gave():
    local, stashdb = library([[*MATCHED, ROPE]] * 3)
    stats = sync_scene_tags(local, stashdb, live(create_missing=True))
    (rope,) = local.created_tags
    assert rope["name"] == "Rope" and rope["description"] == "Tied up." and rope["aliases"] == ["Shibari"]
    assert stats.tags_created == 1 and stashdb.asked_tag_ids() == ["sdb-rope"]


@pytest.mark.parametrize("create_missing", [False, True])
def test_a_failed_details_request_fails_no_scene_and_the_report_keeps_the_names(tmp_path, create_missing):
    local, stashdb = library([[*MATCHED, ROPE, unmatched_tag(1)]] * 50)
    stashdb.tag_errors.append(stashdb_error("HTTP 502 from StashDB"))
    stats, described = run_with_report(local, stashdb, tmp_path, live(create_missing=create_missing))
    assert stats.count(Outcome.UPDATED) == 50 and stats.count(Outcome.ERROR) == 0
    assert stats.tags_created == 0 and local.created_tags == []  # never created without its details
    assert stats.tag_creations_skipped == (2 if create_missing else 0)
    assert stashdb.asked_tag_ids() == ["sdb-rope", "sdb-u1"]  # not asked again in the second batch
    assert described == {"sdb-rope": StashDBTag("sdb-rope", "Rope", described=False),
                         "sdb-u1": StashDBTag("sdb-u1", "Unmatched 1", described=False)}
    assert stats.top_unmatched() == [("Rope", 50), ("Unmatched 1", 50)]


def test_a_tag_stashdb_no_longer_knows_keeps_its_name(tmp_path):
    local, stashdb = library([[*MATCHED, ROPE]])
    stashdb.find_tags_by_ids = lambda ids: [None for _ in ids]
    stats, described = run_with_report(local, stashdb, tmp_path)
    assert stats.count(Outcome.UPDATED) == 1
    assert described == {"sdb-rope": StashDBTag("sdb-rope", "Rope", described=False)}


def test_a_slow_details_answer_holds_up_no_write(tmp_path):
    """Gathered requests wait for their answers on their own thread: here the first one is
    answered only once the second batch is written, which a request waited for on the
    sync's own thread would never let happen."""
    import threading

    scenes = [[*MATCHED, *(unmatched_tag(n) for n in range(45))]] + [[*MATCHED]] * 49
    local, stashdb = library(scenes)
    second_batch_written, answer_waited = threading.Event(), []
    real_find_tags, real_write = stashdb.find_tags_by_ids, local.add_tags_to_scenes

    def slow_find_tags(ids):
        answer_waited.append(second_batch_written.wait(timeout=5))
        return real_find_tags(ids)

    def write(additions):
        written = real_write(additions)
        if len(local.write_requests) == 2:
            second_batch_written.set()
        return written

    stashdb.find_tags_by_ids, local.add_tags_to_scenes = slow_find_tags, write
    stats, described = run_with_report(local, stashdb, tmp_path)
    assert stats.count(Outcome.UPDATED) == 50 and answer_waited[0] is True
    assert len(described) == 45 and all(tag.described for tag in described.values())
