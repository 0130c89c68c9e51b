"""The refresh: ask StashDB only about the scenes that changed since the last whole-library report.

The newest report that covered the library (report_memory.py) remembers every scene's
StashDB tags as of its start. The refresh asks StashDB which scenes were updated since
then (less SAFETY_MARGIN_SECONDS), and which of the report's tags were deleted, merged
away or renamed since (stashdb_changes.py). Then the sync runs over the whole library
as usual, with one difference (`RefreshingStashDB`): a scene whose StashDB scene the
memory holds and that nothing says changed is answered from the memory, with no request;
every other scene (StashDB edited it, it carries a changed tag, or the memory does not
know its StashDB scene) goes through the usual two passes. Scenes asked go first, so
their requests stay full. The refresh's own report is again a whole-library memory.

When the refresh cannot be trusted to see every change, or would cost about what the full
sync costs, `FullRunNeeded` says why (the task then runs the full sync, or refuses in a
dry run).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from report_memory import ReportMemory, choose_memory, read_memory, remembered_tag_details
from report_reader import ReportNotFound
from short_text import shorten_names
from stashdb_changes import ChangedScenes, PagingCannotReach, changed_scene_ids, changed_tags

log = logging.getLogger("tagManager.refresh")

SAFETY_MARGIN_SECONDS = 3600        # clock skew between this machine and StashDB; edits committed mid-run
MAX_MEMORY_AGE_SECONDS = 30 * 86400  # older: StashDB's changes have piled up; the full sync is due
MAX_ASKED_SHARE = 0.5               # asking about more of the library than this: the full sync costs less
SCENES_PER_REQUEST = 40


class FullRunNeeded(Exception):
    """The refresh cannot stand in for the full sync; the text says why."""


@dataclass
class RefreshPlan:
    """What the refresh learned before the sync: what changed since when, and what it cost."""

    memory: ReportMemory
    since: float
    paging_started: float
    changed: ChangedScenes
    changed_tags: dict[str, str]
    asked_stashdb_ids: frozenset[str]   # remembered StashDB scenes to ask again
    library_scenes: int
    tag_requests: int = 0

    def asks(self, local_scene_id: str) -> bool:
        """Is this local scene asked about (as far as the memory tells before it is read)?"""
        if local_scene_id in self.memory.gone_scene_of:
            return False
        stashdb_id = self.memory.stashdb_scene_of.get(local_scene_id)
        return stashdb_id is None or stashdb_id in self.asked_stashdb_ids

    def asked_first(self, scene_ids: list[str]) -> list[str]:
        """The scenes in their order, those to ask about first."""
        return sorted(scene_ids, key=lambda scene_id: not self.asks(scene_id))

    @property
    def changed_in_library(self) -> int:
        return len(self.changed.ids.intersection(self.memory.tags_by_stashdb_scene))


def refresh_source(report_dir: Path, endpoint: str, now: float):
    """The newest whole-library report folder for `endpoint`, unread; FullRunNeeded when there
    is none, it is older than MAX_MEMORY_AGE_SECONDS or it lacks its start time."""
    try:
        folder = choose_memory(report_dir, endpoint)
    except (ReportNotFound, OSError) as exc:
        raise FullRunNeeded(f"no whole-library report to refresh from ({exc})") from None
    started = folder.run.get("started_epoch")
    if not isinstance(started, (int, float)) or isinstance(started, bool) or not math.isfinite(started):
        raise FullRunNeeded(f"report {folder.name} does not say when it started")
    if now - started > MAX_MEMORY_AGE_SECONDS:
        raise FullRunNeeded(f"the last whole-library report ({folder.name}) is {(now - started) / 86400:.0f} days "
                            f"old, more than {MAX_MEMORY_AGE_SECONDS // 86400}")
    return folder


def changes_since(folder) -> float:
    """The time a refresh from this report counts StashDB's changes from: its start, less the margin."""
    return float(folder.run["started_epoch"]) - SAFETY_MARGIN_SECONDS


def refresh_availability(report_dir: Path, endpoint: str, now: float) -> dict:
    """What the page shows before a refresh: can one run (without reading the whole memory),
    from which report, counting changes since when; or why the full sync is needed."""
    try:
        folder = refresh_source(report_dir, endpoint, now)
    except FullRunNeeded as exc:
        return {"available": False, "reason": str(exc), "report": None, "since": None}
    return {"available": True, "reason": None, "report": folder.name, "since": iso_time(changes_since(folder)),
            "report_started_at": folder.run.get("started_at"), "kind": folder.run.get("kind", "sync")}


def memory_for_refresh(report_dir: Path, endpoint: str, now: float) -> ReportMemory:
    """The refresh's memory (refresh_source), read; FullRunNeeded when it cannot be read or
    remembers no scene."""
    folder = refresh_source(report_dir, endpoint, now)
    try:
        memory = read_memory(folder)
    except (OSError, ValueError) as exc:
        raise FullRunNeeded(f"report {folder.name} could not be read ({type(exc).__name__}: {exc})") from None
    if not memory.scene_ids:
        raise FullRunNeeded(f"report {folder.name} remembers no scene's StashDB tags")
    return memory


def remembered_tags(memory: ReportMemory) -> dict[str, str]:
    """The memory's distinct StashDB tags: id -> name as the report saw it."""
    return {tag_id: name for tag_id, name in memory.vocabulary if tag_id}


def plan_refresh(client, memory: ReportMemory, library_scene_ids: list[str], now: float | None = None) -> RefreshPlan:
    """Ask StashDB what changed since the memory's start, and decide which scenes to ask about."""
    paging_started = time.time() if now is None else now
    since = changes_since(memory.folder)
    full_run_requests = max(1, math.ceil(len(library_scene_ids) / SCENES_PER_REQUEST))
    try:
        changed = changed_scene_ids(client, since, max_pages=full_run_requests)
    except PagingCannotReach as exc:
        raise FullRunNeeded(f"StashDB's changed scenes could not be listed back to the last report: {exc}") from None
    try:
        tags, tag_requests = changed_tags(client, remembered_tags(memory))
    except PagingCannotReach as exc:
        raise FullRunNeeded(f"StashDB's tags could not be listed: {exc}") from None
    asked = changed.ids.intersection(memory.tags_by_stashdb_scene)
    asked.update(memory.stashdb_scene_of[scene_id] for scene_id in memory.scenes_with_tags(tags))
    plan = RefreshPlan(memory, since, paging_started, changed, tags, frozenset(asked), len(library_scene_ids),
                       tag_requests=tag_requests)
    to_ask = sum(map(plan.asks, library_scene_ids))
    if to_ask > MAX_ASKED_SHARE * len(library_scene_ids):
        raise FullRunNeeded(f"{to_ask} of the library's {len(library_scene_ids)} scenes would be asked again "
                            f"(more than {MAX_ASKED_SHARE:.0%}): the full sync costs about as much")
    return plan


def log_plan(plan: RefreshPlan) -> None:
    log.info("StashDB says %d scenes changed since %s (the last report's start, less %d minutes); the library "
             "carries %d of them (%d page requests)", len(plan.changed.ids), iso_time(plan.since),
             SAFETY_MARGIN_SECONDS // 60, plan.changed_in_library, plan.changed.pages)
    log.info("Re-checked %d StashDB tags of report %s (%d requests): %d changed%s",
             len(remembered_tags(plan.memory)), plan.memory.folder.name, plan.tag_requests, len(plan.changed_tags),
             f" ({shorten_names(sorted(f'{i} {why}' for i, why in plan.changed_tags.items()))})"
             if plan.changed_tags else "")


def iso_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class RefreshingStashDB:
    """The StashDB client's questions for a refresh: a remembered, unchanged StashDB scene is
    answered from the memory; every other question goes to StashDB."""

    def __init__(self, client, plan: RefreshPlan):
        self.client = client
        self.plan = plan
        self.remembered = plan.memory
        self.rate_limiter = client.rate_limiter
        self._lock = threading.Lock()
        self.asked_ids: set[str] = set()         # StashDB scenes asked about
        self.remembered_ids: set[str] = set()    # StashDB scenes answered from the memory
        self.requests = {"fingerprints": 0, "ids": 0, "tag_details": 0}

    @property
    def request_count(self) -> int:
        return self.client.request_count

    def check_access(self) -> str:
        return self.client.check_access()

    def answers_from_memory(self, stashdb_id: str | None) -> bool:
        """The memory holds this StashDB scene and nothing says it changed, or it was deleted
        or unknown (that never changes back)."""
        remembered = stashdb_id is not None and stashdb_id not in self.plan.asked_stashdb_ids and (
            stashdb_id in self.remembered.tags_by_stashdb_scene or stashdb_id in self.remembered.gone_scenes)
        if stashdb_id is not None:
            with self._lock:
                (self.remembered_ids if remembered else self.asked_ids).add(stashdb_id)
        return remembered

    def find_scenes_by_fingerprints(self, fingerprint_lists: Iterable) -> list[list[dict]]:
        lists = [list(fingerprints) for fingerprints in fingerprint_lists]
        self._count("fingerprints", sum(1 for fingerprints in lists if fingerprints))
        return self.client.find_scenes_by_fingerprints(lists)

    def find_scenes_by_ids(self, stashdb_ids: Iterable[str]) -> list:
        """Per id, in order: the memory's answer for a remembered, unchanged scene, else StashDB's."""
        ids = [str(stashdb_id) for stashdb_id in stashdb_ids]
        to_ask = [stashdb_id for stashdb_id in ids if not self.answers_from_memory(stashdb_id)]
        self._count("ids", len(to_ask))
        answers = iter(self.client.find_scenes_by_ids(to_ask) if to_ask else ())
        return [self._remembered(stashdb_id) if stashdb_id not in to_ask else next(answers) for stashdb_id in ids]

    def find_tags_by_ids(self, stashdb_ids: Iterable[str]) -> list:
        """The unmatched tags' details (tag_details.py): the memory's report kept those of its
        unmatched tags, and a tag that did not change since is answered from there; StashDB
        is asked about the rest."""
        ids = [str(stashdb_id) for stashdb_id in stashdb_ids]
        kept = dict(zip(ids, remembered_tag_details(self.remembered.folder, ids)))
        to_ask = [stashdb_id for stashdb_id in ids if kept[stashdb_id] is None or stashdb_id in self.plan.changed_tags]
        self._count("tag_details", len(to_ask))
        asked = dict(zip(to_ask, self.client.find_tags_by_ids(to_ask) if to_ask else ()))
        return [asked[stashdb_id] if stashdb_id in asked else kept[stashdb_id] for stashdb_id in ids]

    def _remembered(self, stashdb_id: str) -> dict | None:
        """The memory's scene; a deleted one as deleted (a stale StashID), an unknown one as None."""
        if self.remembered.gone_scenes.get(stashdb_id) == "stale_stash_id":
            return {"id": stashdb_id, "deleted": True, "tags": []}
        return self.remembered.stashdb_scene(stashdb_id)

    def _count(self, kind: str, scenes: int) -> None:
        with self._lock:
            self.requests[kind] += math.ceil(scenes / SCENES_PER_REQUEST)

    def summary(self) -> dict:
        """The refresh's own figures, for the log and summary.json."""
        plan = self.plan
        return {"changed_since": iso_time(plan.since), "source_report": plan.memory.folder.name,
                "stashdb_changed_scenes": len(plan.changed.ids), "changed_in_library": plan.changed_in_library,
                "tags_checked": len(remembered_tags(plan.memory)), "tags_changed": len(plan.changed_tags),
                "scenes_asked": len(self.asked_ids), "scenes_from_memory": len(self.remembered_ids - self.asked_ids),
                "requests": {"paging": plan.changed.pages, "tag_check": plan.tag_requests,
                             "by_fingerprints": self.requests["fingerprints"], "by_id": self.requests["ids"],
                             "tag_details": self.requests["tag_details"]}}


def summary_line(summary: dict) -> str:
    requests = summary["requests"]
    return (f"Refresh since {summary['changed_since']}: StashDB changed {summary['stashdb_changed_scenes']} scenes, "
            f"{summary['changed_in_library']} in the library; {summary['tags_changed']} of "
            f"{summary['tags_checked']} tags changed; {summary['scenes_asked']} scenes asked, "
            f"{summary['scenes_from_memory']} re-matched from report {summary['source_report']}; StashDB requests: "
            f"{requests['paging']} paging, {requests['tag_check']} tag check, {requests['by_fingerprints']} by "
            f"fingerprints, {requests['by_id']} by id, {requests['tag_details']} unmatched tags' details")
