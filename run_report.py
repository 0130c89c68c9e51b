"""The run's report: what happened to each scene, and which StashDB tags found no match.

Written as the run goes (constant memory), flushed after every batch, so a killed run
leaves a row for every scene it wrote, at most one batch behind, and `scenes.json` is a
complete JSON array at every flush:
- `scenes.csv` and `scenes.json`: per scene its id, title, StashDB id, outcome, and
  the tags added (or that a dry run would add);
- `unmatched_tags.csv`: StashDB tag names with no local match, with scene counts and
  StashDB tag ids, most frequent first — the list to create or link;
- `summary.json`: the run's summary, with the time it finished;
- `run.json` (written first): the endpoint, dry run or not, targeted or not, start time
  (a refresh's: the moment its paging of StashDB's changes began);
- `stashdb_tags.jsonl`: one line per StashDB tag no local tag matched, written when it is
  first met (its id and name, `described` false, unless its details were already asked),
  and one more with its description, aliases and category when they come (tag_details.py
  asks them 40 tags a request); flushed with the scenes. A reader prefers the described line.
`scenes.json` also names, per scene, the StashDB tag ids no local tag matched: with
`stashdb_tags.jsonl` that is everything `unmatched_tags` lists, without asking StashDB.

The report is also the plugin's memory of what StashDB said: each scene row lists every
tag of its StashDB scene (matched, unmatched and excluded alike) as small numbers into
`stashdb_vocabulary.jsonl` (one `{"i", "id", "name"}` line per StashDB tag met), and the
local tag ids the run added (`added_tag_ids`). A re-match reads that instead of asking
StashDB, and an undo removes exactly `added_tag_ids`.
Each run gets its own folder, named by its start time.

A report never stops or changes the sync: the first failure to write (a full disk, a
folder that cannot be made) is logged once, writing stops, and `incomplete` says why.
Every text written passes the run's secret redaction first.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import time
from pathlib import Path
from typing import Callable

from stashdb_tag import kept_text

log = logging.getLogger("tagManager.report")

SCENE_COLUMNS = ("scene_id", "title", "stashdb_id", "outcome", "tags", "message")
UNMATCHED_IDS_FIELD = "unmatched_stashdb_tag_ids"  # in scenes.json only
STASHDB_TAGS_FIELD, ADDED_IDS_FIELD = "stashdb_tags", "added_tag_ids"  # in scenes.json only
RUN_FILE, SUMMARY_FILE, SCENES_JSON_FILE, STASHDB_TAGS_FILE, VOCABULARY_FILE = (
    "run.json", "summary.json", "scenes.json", "stashdb_tags.jsonl", "stashdb_vocabulary.jsonl")
MAX_VOCABULARY = 200_000   # distinct StashDB tags one report remembers (StashDB has a few thousand)
_JSON_END = b"\n]\n"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class RunReport:
    def __init__(self, parent: Path, *, label: str = "sync", redact: Callable[[str], str] = lambda text: text,
                 run_info: dict | None = None):
        self.redact = redact
        self.incomplete: str | None = None
        self.folder: Path | None = None
        self._csv_file = self._json_file = self._tags_file = self._vocabulary_file = None
        self._rows = 0
        self._named_tags: set[str] = set()       # StashDB tag ids with a line in stashdb_tags.jsonl
        self._described_tags: set[str] = set()   # ... with a described line
        self._vocabulary: dict[str, int] = {}   # StashDB tag id -> its number in this report
        self._guard(lambda: self._open(Path(parent), label, run_info or {}))

    def _open(self, parent: Path, label: str, run_info: dict) -> None:
        folder = _unused_folder(parent / f"{time.strftime('%Y%m%d-%H%M%S')}-{label}")
        folder.mkdir(parents=True)
        self.folder = folder
        self._write_json(folder / RUN_FILE, {"started_at": now_iso(), "started_epoch": time.time(), **run_info})
        self._csv_file = open(folder / "scenes.csv", "wb")
        self._json_file = open(folder / SCENES_JSON_FILE, "wb")
        self._tags_file = open(folder / STASHDB_TAGS_FILE, "wb")
        self._vocabulary_file = open(folder / VOCABULARY_FILE, "wb")
        self._csv_file.write(self._csv_line(SCENE_COLUMNS))
        self._json_file.write(b"[" + _JSON_END)

    def scene(self, scene_id: str, title: str | None, stashdb_id: str | None, outcome: str,
              tag_names: list[str], message: str = "", unmatched: list | None = None,
              stashdb_tags: list | None = None, added_tag_ids: list[str] | None = None) -> None:
        """One scene's row; `unmatched` holds its scene_tag_plan.UnmatchedTag entries,
        `stashdb_tags` its StashDB scene's tags ({id, name}), `added_tag_ids` what it gained."""
        row = dict(zip(SCENE_COLUMNS, (scene_id, title or "", stashdb_id or "", outcome, tag_names, message)))
        unmatched = [tag for tag in unmatched or () if tag.stashdb_id]
        row[UNMATCHED_IDS_FIELD] = [tag.stashdb_id for tag in unmatched]
        if stashdb_tags is not None:
            row[STASHDB_TAGS_FIELD] = self._remembered(stashdb_tags)
        row[ADDED_IDS_FIELD] = list(added_tag_ids or [])
        self._guard(lambda: self._write_row(row))
        for tag in unmatched:
            if tag.details is not None and tag.stashdb_id not in self._named_tags:
                self._write_tag(tag.details)

    def describe_tag(self, details) -> None:
        """A StashDB tag's details (a stashdb_tag.StashDBTag), when they come after its name."""
        if details.described and details.stashdb_id not in self._described_tags:
            self._write_tag(details)

    def _remembered(self, stashdb_tags: list) -> list[int]:
        """The numbers of these StashDB tags in the vocabulary, each new one written to it."""
        numbers = []
        for tag in stashdb_tags:
            tag_id, name = (tag.get("id"), tag.get("name")) if isinstance(tag, dict) else (None, None)
            if not isinstance(tag_id, str) or not isinstance(name, str):
                continue
            number = self._vocabulary.get(tag_id)
            if number is None and len(self._vocabulary) < MAX_VOCABULARY:
                number = self._vocabulary[tag_id] = len(self._vocabulary)
                line = json.dumps({"i": number, "id": kept_text(tag_id), "name": kept_text(name)}, ensure_ascii=False)
                self._guard(lambda: self._vocabulary_file.write(self.redact(line + "\n").encode("utf-8")))
            if number is not None:
                numbers.append(number)
        return numbers

    def _write_json(self, path: Path, value: dict) -> None:
        path.write_text(self.redact(json.dumps(value, indent=2, ensure_ascii=False)), encoding="utf-8")

    def _write_tag(self, details) -> None:
        self._named_tags.add(details.stashdb_id)
        if details.described:
            self._described_tags.add(details.stashdb_id)
        line = json.dumps(details.as_dict(), ensure_ascii=False) + "\n"
        self._guard(lambda: self._tags_file.write(self.redact(line).encode("utf-8")))

    def _write_row(self, row: dict) -> None:
        self._csv_file.write(self._csv_line([*list(row.values())[:4], "; ".join(row["tags"]), row["message"]]))
        self._json_file.seek(-len(_JSON_END), io.SEEK_END)  # over the closing bracket
        entry = ("," if self._rows else "") + "\n  " + json.dumps(row, ensure_ascii=False)
        self._json_file.write(self.redact(entry).encode("utf-8") + _JSON_END)
        self._rows += 1

    def flush(self) -> None:
        """Push the rows so far to disk (after every batch)."""
        self._guard(lambda: [handle.flush() for handle in self._handles()])

    def finish(self, summary: dict, unmatched: list[tuple[str, int, str | None]]) -> Path | None:
        """Close the scene files and write the unmatched-tag table and the summary."""
        self.close()
        self._guard(lambda: self._write_tables(summary, unmatched))
        return self.folder

    def _write_tables(self, summary: dict, unmatched: list[tuple[str, int, str | None]]) -> None:
        with open(self.folder / "unmatched_tags.csv", "wb") as handle:
            handle.write(self._csv_line(("stashdb_tag_name", "scenes", "stashdb_tag_id")))
            for name, count, stashdb_id in unmatched:
                handle.write(self._csv_line((name, count, stashdb_id or "")))
        self._write_json(self.folder / SUMMARY_FILE,
                         {**summary, "report_incomplete": self.incomplete, "finished_at": now_iso()})

    def close(self) -> None:
        """Close every file, even after a failure stopped the writing (a failed close is one)."""
        for handle in self._handles():
            try:
                if handle is not None:
                    handle.close()
            except OSError as exc:
                self._failed(exc)

    def _handles(self) -> tuple:
        return self._json_file, self._csv_file, self._tags_file, self._vocabulary_file

    def _csv_line(self, values) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer).writerow(values)
        return self.redact(buffer.getvalue()).encode("utf-8")

    def _guard(self, write: Callable[[], object]) -> None:
        """Do one write unless an earlier one failed; a failure is logged once, never raised."""
        if self.incomplete is not None:
            return
        try:
            write()
        except (OSError, ValueError) as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        """The first failure stops the report and is logged; later ones add nothing."""
        if self.incomplete is not None:
            return
        where = self.folder or "the report folder"
        self.incomplete = f"could not write to {where} ({type(exc).__name__}: {exc}); the report stops here"
        log.warning("Report: %s. The sync goes on.", self.incomplete)


def _unused_folder(folder: Path) -> Path:
    candidate, number = folder, 1
    while candidate.exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    return candidate
