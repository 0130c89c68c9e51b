"""The report folder on its own: rows on disk after every flush, failures that never raise."""
from __future__ import annotations

import csv
import json

from run_report import RunReport


def test_rows_are_on_disk_as_valid_json_and_csv_after_each_flush(tmp_path):
    report = RunReport(tmp_path, label="sync")
    report.scene("1", "One, \"quoted\"\nline", "sdb-1", "updated", ["Anal", "Blonde"])
    report.flush()
    rows = json.loads((report.folder / "scenes.json").read_text(encoding="utf-8"))
    assert rows == [{"scene_id": "1", "title": "One, \"quoted\"\nline", "stashdb_id": "sdb-1", "outcome": "updated",
                     "tags": ["Anal", "Blonde"], "message": "", "unmatched_stashdb_tag_ids": [],
                     "added_tag_ids": []}]
    report.scene("2", None, None, "error", [], "HTTP 500")
    report.flush()
    assert len(json.loads((report.folder / "scenes.json").read_text(encoding="utf-8"))) == 2
    with open(report.folder / "scenes.csv", newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle))[1:] == [["1", "One, \"quoted\"\nline", "sdb-1", "updated", "Anal; Blonde", ""],
                                                ["2", "", "", "error", "", "HTTP 500"]]


def test_every_text_written_is_redacted(tmp_path):
    report = RunReport(tmp_path, redact=lambda text: text.replace("s3cret", "[REDACTED]"))
    report.scene("1", "title s3cret", "sdb", "error", ["s3cret tag"], "echo s3cret")
    report.finish({"aborted": "s3cret"}, [("s3cret", 1, "id")])
    for path in report.folder.iterdir():
        assert "s3cret" not in path.read_text(encoding="utf-8"), path.name


def test_a_failed_write_is_logged_once_and_later_rows_are_dropped_quietly(tmp_path, caplog):
    report = RunReport(tmp_path)
    report._csv_file.close()  # the next write fails, as on a full disk
    for scene_id in ("1", "2", "3"):
        report.scene(scene_id, "t", "s", "updated", [])
    report.flush()
    assert report.incomplete and "ValueError" in report.incomplete
    assert len([r for r in caplog.records if r.getMessage().startswith("Report:")]) == 1
    assert report.finish({}, []) == report.folder


def test_an_impossible_folder_makes_an_incomplete_report_not_an_exception(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("a file")
    report = RunReport(blocker)
    report.scene("1", "t", "s", "updated", [])
    assert report.folder is None and report.incomplete
    assert report.finish({}, []) is None


def test_a_killed_runs_report_is_read_as_far_as_it_goes(tmp_path, caplog):
    from report_reader import choose_report, read_stashdb_tags, read_summary, scenes_with_tags, tally_unmatched
    from scene_tag_plan import UnmatchedTag
    from stashdb_tag import StashDBTag

    rope = StashDBTag("sdb-rope", "Rope", "Tied up.", ("Shibari",), "Action")
    report = RunReport(tmp_path, run_info={"endpoint": "E", "dry_run": False, "targeted": False})
    report.scene("1", "One", "s1", "updated", [], unmatched=[UnmatchedTag("Rope", "sdb-rope", rope)])
    report.scene("2", "Two", "s2", "updated", [], unmatched=[UnmatchedTag("Rope", "sdb-rope", rope),
                                                               UnmatchedTag("Gag", "sdb-gag", None)])
    report.flush()
    with open(report.folder / "scenes.json", "ab") as handle:  # killed in the middle of the next row
        handle.write(b',\n  {"scene_id": "3", "unmatched_st')
    folder = choose_report(tmp_path, "E")
    caplog.set_level("INFO", logger="tagManager")
    assert read_summary(folder) is None
    assert tally_unmatched(folder).scene_counts == {"sdb-rope": 2, "sdb-gag": 1}
    assert scenes_with_tags(folder, ["sdb-gag"]) == {"2"}
    assert read_stashdb_tags(folder) == {"sdb-rope": rope}
    (cut,) = {r.getMessage() for r in caplog.records if "cut short" in r.getMessage()}
    assert "scenes.json" in cut and not [r for r in caplog.records if r.levelname == "WARNING"]


def test_the_newest_report_wins_even_within_one_second(tmp_path):
    from report_reader import choose_report

    for label in ("sync", "dry-run", "sync"):  # names sort otherwise: "...-dry-run" < "...-sync" < "...-sync-2"
        RunReport(tmp_path, label=label, run_info={"endpoint": "E", "targeted": False}).close()
    newest = max(tmp_path.iterdir(), key=lambda p: json.loads((p / "run.json").read_text())["started_epoch"])
    assert choose_report(tmp_path, "E").path == newest
