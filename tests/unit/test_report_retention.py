"""Reports are kept within one rule: per endpoint the newest 20 and always the newest
whole-library run; never the run's own folder, one being written, or what is not a report."""
from __future__ import annotations

import os
import shutil
import time

import report_retention
from report_retention import KEEP_NEWEST_PER_ENDPOINT, UNFINISHED_GRACE_SECONDS, prune_reports
from run_report import RunReport
from tests.unit.plugin_harness import run_plugin
from tests.unit.test_plugin_operations import servers_with_unmatched_tags


def report(parent, endpoint="E", targeted=False, finished=True):
    made = RunReport(parent, run_info={"endpoint": endpoint, "dry_run": True, "targeted": targeted})
    return made.finish({}, []) if finished else (made.close() or made.folder)


def names(paths):
    return sorted(path.name for path in paths)


def test_the_newest_twenty_per_endpoint_and_the_newest_whole_run_are_kept(tmp_path):
    whole = report(tmp_path)                       # then 24 targeted re-runs
    targeted = [report(tmp_path, targeted=True) for _ in range(24)]
    other = [report(tmp_path, endpoint="F") for _ in range(3)]
    deleted = prune_reports(tmp_path, targeted[-1])
    assert names(deleted) == names(targeted[:4])
    assert names(tmp_path.iterdir()) == names([whole, *targeted[4:], *other])
    assert prune_reports(tmp_path, None) == []     # a second pass finds nothing more
    assert KEEP_NEWEST_PER_ENDPOINT == 20


def test_the_finished_runs_own_folder_is_never_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(report_retention, "KEEP_NEWEST_PER_ENDPOINT", 1)
    first, second, third = (report(tmp_path, targeted=True) for _ in range(3))
    assert names(prune_reports(tmp_path, current=first)) == [second.name]
    assert names(tmp_path.iterdir()) == names([first, third])


def test_an_unfinished_folder_is_kept_while_it_may_be_written_and_pruned_after(tmp_path, monkeypatch):
    monkeypatch.setattr(report_retention, "KEEP_NEWEST_PER_ENDPOINT", 1)
    writing = report(tmp_path, targeted=True, finished=False)
    report(tmp_path, targeted=True)
    assert prune_reports(tmp_path, None) == []
    later = time.time() + UNFINISHED_GRACE_SECONDS + 60
    assert prune_reports(tmp_path, None, now=lambda: later) == [writing]


def test_what_is_not_a_readable_report_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(report_retention, "KEEP_NEWEST_PER_ENDPOINT", 1)
    unreadable = report(tmp_path, targeted=True)
    (unreadable / "run.json").write_text("[" * 200_000)
    stranger = tmp_path / "my-notes"
    stranger.mkdir()
    (tmp_path / "a-file.txt").write_text("mine")
    kept = [report(tmp_path, targeted=True) for _ in range(2)]
    assert prune_reports(tmp_path, None) == [kept[0]]
    assert names(tmp_path.iterdir()) == names([unreadable, stranger, tmp_path / "a-file.txt", kept[1]])


def test_a_folder_that_cannot_be_deleted_is_logged_and_left(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(report_retention, "KEEP_NEWEST_PER_ENDPOINT", 1)
    old, new = report(tmp_path, targeted=True), report(tmp_path, targeted=True)

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(shutil, "rmtree", refuse)
    assert prune_reports(tmp_path, None) == []
    assert old.is_dir() and new.is_dir()
    assert any("could not be deleted" in r.getMessage() and old.name in r.getMessage() for r in caplog.records)
    assert prune_reports(tmp_path / "missing", None) == []


def test_a_sync_prunes_after_it_finishes(tmp_path):
    servers = servers_with_unmatched_tags()
    reports = tmp_path / "plugin_data" / "tagManager" / "reports"
    for _ in range(KEEP_NEWEST_PER_ENDPOINT + 2):
        assert run_plugin(servers, tmp_path)[0] == 0
    assert len(os.listdir(reports)) == KEEP_NEWEST_PER_ENDPOINT
    code, _, stderr = run_plugin(servers, tmp_path, args={"mode": "sync_scene_tags", "scene_ids": "2"})
    assert code == 0
    assert len(os.listdir(reports)) == KEEP_NEWEST_PER_ENDPOINT
    assert "Deleted 1 old report folder(s)" in stderr
    assert stderr.splitlines()[-1].startswith("\x01i\x02Report: ")   # the last line still says where it is
