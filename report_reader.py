"""Reading back the report folders run_report.py writes: which report, and what it says
about the StashDB tags no local tag matched.

Every file is read in bounded memory: scenes.json a row at a time (run_report.py writes
one row a line), stashdb_tags.jsonl a tag at a time. A file or a line that does not
decode — nested deeper than Python decodes, cut short, longer than a line may be, not
UTF-8, or not the type it should be — is skipped as unreadable, with one warning naming
it, and the rest is read. A killed run's report has no summary.json, and its scenes.json
may end in a row cut short: both are read as far as they go.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from run_report import RUN_FILE, SCENES_JSON_FILE, STASHDB_TAGS_FILE, SUMMARY_FILE, UNMATCHED_IDS_FIELD
from short_text import shorten
from stashdb_tag import StashDBTag

log = logging.getLogger("tagManager.report")

MAX_SMALL_FILE_BYTES = 256 * 1024    # run.json and summary.json are a few hundred bytes
MAX_LINE_BYTES = 256 * 1024          # one scenes.json row, one stashdb_tags.jsonl line
MAX_TRACKED_TAGS = 20_000            # distinct StashDB tags counted from one report (StashDB has ~2,500)
MAX_REMATCH_LISTED = 100             # scenes to re-match named in an answer; the rest are counted
REMATCH_OUTCOMES = ("stale_stash_id", "not_found")  # sync_stats.Outcome.STALE and NOT_FOUND
_TOO_LONG = object()


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

    @property
    def finished(self) -> bool:
        return (self.path / SUMMARY_FILE).exists()


# -- which report ----------------------------------------------------------------------

def report_folders(parent: Path) -> list[ReportFolder]:
    """Every report folder with a readable run.json, newest first (by start time, then name).
    A folder whose run.json does not decode is left out, with a warning naming it."""

    def started(folder: ReportFolder) -> float:
        value = folder.run.get("started_epoch")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0

    found = []
    for path in sorted(parent.iterdir()) if parent.is_dir() else ():
        if (path / RUN_FILE).is_file():
            run = read_small_json(path / RUN_FILE, f"report {path.name}: left out")
            if run is not None:
                found.append(ReportFolder(path, run))
    return sorted(found, key=lambda f: (started(f), f.name), reverse=True)


def named_report(folders: list[ReportFolder], parent: Path, name: str) -> ReportFolder:
    """The folder called `name` among `folders`; ReportNotFound saying how many there are."""
    named = [f for f in folders if f.name == name]
    if not named:
        raise ReportNotFound(f"no report named {name!r} in {parent} (there are {len(folders)} readable ones)")
    return named[0]


def choose_report(parent: Path, endpoint: str, name: str | None = None) -> ReportFolder:
    """The report called `name`, else the newest whole-library run for `endpoint`, else the
    newest targeted one (a targeted re-run covers only its scenes)."""
    folders = report_folders(parent)
    if name is not None:
        return named_report(folders, parent, name)
    for_endpoint = [f for f in folders if f.endpoint == endpoint]
    whole = [f for f in for_endpoint if not f.targeted]
    if whole or for_endpoint:
        return (whole or for_endpoint)[0]
    endpoints = sorted({str(f.endpoint) for f in folders})
    raise ReportNotFound(f"no report of a sync from {endpoint} in {parent}" +
                         (f" (reports exist for: {', '.join(endpoints)})" if endpoints else "") +
                         "; run the sync task (a dry run is enough) first")


def newest_run(parent: Path, endpoint: str) -> dict | None:
    """The newest report of any run for `endpoint` (targeted ones too), as the page reads
    it after a task: its name, whether it was a dry run, targeted, finished."""
    folder = next((f for f in report_folders(parent) if f.endpoint == endpoint), None)
    if folder is None:
        return None
    return {"report": folder.name, "dry_run": folder.run.get("dry_run") is not False,
            "targeted": folder.targeted, "finished": folder.finished}


def read_summary(folder: ReportFolder) -> dict | None:
    """summary.json, or None: a killed run has none, an unreadable one is warned about."""
    path = folder.path / SUMMARY_FILE
    return read_small_json(path, f"report {folder.name}: its summary is left out") if path.exists() else None


# -- what a report says about unmatched tags --------------------------------------------

@dataclass
class UnmatchedTally:
    """Per StashDB tag id, how many of the report's scenes lacked it; the scenes to re-match."""

    scene_counts: dict[str, int] = field(default_factory=dict)
    untracked_tags: int = 0            # distinct ids met after MAX_TRACKED_TAGS: not counted
    rematch: list[dict] = field(default_factory=list)  # the first MAX_REMATCH_LISTED
    rematch_total: int = 0


def tally_unmatched(folder: ReportFolder) -> UnmatchedTally:
    """One pass over scenes.json; a scene's repeated row counts once."""
    tally, untracked = UnmatchedTally(), set()
    for scene_id, row in distinct_scene_rows(folder):
        if row.get("outcome") in REMATCH_OUTCOMES:
            tally.rematch_total += 1
            if len(tally.rematch) < MAX_REMATCH_LISTED:
                tally.rematch.append(_rematch_entry(scene_id, row))
        for stashdb_id in unmatched_ids(row):
            if stashdb_id in tally.scene_counts:
                tally.scene_counts[stashdb_id] += 1
            elif len(tally.scene_counts) < MAX_TRACKED_TAGS:
                tally.scene_counts[stashdb_id] = 1
            elif len(untracked) < MAX_TRACKED_TAGS:
                untracked.add(stashdb_id)
    tally.untracked_tags = len(untracked)
    if untracked:
        log.warning("Report %s names more than %d distinct StashDB tags; %d more (at most %d are counted) "
                    "are left out of the listing", folder.name, MAX_TRACKED_TAGS, len(untracked), MAX_TRACKED_TAGS)
    return tally


def scenes_with_tags(folder: ReportFolder, stashdb_ids: Iterable[str]) -> set[str]:
    """The ids of the report's scenes that lacked any of `stashdb_ids`."""
    wanted = set(stashdb_ids)
    return {scene_id for scene_id, row in distinct_scene_rows(folder) if wanted.intersection(unmatched_ids(row))}


def read_stashdb_tags(folder: ReportFolder, wanted: set[str] | None = None) -> dict[str, StashDBTag]:
    """The details stashdb_tags.jsonl holds, per StashDB id (only `wanted` ones, when given):
    a tag's first described line, else its first line (its name only)."""
    tags: dict[str, StashDBTag] = {}
    for value in json_lines(folder.path / STASHDB_TAGS_FILE, f"report {folder.name}"):
        tag = StashDBTag.from_answer(value) if isinstance(value, dict) else None
        if tag is not None and (wanted is None or tag.stashdb_id in wanted):
            known = tags.get(tag.stashdb_id)
            if known is None or (tag.described and not known.described):
                tags[tag.stashdb_id] = tag
    return tags


def distinct_scene_rows(folder: ReportFolder) -> Iterator[tuple[str, dict]]:
    """(scene id, row) for each scene of scenes.json, at its first row."""
    seen: set = set()
    for row in scene_rows(folder.path / SCENES_JSON_FILE, f"report {folder.name}"):
        scene_id = row.get("scene_id")
        if not isinstance(scene_id, str):
            continue
        key = int(scene_id) if scene_id.isascii() and scene_id.isdigit() else scene_id  # smaller in the set
        if key not in seen:
            seen.add(key)
            yield scene_id, row


def unmatched_ids(row: dict) -> list[str]:
    """The StashDB tag ids a scene row names as matched by no local tag, each once."""
    ids = row.get(UNMATCHED_IDS_FIELD)
    return list(dict.fromkeys(i for i in ids if isinstance(i, str))) if isinstance(ids, list) else []


def _rematch_entry(scene_id: str, row: dict) -> dict:
    def text(key: str) -> str | None:
        value = row.get(key)
        return shorten(value, 300) if isinstance(value, str) else None

    return {"scene_id": scene_id, "title": text("title"), "stashdb_id": text("stashdb_id"), "outcome": row["outcome"]}


# -- decoding, a line at a time ---------------------------------------------------------

def scene_rows(path: Path, where: str = "") -> Iterator[dict]:
    """scenes.json's rows, one a line between the "[" and "]" lines run_report.py writes."""
    return json_lines(path, where, skip=(b"[", b"]"))


def json_lines(path: Path, where: str, skip: tuple[bytes, ...] = ()) -> Iterator[dict]:
    """The JSON object on each line of `path` (a trailing comma allowed; `skip` lines and
    empty ones passed over). A line that does not decode to an object is skipped and counted."""
    unreadable, cut_short = 0, False
    try:
        with open(path, "rb") as handle:
            for line in _bounded_lines(handle):
                text = None if line is _TOO_LONG else line.strip().rstrip(b",")
                if text is not None and (not text or text in skip):
                    continue
                value = None if text is None else decode_json(text)
                if isinstance(value, dict):
                    yield value
                    continue
                unreadable += 1
                cut_short = text is not None and text.startswith(b"{") and not line.endswith(b"\n")
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("%s: %s is unreadable (%s); skipped", where, path.name, type(exc).__name__)
        return
    _say_skipped(where, path, unreadable, cut_short)


def _say_skipped(where: str, path: Path, unreadable: int, cut_short: bool) -> None:
    """One line naming the file: info when all it lacks is a last row cut short, as a
    stopped run leaves it; else a warning."""
    if unreadable:
        level = logging.INFO if unreadable == 1 and cut_short else logging.WARNING
        log.log(level, "%s: %s: %d unreadable line%s skipped%s", where, path.name, unreadable,
                "" if unreadable == 1 else "s", " (the last one cut short, as a stopped run leaves it)"
                if cut_short else "")


def _bounded_lines(handle) -> Iterator[Any]:
    """Each line (bytes, with its newline), or _TOO_LONG for one past MAX_LINE_BYTES (read
    through to its end in pieces, never whole)."""
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = handle.readline(MAX_LINE_BYTES)
        yield _TOO_LONG


def read_small_json(path: Path, consequence: str) -> dict | None:
    """A small JSON object file (run.json, summary.json), or None with a warning saying why
    it is unreadable and `consequence`."""
    problem = None
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_SMALL_FILE_BYTES + 1)
    except OSError as exc:
        problem, content = type(exc).__name__, b""
    if problem is None and len(content) > MAX_SMALL_FILE_BYTES:
        problem = f"larger than {MAX_SMALL_FILE_BYTES:,} bytes"
    value = decode_json(content) if problem is None else None
    if problem is None and not isinstance(value, dict):
        problem = "not a JSON object"
    if problem is not None:
        log.warning("%s is unreadable (%s); %s", path, problem, consequence)
        return None
    return value


def decode_json(content: bytes | str) -> Any:
    """The JSON value, or None when it does not decode (not JSON, not UTF-8, or nested
    deeper than Python decodes)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None
