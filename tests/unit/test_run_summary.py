"""What the user reads at the end: the summary's text, the stop reasons, the outage rule."""
from __future__ import annotations

import pytest

from run_health import OutageWatch, SyncAborted, session_expired_reason, stashdb_key_rejected_reason
from stashdb_scene_sync import estimated_seconds, no_scenes_for_endpoint
from sync_stats import Outcome, SceneResult, SyncStats, summary_lines


def stats_of(dry_run=False, **outcomes):
    stats = SyncStats(endpoint="https://stashdb.org/graphql", dry_run=dry_run)
    for name, count in outcomes.items():
        for _ in range(count):
            stats.record(SceneResult("1", outcome=Outcome(name), added_tag_ids=["1", "2"]))
    stats.scenes_total = stats.scenes_processed
    return stats


def test_a_live_summary_reads_line_by_line():
    stats = stats_of(updated=3, unchanged=2, error=1)
    stats.record_unmatched("Rare", "r")
    stats.record_unmatched("Rare", "r")
    stats.record_unmatched("Odd", "o")
    assert summary_lines(stats) == [
        "Summary (live run) for https://stashdb.org/graphql:",
        "  scenes with a StashID for this endpoint: 6",
        "  updated: 3",
        "  already up to date: 2",
        "  failed: 1",
        "  tags added: 6",
        "  StashDB tags with no local match (skipped): 2 distinct tags, 3 occurrences on scenes",
        "  most frequent unmatched StashDB tags (create or link them, then re-run):",
        "    'Rare': 2 scenes",
        "    'Odd': 1 scenes",
    ]


def test_a_capped_dry_run_says_what_it_previewed_of_what():
    stats = stats_of(dry_run=True, would_update=8, unchanged=192)
    stats.scenes_total = 12_345
    stats.scenes_not_processed = 12_345 - 200
    lines = summary_lines(stats)
    assert lines[0] == "Summary (DRY RUN - nothing was written) for https://stashdb.org/graphql:"
    assert "  previewed 200 of 12345 scenes; 8 would change" in lines
    assert "  not processed (beyond the dry-run limit): 12145" in lines
    assert "  tags that would be added: 16" in lines


def test_a_stopped_run_ends_its_summary_with_the_reason_and_counts_what_it_did_not_reach():
    stats = stats_of(updated=40)
    stats.scenes_total, stats.scenes_not_processed = 100, 60
    stats.deferred = 40
    stats.aborted = "Stash writes gave nothing usable for 120 s"
    stats.report_incomplete = "disk full"
    lines = summary_lines(stats)
    assert "  not processed (the run stopped early): 60" in lines
    assert "  given a second attempt after a failed request: 40" in lines
    assert lines[-2:] == ["  REPORT INCOMPLETE: disk full", "  RUN STOPPED: Stash writes gave nothing usable for 120 s"]


def test_the_stop_reasons_name_the_fix():
    assert session_expired_reason("HTTP 401").startswith("Stash rejected the plugin's session (HTTP 401)")
    assert "Generate an API key in Settings > Security" in session_expired_reason("HTTP 401")
    assert stashdb_key_rejected_reason("HTTP 401") == \
        "StashDB rejected the API key (HTTP 401); check it in Settings > Metadata Providers"


def test_no_scenes_for_an_endpoint_lists_the_endpoints_scenes_carry_most_first():
    reason = no_scenes_for_endpoint("https://stashdb.org/graphql/", {"https://fansdb.cc/graphql": 3,
                                                                     "https://stashdb.org/graphql": 90})
    assert reason.startswith("0 scenes carry a StashID for exactly https://stashdb.org/graphql/. Scenes carry "
                             "StashIDs for: https://stashdb.org/graphql (90 scenes), https://fansdb.cc/graphql (3 scenes).")
    assert "match scenes to StashDB in the Tagger first" in no_scenes_for_endpoint("x", {})


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_outage_rule_stops_only_after_the_window_of_nothing_but_failures():
    clock = Clock()
    watch = OutageWatch("StashDB", window=120, clock=clock)
    for second in (0, 30, 90, 119.9):
        clock.now = second
        watch.failure(RuntimeError("502"))
    clock.now = 120
    with pytest.raises(SyncAborted, match=r"^StashDB gave nothing usable for 120 s .*last error: 502"):
        watch.failure(RuntimeError("502"))


def test_one_usable_answer_restarts_the_outage_window():
    clock = Clock()
    watch = OutageWatch("Stash reads", window=120, clock=clock)
    watch.failure(RuntimeError("x"))
    clock.now = 100
    watch.success()
    clock.now = 200
    watch.failure(RuntimeError("x"))  # the first failure since the success: no stop
    clock.now = 319
    watch.failure(RuntimeError("x"))
    clock.now = 320
    with pytest.raises(SyncAborted):
        watch.failure(RuntimeError("x"))


def test_the_time_estimate_counts_a_third_of_scenes_asked_twice_at_the_rate():
    assert estimated_seconds(40_000, 40, 2.0) == pytest.approx(1000 * 1.35 / 2)
    assert estimated_seconds(1, 40, 2.0) == pytest.approx(0.675)
