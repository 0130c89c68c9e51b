"""Reading back the report folders run_report.py writes: which report, and what it says
about the StashDB tags no local tag matched.

A report of a killed run has no summary.json, and its scenes.json may end in a row cut
short; both are read as far as they go.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from run_report import RUN_FILE, SCENES_JSON_FILE, STASHDB_TAGS_FILE, SUMMARY_FILE, UNMATCHED_IDS_FIELD
from stashdb_tag import StashDBTag


class ReportNotFound(Exception):
    """No report answers the request; the text says what there is."""


@dataclass(frozen=True)
class ReportFolder:
    path: Path
    run: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def endpoint(self) -> str | None:
        return self.run.get("endpoint")

    @property
    def targeted(self) -> bool:
        return bool(self.run.get("targeted"))


@dataclass
class UnmatchedInReport:
    """Per StashDB tag id: the report's scenes that lacked it, and what StashDB said of it."""

    folder: ReportFolder
    summary: dict | None
    scene_ids: dict[str, list[str]] = field(default_factory=dict)
    tags: dict[str, StashDBTag] = field(default_factory=dict)
    rematch: list[dict] = field(default_factory=list)  # scenes whose StashID is stale or unknown to StashDB


def report_folders(parent: Path) -> list[ReportFolder]:
    """Every report folder with a readable run.json, newest first (by start time, then name)."""

    def started(folder: ReportFolder) -> float:
        value = folder.run.get("started_epoch")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0

    found = []
    for path in parent.iterdir() if parent.is_dir() else ():
        run = _json_object(path / RUN_FILE)
        if run is not None:
            found.append(ReportFolder(path, run))
    return sorted(found, key=lambda f: (started(f), f.name), reverse=True)


def choose_report(parent: Path, endpoint: str, name: str | None = None) -> ReportFolder:
    """The report called `name`, else the newest whole-library run for `endpoint`, else the
    newest targeted one (a targeted re-run covers only its scenes)."""
    folders = report_folders(parent)
    if name is not None:
        named = [f for f in folders if f.name == name]
        if not named:
            raise ReportNotFound(f"no report named {name!r} in {parent} (there are {len(folders)})")
        return named[0]
    for_endpoint = [f for f in folders if f.endpoint == endpoint]
    whole = [f for f in for_endpoint if not f.targeted]
    if whole or for_endpoint:
        return (whole or for_endpoint)[0]
    endpoints = sorted({str(f.endpoint) for f in folders})
    raise ReportNotFound(f"no report of a sync from {endpoint} in {parent}" +
                         (f" (reports exist for: {', '.join(endpoints)})" if endpoints else "") +
                         "; run the sync task (a dry run is enough) first")


def read_summary(folder: ReportFolder) -> dict | None:
    """summary.json: None for a run that did not finish (killed), or an unreadable file."""
    return _json_object(folder.path / SUMMARY_FILE)


REMATCH_OUTCOMES = ("stale_stash_id", "not_found")  # sync_stats.Outcome.STALE and NOT_FOUND


def read_unmatched(folder: ReportFolder) -> UnmatchedInReport:
    result = UnmatchedInReport(folder, _json_object(folder.path / SUMMARY_FILE))
    for row in scene_rows(folder.path / SCENES_JSON_FILE):
        scene_id = row.get("scene_id")
        if row.get("outcome") in REMATCH_OUTCOMES and isinstance(scene_id, str):
            result.rematch.append({key: row.get(key) for key in ("scene_id", "title", "stashdb_id", "outcome")})
        for stashdb_id in row.get(UNMATCHED_IDS_FIELD) or ():
            if isinstance(stashdb_id, str) and isinstance(scene_id, str):
                result.scene_ids.setdefault(stashdb_id, []).append(scene_id)
    for tag in stashdb_tags(folder.path / STASHDB_TAGS_FILE):
        result.tags.setdefault(tag.stashdb_id, tag)
    return result


def scene_rows(path: Path) -> list[dict]:
    """scenes.json's rows; row by row when the file was cut short (a killed run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        rows = [row for row in map(_row_on_line, text.splitlines()) if row is not None]
    return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []


def _row_on_line(line: str) -> dict | None:
    line = line.strip().rstrip(",")
    return _json_dict(line) if line.startswith("{") else None


def stashdb_tags(path: Path) -> list[StashDBTag]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    tags = (StashDBTag.from_answer(value) for value in map(_json_dict, lines) if value is not None)
    return [tag for tag in tags if tag is not None]


def _json_object(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return _json_dict(text)


def _json_dict(text: str) -> dict | None:
    """The JSON object `text` holds, or None (not JSON, or not an object)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
