"""Which report folders a finished run leaves behind: reports are kept within one rule.

Per endpoint (as run.json names it), the newest KEEP_NEWEST_PER_ENDPOINT report folders
are kept, and always the newest whole-library run (what `unmatched_tags` lists by default)
and the newest run that asked StashDB about every scene (the memory a re-match reads,
report_memory.covers_library), however many targeted re-runs came after them. Never deleted: the folder of the run that just
finished, a folder without summary.json written to in the last UNFINISHED_GRACE_SECONDS
(another run may be writing it), and anything that is not a report tagManager can read
(no readable run.json). Pruning never raises: a folder that cannot be deleted is logged
and left.
"""
from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Callable

from report_memory import covers_library
from report_reader import ReportFolder, report_folders

log = logging.getLogger("tagManager.report")

KEEP_NEWEST_PER_ENDPOINT = 20
UNFINISHED_GRACE_SECONDS = 3600   # a run writes its report after every batch, at least every few minutes


def prune_reports(parent: Path, current: Path | None, now: Callable[[], float] = time.time) -> list[Path]:
    """Delete the report folders under `parent` the rule does not keep; the deleted ones."""
    try:
        folders = report_folders(parent)
    except OSError as exc:
        log.warning("Reports in %s were not pruned: %s: %s", parent, type(exc).__name__, exc)
        return []
    kept = folders_kept(folders)
    deleted = []
    for folder in folders:
        if folder in kept or _same(folder.path, current) or _maybe_being_written(folder, now()):
            continue
        try:
            shutil.rmtree(folder.path)
        except OSError as exc:
            log.warning("Old report %s could not be deleted (%s: %s); it stays", folder.path, type(exc).__name__, exc)
            continue
        deleted.append(folder.path)
    if deleted:
        log.info("Deleted %d old report folder(s) in %s (kept: the newest %d per stash-box, its newest "
                 "whole-library run and the newest that a re-match reads)", len(deleted), parent, KEEP_NEWEST_PER_ENDPOINT)
    return deleted


def folders_kept(folders: list[ReportFolder]) -> list[ReportFolder]:
    """The folders the rule keeps, of `folders` given newest first."""
    kept, by_endpoint = [], {}
    for folder in folders:
        by_endpoint.setdefault(str(folder.endpoint), []).append(folder)
    for group in by_endpoint.values():
        kept += group[:KEEP_NEWEST_PER_ENDPOINT]
        for keeps in (lambda folder: not folder.targeted, covers_library):
            newest = next((folder for folder in group if keeps(folder)), None)
            if newest is not None and newest not in kept:
                kept.append(newest)
    return kept


def _maybe_being_written(folder: ReportFolder, now: float) -> bool:
    if folder.finished:
        return False
    try:
        newest = max(path.stat().st_mtime for path in (folder.path, *folder.path.iterdir()))
    except (OSError, ValueError):
        return True   # when in doubt, keep it
    return now - newest < UNFINISHED_GRACE_SECONDS


def _same(path: Path, other: Path | None) -> bool:
    try:
        return other is not None and path.resolve() == other.resolve()
    except OSError:
        return True
