"""The report as the plugin's memory: what StashDB said of each scene in a past run.

A run's report lists, per scene, every tag of its StashDB scene (as numbers into the
report's `stashdb_vocabulary.jsonl`) and the local tag ids the run added (run_report.py).
`ReportMemory` reads that back; `RememberedStashDB` answers the sync's StashDB questions
from it, so a re-match runs the sync's own path (read the scene fresh from Stash, plan
with today's tags, links, aliases and exclude patterns, add, record) without a single
StashDB request.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from report_reader import (ReportFolder, ReportNotFound, distinct_scene_rows, json_lines, named_report,
                           read_stashdb_tags, report_folders)
from run_report import MAX_VOCABULARY, STASHDB_TAGS_FIELD, VOCABULARY_FILE

log = logging.getLogger("tagManager.memory")

REMATCH_LABEL = "rematch"
GONE_OUTCOMES = ("stale_stash_id", "not_found")   # sync_stats.Outcome.STALE, NOT_FOUND: StashDB keeps them so


@dataclass
class ReportMemory:
    """Per StashDB scene id: the numbers of its tags; the vocabulary they point into; and the
    local scenes the report found on StashDB, in the report's order."""

    folder: ReportFolder
    vocabulary: list[tuple[str, str]] = field(default_factory=list)      # number -> (id, name)
    tags_by_stashdb_scene: dict[str, tuple[int, ...]] = field(default_factory=dict)
    scene_ids: list[str] = field(default_factory=list)
    stashdb_scene_of: dict[str, str] = field(default_factory=dict)       # local scene id -> StashDB scene id
    gone_scenes: dict[str, str] = field(default_factory=dict)            # StashDB id -> deleted or unknown outcome
    gone_scene_of: dict[str, str] = field(default_factory=dict)          # local scene id -> such a StashDB id

    def stashdb_scene(self, stashdb_id: str, only_tags: frozenset[str] | None = None) -> dict | None:
        """The StashDB scene as the sync's fetcher would have received it (id, tags); with
        `only_tags`, only those of its tags whose StashDB ids are listed."""
        numbers = self.tags_by_stashdb_scene.get(stashdb_id)
        if numbers is None:
            return None
        tags = [{"id": self.vocabulary[n][0], "name": self.vocabulary[n][1]}
                for n in numbers if 0 <= n < len(self.vocabulary)]
        if only_tags is not None:
            tags = [tag for tag in tags if tag["id"] in only_tags]
        return {"id": stashdb_id, "deleted": False, "tags": tags}

    def scenes_with_tags(self, stashdb_tag_ids: Iterable[str]) -> list[str]:
        """The remembered scenes whose StashDB scene carries any of these StashDB tags, in
        the report's order."""
        wanted = set(stashdb_tag_ids)
        numbers = {n for n, (tag_id, _) in enumerate(self.vocabulary) if tag_id in wanted}
        return [scene_id for scene_id in self.scene_ids
                if numbers.intersection(self.tags_by_stashdb_scene.get(self.stashdb_scene_of[scene_id], ()))]


def covers_library(folder: ReportFolder) -> bool:
    """A run that asked StashDB about every scene: not targeted, not a capped dry run, not a
    re-match (which only repeats an older memory)."""
    run = folder.run
    if run.get("targeted") or run.get("kind") == REMATCH_LABEL:
        return False
    return run.get("covers_library", not run.get("dry_run"))


def choose_memory(parent: Path, endpoint: str, name: str | None = None) -> ReportFolder:
    """The report called `name`, else the newest report for `endpoint` that covered the library."""
    folders = report_folders(parent)
    if name is not None:
        return named_report(folders, parent, name)
    for folder in folders:
        if folder.endpoint == endpoint and covers_library(folder):
            return folder
    raise ReportNotFound(f"no report of a whole-library sync from {endpoint} in {parent}: run the sync "
                         "(live, or the full dry-run report) once first")


def read_memory(folder: ReportFolder) -> ReportMemory:
    memory = ReportMemory(folder, vocabulary=read_vocabulary(folder))
    for scene_id, row in distinct_scene_rows(folder):
        numbers = remembered_numbers(row)
        if numbers is None:
            remember_gone(memory, scene_id, row)
            continue
        stashdb_id = row["stashdb_id"]
        memory.tags_by_stashdb_scene[stashdb_id] = numbers
        memory.scene_ids.append(scene_id)
        memory.stashdb_scene_of[scene_id] = stashdb_id
    if not memory.vocabulary and memory.scene_ids:
        log.warning("Report %s remembers scenes but not their tags' names (%s unreadable)", folder.name,
                    VOCABULARY_FILE)
    return memory


def remember_gone(memory: ReportMemory, scene_id: str, row: dict) -> None:
    """A scene whose StashDB scene was deleted or unknown: stash-box never restores a deleted
    scene nor makes an unknown id known, so a refresh need not ask again."""
    if row.get("outcome") in GONE_OUTCOMES and isinstance(row.get("stashdb_id"), str):
        memory.gone_scenes[row["stashdb_id"]] = row["outcome"]
        memory.gone_scene_of[scene_id] = row["stashdb_id"]


def remembered_numbers(row: dict) -> tuple[int, ...] | None:
    """A scene row's StashDB tags as numbers into the vocabulary; None when the row remembers
    no StashDB scene (not found on StashDB, or a report older than the memory)."""
    numbers = row.get(STASHDB_TAGS_FIELD)
    if not (isinstance(row.get("stashdb_id"), str) and isinstance(numbers, list)):
        return None
    return tuple(n for n in numbers if type(n) is int)


def read_vocabulary(folder: ReportFolder) -> list[tuple[str, str]]:
    """`stashdb_vocabulary.jsonl` as a list indexed by number; unreadable lines are skipped
    with a warning (their number then names nothing)."""
    vocabulary: dict[int, tuple[str, str]] = {}
    for entry in json_lines(folder.path / VOCABULARY_FILE, f"report {folder.name}"):
        if type(entry.get("i")) is int and 0 <= entry["i"] < MAX_VOCABULARY and isinstance(entry.get("id"), str) \
                and isinstance(entry.get("name"), str):
            vocabulary[entry["i"]] = (entry["id"], entry["name"])
    size = max(vocabulary, default=-1) + 1
    return [vocabulary.get(number, ("", "")) for number in range(size)]


class RememberedStashDB:
    """The StashDB client's questions, answered from a report: no request leaves the machine."""

    request_count = 0
    rate_limiter = None

    def __init__(self, memory: ReportMemory, only_tags: Iterable[str] | None = None):
        """`only_tags`: answer each scene with only these of its StashDB tags (a re-match
        that follows one tag change adds that tag's match and nothing else)."""
        self.memory = memory
        self.only_tags = None if only_tags is None else frozenset(only_tags)

    def check_access(self) -> str:
        return f"report {self.memory.folder.name}"

    def find_scenes_by_fingerprints(self, fingerprint_lists: Iterable) -> list[list[dict]]:
        """A report knows scenes by StashDB id only: every scene goes on to `find_scenes_by_ids`."""
        return [[] for _ in fingerprint_lists]

    def find_scenes_by_ids(self, stashdb_ids: Iterable[str]) -> list[dict | None]:
        """The remembered scene, or None when the report does not hold that StashDB id (the
        scene's StashID changed since the report)."""
        return [self.memory.stashdb_scene(str(stashdb_id), self.only_tags) for stashdb_id in stashdb_ids]

    def find_tags_by_ids(self, stashdb_ids: Iterable[str]) -> list[dict | None]:
        return remembered_tag_details(self.memory.folder, stashdb_ids)


def remembered_tag_details(folder: ReportFolder, stashdb_ids: Iterable[str]) -> list[dict | None]:
    """Per id, the details the report kept of that tag (it kept those of its unmatched tags),
    as its stashdb_tags.jsonl line (which StashDBTag.from_answer reads like a findTag
    answer); None for a tag it did not describe."""
    wanted = [str(stashdb_id) for stashdb_id in stashdb_ids]
    kept = read_stashdb_tags(folder, set(wanted))
    return [kept[i].as_dict() if i in kept and kept[i].described else None for i in wanted]
