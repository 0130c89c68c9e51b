"""Undo one live run: take from each scene exactly the tags that run added, where the scene
still carries them, and nothing else.

This is the only place tagManager removes a tag (tests/unit/test_undo_run.py checks that no
other module can). What a run added is in its report (`added_tag_ids` per scene row,
run_report.py); the scenes are read fresh from Stash first, so a tag the user removed by
hand since is not "removed" again, and a second undo finds nothing to do. A dry run (the
default) only counts what would go. A live undo writes its own report.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from report_reader import ReportFolder, distinct_scene_rows
from run_report import ADDED_IDS_FIELD, RunReport
from stash_local import SceneTagReader, StashAuthError, StashLocalError
from tag_matching import TagCache

log = logging.getLogger("tagManager.undo")

UNDO_LABEL = "undo"
UNDOABLE_KINDS = ("sync", "rematch")
READ_BATCH = 40


class UndoRefused(Exception):
    """This report cannot be undone; nothing was read or written. The text says why."""


@dataclass
class UndoPlan:
    """Per scene, the tags to remove (added by the run, still on the scene)."""

    removals: list[tuple[str, list[str]]] = field(default_factory=list)
    scenes_missing: int = 0          # scenes the run changed that Stash no longer has
    tags_already_gone: int = 0       # tags the run added that their scene no longer carries

    @property
    def tag_count(self) -> int:
        return sum(len(tag_ids) for _, tag_ids in self.removals)


def check_undoable(folder: ReportFolder) -> None:
    run = folder.run
    if run.get("dry_run") is not False:
        raise UndoRefused(f"report {folder.name} is of a dry run, which wrote nothing to undo")
    if run.get("kind", "sync") not in UNDOABLE_KINDS:
        raise UndoRefused(f"report {folder.name} is of an {run.get('kind')} run: only a sync or a re-match "
                          "can be undone")


def added_by_run(folder: ReportFolder) -> Iterator[tuple[str, list[str]]]:
    """(scene id, the tag ids the run added to it) for each scene it changed."""
    for scene_id, row in distinct_scene_rows(folder):
        added = row.get(ADDED_IDS_FIELD)
        if isinstance(added, list):
            tag_ids = [tag_id for tag_id in added if isinstance(tag_id, str)]
            if tag_ids:
                yield scene_id, tag_ids


def plan_undo(local, folder: ReportFolder) -> UndoPlan:
    """What an undo of `folder`'s run removes, against the scenes as Stash has them now (a
    scene deleted since, or that lost its StashID for the run's stash-box, is left out)."""
    plan, batch = UndoPlan(), []
    reader = SceneTagReader(local, str(folder.endpoint))
    for entry in added_by_run(folder):
        batch.append(entry)
        if len(batch) == READ_BATCH:
            _plan_batch(reader, batch, plan)
            batch = []
    if batch:
        _plan_batch(reader, batch, plan)
    return plan


def _plan_batch(reader: SceneTagReader, batch: list[tuple[str, list[str]]], plan: UndoPlan) -> None:
    carried_by_scene = reader.tag_ids([scene_id for scene_id, _ in batch])
    for scene_id, added in batch:
        carried = carried_by_scene.get(scene_id)
        if carried is None:
            plan.scenes_missing += 1
            continue
        removable = [tag_id for tag_id in added if tag_id in carried]
        plan.tags_already_gone += len(added) - len(removable)
        if removable:
            plan.removals.append((scene_id, removable))


def undo_run(local, folder: ReportFolder, *, dry_run: bool, report_dir: Path,
             redact: Callable[[str], str] = lambda text: text) -> dict:
    """Undo (or, dry run, preview undoing) the run `folder` reports; the answer counts it."""
    check_undoable(folder)
    plan = plan_undo(local, folder)
    answer = {"report": folder.name, "dry_run": dry_run, "scenes": len(plan.removals), "tags": plan.tag_count,
              "scenes_missing": plan.scenes_missing, "tags_already_gone": plan.tags_already_gone}
    if dry_run:
        log.info("[DRY RUN] undo of %s: would remove %d tags from %d scenes (%d tags already gone, %d scenes "
                 "no longer in Stash)", folder.name, plan.tag_count, len(plan.removals), plan.tags_already_gone,
                 plan.scenes_missing)
        return {**answer, "summary": f"would remove {plan.tag_count} tags from {len(plan.removals)} scenes"}
    failed = _remove(local, folder, plan, report_dir, redact, answer)
    removed = plan.tag_count - sum(len(tags) for scene_id, tags in plan.removals if scene_id in failed)
    log.info("Undo of %s: removed %d tags from %d scenes; %d scenes failed", folder.name, removed,
             len(plan.removals) - len(failed), len(failed))
    return {**answer, "failed": len(failed), "removed": removed,
            "summary": f"removed {removed} tags from {len(plan.removals) - len(failed)} scenes"}


def _remove_batch(local, batch: list[tuple[str, list[str]]]) -> dict[str, str | None]:
    """One request's removals; a request that fails as a whole fails its scenes only."""
    try:
        return local.remove_tags_from_scenes(batch)
    except StashAuthError:
        raise
    except StashLocalError as exc:
        log.error("Removing tags from %d scenes failed: %s", len(batch), exc)
        return {scene_id: str(exc) for scene_id, _ in batch}


def _remove(local, folder: ReportFolder, plan: UndoPlan, report_dir: Path, redact, answer: dict) -> set[str]:
    """The removals, written with the undo's own report; the ids of the scenes that failed."""
    report = RunReport(report_dir, label=UNDO_LABEL, redact=redact,
                       run_info={"endpoint": folder.endpoint, "dry_run": False, "targeted": True, "kind": UNDO_LABEL,
                                 "covers_library": False, "source_report": folder.name})
    names = TagCache.build(local)
    errors = {}
    for start in range(0, len(plan.removals), READ_BATCH):
        errors.update(_remove_batch(local, plan.removals[start:start + READ_BATCH]))
    failed = {scene_id for scene_id, error in errors.items() if error}
    removed = plan.tag_count - sum(len(tags) for scene_id, tags in plan.removals if scene_id in failed)
    for scene_id, tag_ids in plan.removals:
        error = errors.get(scene_id)
        report.scene(scene_id, None, None, "error" if error else "tags_removed",
                     [names.get_name(t) or t for t in tag_ids], error or "")
    folder_written = report.finish({**answer, "dry_run": False, "failed": len(failed), "removed": removed}, [])
    answer["undo_report"] = folder_written.name if folder_written is not None else None
    return failed
