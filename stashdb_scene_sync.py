"""The sync: give every local scene that carries a StashDB id the tags StashDB has for it.

Two sides run at once. The fetcher thread (scene_fetcher.py) reads batches of 40 scenes
from Stash and asks StashDB who they are — by fingerprints, then by id for what
fingerprints could not settle — which is where the rate limit makes it wait. Meanwhile
this thread plans each scene's new tags and writes a batch's additions in one request
(one server-side ADD per scene, never removing a tag). At most one fetched batch waits
beyond the one being written, so memory stays flat whatever the library's size.

This module talks to the two clients only through their methods, never prints, and logs
through the `tagManager` logger.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from scene_fetcher import (
    FOUND_BY_FINGERPRINT,
    FailureStreak,
    FetchedBatch,
    SceneFetcher,
    SettledScene,
    SyncAborted,
    describe_scene,
    first_stash_id,
)
from scene_tag_plan import TagPlan, plan_scene_tags
from sync_stats import Outcome, SyncStats, shorten, summary_lines
from tag_matching import TagCache, TagExcluder

log = logging.getLogger("tagManager.sync")

BATCH_SIZE = 40
DRY_RUN_SCENE_LIMIT = 200
MAX_CONSECUTIVE_FAILURES = 10
MAX_NAMES_IN_LINE = 40

ProgressCallback = Callable[[int, int], None]  # (scenes settled, scenes to settle)


@dataclass(frozen=True)
class SyncSettings:
    endpoint: str
    dry_run: bool = True
    exclude_patterns: tuple[str, ...] = ()
    dry_run_scene_limit: int | None = DRY_RUN_SCENE_LIMIT  # None: preview the whole library
    scene_ids: tuple[str, ...] = ()                          # only these scenes (targeted run)
    limit: int | None = None                                 # only the first N scenes
    batch_size: int = BATCH_SIZE
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES


@dataclass
class ProcessResult:
    scene_id: str
    outcome: Outcome
    added_tag_ids: list[str] = field(default_factory=list)
    message: str = ""


class Progress:
    """Scenes settled out of scenes to settle, rising; `finish` reports the end."""

    def __init__(self, total: int, callback: ProgressCallback | None):
        self.total = total
        self.done = 0
        self.callback = callback

    def advance(self, scenes: int) -> None:
        self.done = min(self.total, self.done + scenes)
        self._report()

    def finish(self) -> None:
        self.done = self.total
        self._report()

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(self.done, self.total)


def sync_scene_tags(local, stashdb, settings: SyncSettings, on_progress: ProgressCallback | None = None,
                    report=None) -> SyncStats:
    """Run the sync; `report` (a run_report.RunReport or alike) receives a row per scene."""
    return SceneTagSync(local, stashdb, settings, on_progress, report).run()


def process_scene(scene: dict, stashdb_scene: dict, sync: "SceneTagSync") -> ProcessResult:
    """One scene on its own: plan its new tags and write them (or log them, dry run)."""
    return sync.write_batch([(scene, stashdb_scene)])[0]


class SceneTagSync:
    def __init__(self, local, stashdb, settings: SyncSettings, on_progress: ProgressCallback | None = None,
                 report=None):
        self.report = report
        self.local = local
        self.stashdb = stashdb
        self.settings = settings
        self.stats = SyncStats(endpoint=settings.endpoint, dry_run=settings.dry_run)
        self.excluder = TagExcluder(settings.exclude_patterns)
        self.tag_cache: TagCache | None = None
        self.write_failures = FailureStreak(settings.max_consecutive_failures, "Stash writes")
        self.progress = Progress(0, on_progress)

    # -- the run -----------------------------------------------------------------------

    def run(self) -> SyncStats:
        try:
            self.tag_cache = TagCache.build(self.local)
            log.info("Loaded %d local tags; %d are linked to %s", self.tag_cache.tag_count,
                     self.tag_cache.linked_count(self.settings.endpoint), self.settings.endpoint)
            scene_ids = self._scene_snapshot()
            self.progress.total = len(scene_ids)
            fetcher = SceneFetcher(self.local, self.stashdb, self.settings.endpoint,
                                   self.settings.batch_size, self.settings.max_consecutive_failures)
            for batch in fetched_in_background(fetcher.batches(scene_ids)):
                self._handle(batch)
        except SyncAborted as exc:
            self.stats.aborted = str(exc)
            log.error("Stopping the run: %s", exc)
        self.stats.scenes_not_processed = self.stats.scenes_total - self.stats.scenes_processed
        self.progress.finish()
        log.info("Found on StashDB by fingerprint: %d scenes; by StashDB id: %d",
                 self.stats.found_by_fingerprint, self.stats.found_by_id)
        for line in summary_lines(self.stats):
            log.info("%s", line)
        return self.stats

    def _scene_snapshot(self) -> list[str]:
        scene_ids = self.local.scene_ids_with_stash_id(self.settings.endpoint)
        log.info("%d scenes have a StashID for %s", len(scene_ids), self.settings.endpoint)
        scene_ids = self._targeted(scene_ids)
        self.stats.scenes_total = len(scene_ids)
        cap = self.settings.dry_run_scene_limit
        if self.settings.dry_run and cap is not None and len(scene_ids) > cap:
            log.info("[DRY RUN] previewing the first %d scenes (oldest update first); turn off "
                     "syncDryRun to process all %d", cap, len(scene_ids))
            scene_ids = scene_ids[:cap]
        return scene_ids

    def _targeted(self, scene_ids: list[str]) -> list[str]:
        """Only the scenes named by a targeted run, and only the first `limit` of them."""
        if self.settings.scene_ids:
            wanted = set(self.settings.scene_ids)
            missing = wanted.difference(scene_ids)
            if missing:
                log.warning("Skipping %d requested scenes with no StashID for %s: %s", len(missing),
                            self.settings.endpoint, shorten_names(sorted(missing, key=_numeric_first)))
            scene_ids = [scene_id for scene_id in scene_ids if scene_id in wanted]
            log.info("Targeted run: %d scenes", len(scene_ids))
        if self.settings.limit is not None and len(scene_ids) > self.settings.limit:
            log.info("Limited to the first %d scenes (oldest update first)", self.settings.limit)
            scene_ids = scene_ids[: self.settings.limit]
        return scene_ids

    def _handle(self, batch: FetchedBatch) -> None:
        for settled in batch.settled:
            self._record(ProcessResult(settled.scene_id, settled.outcome, message=settled.message), settled.scene)
        for _, _, found_by in batch.found:
            if found_by == FOUND_BY_FINGERPRINT:
                self.stats.found_by_fingerprint += 1
            else:
                self.stats.found_by_id += 1
        pairs = [(scene, stashdb_scene) for scene, stashdb_scene, _ in batch.found]
        for (scene, _), result in zip(pairs, self.write_batch(pairs)):
            self._record(result, scene)
        self.write_failures.stop_if_exhausted()

    # -- the writing side --------------------------------------------------------------

    def write_batch(self, pairs: Sequence[tuple[dict, dict]]) -> list[ProcessResult]:
        """Plan each scene's new tags; write them all in one request (or log, dry run).

        Returns one result per pair, in order. A scene whose planning fails unexpectedly
        is that scene's error; the others go on.
        """
        plans = [(scene, self._plan_or_none(scene, stashdb_scene)) for scene, stashdb_scene in pairs]
        changing = [(scene, plan) for scene, plan in plans if plan is not None and plan.new_tag_ids]
        if self.settings.dry_run:
            for scene, plan in changing:
                log.info("[DRY RUN] %s: would add %d tags: %s", describe_scene(scene), len(plan.new_tag_ids),
                         self.tag_names(plan.new_tag_ids))
            errors: dict[str, str | None] = {}
        else:
            errors = self._write(changing)
        return [self._result(scene, plan, errors.get(scene["id"])) for scene, plan in plans]

    def _plan_or_none(self, scene: dict, stashdb_scene: dict) -> TagPlan | None:
        try:
            return self._plan(scene, stashdb_scene)
        except Exception as exc:  # noqa: BLE001 - one scene's failure never stops the run
            log.error("%s: could not plan its tags: %s: %s", describe_scene(scene), type(exc).__name__, exc)
            log.debug("Traceback for scene %s", scene.get("id"), exc_info=True)
            return None

    def _plan(self, scene: dict, stashdb_scene: dict) -> TagPlan:
        plan = plan_scene_tags(scene, stashdb_scene, self.tag_cache, self.settings.endpoint, self.excluder)
        self.stats.excluded_tags_skipped += plan.excluded_count
        for tag in plan.unmatched:
            self.stats.record_unmatched(tag.name, tag.stashdb_id)
        return plan

    def _write(self, changing: list[tuple[dict, TagPlan]]) -> dict[str, str | None]:
        """One request for the batch; a failed request fails its scenes and counts
        towards the streak that stops a run when Stash keeps failing."""
        if not changing:
            return {}
        try:
            errors = self.local.add_tags_to_scenes([(scene["id"], plan.new_tag_ids) for scene, plan in changing])
            self.write_failures.success()
        except Exception as exc:  # noqa: BLE001 - a failed batch write fails its scenes only
            log.debug("Traceback of the failed write", exc_info=True)
            errors = {scene["id"]: f"{type(exc).__name__}: {exc}" for scene, _ in changing}
            log.error("Writing tags to %d scenes failed: %s", len(changing), shorten(str(exc), 500))
            self.write_failures.failure(exc)
            return errors
        for scene, plan in changing:
            error = errors.get(scene["id"])
            if error:
                log.error("%s: update failed: %s", describe_scene(scene), error)
            else:
                log.info("%s: added %d tags: %s", describe_scene(scene), len(plan.new_tag_ids),
                         self.tag_names(plan.new_tag_ids))
        return errors

    def _result(self, scene: dict, plan: TagPlan | None, error: str | None) -> ProcessResult:
        if plan is None:
            return ProcessResult(scene["id"], Outcome.ERROR, message="planning failed; see the log")
        if error:
            return ProcessResult(scene["id"], Outcome.ERROR, message=error)
        if not plan.new_tag_ids:
            return ProcessResult(scene["id"], Outcome.UNCHANGED)
        outcome = Outcome.WOULD_UPDATE if self.settings.dry_run else Outcome.UPDATED
        return ProcessResult(scene["id"], outcome, plan.new_tag_ids)

    def _record(self, result: ProcessResult, scene: dict | None) -> None:
        self.stats.outcomes[result.outcome] += 1
        if result.outcome is Outcome.UPDATED:
            self.stats.tags_added += len(result.added_tag_ids)
        elif result.outcome is Outcome.WOULD_UPDATE:
            self.stats.tags_would_add += len(result.added_tag_ids)
        if self.report is not None:
            scene = scene or {}
            self.report.scene(result.scene_id, scene.get("title"), first_stash_id(scene, self.settings.endpoint),
                              result.outcome.value, self._names(result.added_tag_ids),
                              result.message)
        self.progress.advance(1)

    def tag_names(self, tag_ids: Sequence[str]) -> str:
        return shorten_names(self._names(tag_ids))

    def _names(self, tag_ids: Sequence[str]) -> list[str]:
        return [self.tag_cache.get_name(tag_id) or tag_id for tag_id in tag_ids]


# -- the fetcher thread ----------------------------------------------------------------

_DONE = object()


def fetched_in_background(batches: Iterator[FetchedBatch]) -> Iterator[FetchedBatch]:
    """Runs `batches` on a thread, handing each over as the consumer takes the previous.

    The fetcher starts on batch N+1 only once the consumer has taken batch N, so at most
    one batch is in flight beyond the one being written. An exception on the fetcher
    (SyncAborted included) is raised here, in the consumer. If the consumer stops early,
    the fetcher stops before its next batch.
    """
    handover: queue.Queue = queue.Queue(maxsize=1)
    may_fetch = threading.Semaphore(1)
    stopping = threading.Event()

    def fetch() -> None:
        try:
            for batch in batches:
                handover.put(batch)
                may_fetch.acquire()
                if stopping.is_set():
                    return
            handover.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            handover.put(exc)

    may_fetch.acquire()
    thread = threading.Thread(target=fetch, name="tagManager-fetcher", daemon=True)
    thread.start()
    try:
        while True:
            item = handover.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            may_fetch.release()
            yield item
    finally:
        stopping.set()
        may_fetch.release()
        thread.join(timeout=5)


# -- small helpers ---------------------------------------------------------------------

def _numeric_first(scene_id: str) -> tuple:
    return (0, int(scene_id), "") if scene_id.isdigit() else (1, 0, scene_id)


def shorten_names(names: Iterable[str], limit: int = MAX_NAMES_IN_LINE) -> str:
    names = [shorten(str(name)) for name in names]
    shown = ", ".join(names[:limit])
    more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"


__all__ = ["SyncSettings", "SyncStats", "ProcessResult", "SettledScene", "SyncAborted",
           "sync_scene_tags", "process_scene", "SceneTagSync", "fetched_in_background"]
