"""The run's report: what happened to each scene, and which StashDB tags found no match.

Written as the run goes (constant memory, and a killed run still leaves the rows it
reached):
- `scenes.csv` and `scenes.json`: per scene its id, title, StashDB id, outcome, and
  the tags added (or that a dry run would add);
- `unmatched_tags.csv`: StashDB tag names with no local match, with scene counts and
  StashDB tag ids, most frequent first — the list to create or link;
- `summary.json`: the run's summary.
Each run gets its own folder, named by its start time.
"""
from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import IO

SCENE_COLUMNS = ("scene_id", "title", "stashdb_id", "outcome", "tags", "message")


class RunReport:
    def __init__(self, parent: Path, *, label: str = "sync"):
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.folder = _unused_folder(Path(parent) / f"{stamp}-{label}")
        self.folder.mkdir(parents=True)
        self._csv_file = open(self.folder / "scenes.csv", "w", newline="", encoding="utf-8")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(SCENE_COLUMNS)
        self._json_file: IO[str] = open(self.folder / "scenes.json", "w", encoding="utf-8")
        self._json_file.write("[")
        self._rows = 0

    def scene(self, scene_id: str, title: str | None, stashdb_id: str | None, outcome: str,
              tag_names: list[str], message: str = "") -> None:
        row = dict(zip(SCENE_COLUMNS, (scene_id, title or "", stashdb_id or "", outcome, tag_names, message)))
        self._csv.writerow([*list(row.values())[:4], "; ".join(tag_names), message])
        self._json_file.write(("," if self._rows else "") + "\n  " + json.dumps(row, ensure_ascii=False))
        self._rows += 1

    def finish(self, summary: dict, unmatched: list[tuple[str, int, str | None]]) -> Path:
        """Close the scene files and write the unmatched-tag table and the summary."""
        self._json_file.write("\n]\n")
        self._json_file.close()
        self._csv_file.close()
        with open(self.folder / "unmatched_tags.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("stashdb_tag_name", "scenes", "stashdb_tag_id"))
            writer.writerows((name, count, stashdb_id or "") for name, count, stashdb_id in unmatched)
        (self.folder / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        return self.folder

    def close(self) -> None:
        for handle in (self._json_file, self._csv_file):
            if not handle.closed:
                handle.close()


def _unused_folder(folder: Path) -> Path:
    candidate, number = folder, 1
    while candidate.exists():
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    return candidate
