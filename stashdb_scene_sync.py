"""The sync: give every local scene that carries a StashDB id the tags StashDB has for it.

Pass 1 asks StashDB by fingerprints, 40 scenes a request, and accepts an answer only when
it is the scene the StashID names. Everything pass 1 could not settle (no fingerprints,
no answer, another scene, a failed request) goes to the retry queue, which pass 2 asks
by StashDB id. Each scene's new tags are added with a server-side ADD, never removing one.

This module talks to the two clients only through their methods, never prints, and logs
through the `tagManager` logger.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

from scene_tag_plan import TagPlan, plan_scene_tags
from stashdb_api import StashDBAuthError, StashDBError, fingerprint_queries_from_files
from sync_stats import Outcome, SyncStats, summary_lines
from tag_matching import TagCache, TagExcluder

log = logging.getLogger("tagManager.sync")

BATCH_SIZE = 40
DRY_RUN_SCENE_LIMIT = 200
MAX_CONSECUTIVE_FAILURES = 10
MAX_NAMES_IN_LINE = 40
MAX_NAME_CHARS = 100

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class SyncSettings:
    endpoint: str
    dry_run: bool = True
    exclude_patterns: tuple[str, ...] = ()
    dry_run_scene_limit: int = DRY_RUN_SCENE_LIMIT
    batch_size: int = BATCH_SIZE
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES


@dataclass
class ProcessResult:
    scene_id: str
    outcome: Outcome
    added_tag_ids: list[str] = field(default_factory=list)
    message: str = ""


class SyncAborted(Exception):
    """The run cannot usefully go on (rejected key, persistent outage)."""


class FailureStreak:
    """Stops a run that keeps failing instead of grinding through every scene."""

    def __init__(self, limit: int, what: str):
        self.limit = limit
        self.what = what
        self.count = 0

    def success(self) -> None:
        self.count = 0

    def failure(self, error: Exception) -> None:
        self.count += 1
        if self.count >= self.limit:
            raise SyncAborted(f"{self.what} failed {self.count} times in a row; last error: {error}")


class Progress:
    """Scenes settled / scenes to settle, reported as a rising fraction ending at 1.0."""

    def __init__(self, total: int, callback: ProgressCallback | None):
        self.total = total
        self.done = 0
        self.callback = callback

    def advance(self, scenes: int) -> None:
        self.done += scenes
        self._report(min(1.0, self.done / self.total) if self.total else 1.0)

    def finish(self) -> None:
        self._report(1.0)

    def _report(self, fraction: float) -> None:
        if self.callback is not None:
            self.callback(fraction)


def sync_scene_tags(local, stashdb, settings: SyncSettings, on_progress: ProgressCallback | None = None) -> SyncStats:
    return SceneTagSync(local, stashdb, settings, on_progress).run()


def process_scene(scene: dict, stashdb_scene: dict, sync: "SceneTagSync") -> ProcessResult:
    """Plan one scene's new tags and write them (or log them, in a dry run)."""
    plan = plan_scene_tags(scene, stashdb_scene, sync.tag_cache, sync.settings.endpoint, sync.excluder)
    sync.record_plan(plan)
    if not plan.new_tag_ids:
        return ProcessResult(scene["id"], Outcome.UNCHANGED)
    if sync.settings.dry_run:
        log.info("[DRY RUN] %s: would add %d tags: %s", describe_scene(scene), len(plan.new_tag_ids),
                 sync.tag_names(plan.new_tag_ids))
        return ProcessResult(scene["id"], Outcome.WOULD_UPDATE, plan.new_tag_ids)
    sync.local.add_tags(scene["id"], plan.new_tag_ids)
    log.info("%s: added %d tags: %s", describe_scene(scene), len(plan.new_tag_ids), sync.tag_names(plan.new_tag_ids))
    return ProcessResult(scene["id"], Outcome.UPDATED, plan.new_tag_ids)


class SceneTagSync:
    def __init__(self, local, stashdb, settings: SyncSettings, on_progress: ProgressCallback | None = None):
        self.local = local
        self.stashdb = stashdb
        self.settings = settings
        self.on_progress = on_progress
        self.stats = SyncStats(endpoint=settings.endpoint, dry_run=settings.dry_run)
        self.excluder = TagExcluder(settings.exclude_patterns)
        self.tag_cache: TagCache | None = None
        self.stashdb_failures = FailureStreak(settings.max_consecutive_failures, "StashDB requests")
        self.local_failures = FailureStreak(settings.max_consecutive_failures, "Stash requests")
        self.progress = Progress(0, on_progress)

    # -- the run -----------------------------------------------------------------------

    def run(self) -> SyncStats:
        scene_ids: list[str] = []
        settled: set[str] = set()
        try:
            self.tag_cache = TagCache.build(self.local)
            log.info("Loaded %d local tags; %d are linked to %s", self.tag_cache.tag_count,
                     self.tag_cache.linked_count(self.settings.endpoint), self.settings.endpoint)
            scene_ids = self._scene_snapshot()
            self.progress = Progress(len(scene_ids), self.on_progress)
            retry_queue = self._fingerprint_pass(scene_ids, settled)
            self._fallback_pass(retry_queue, settled)
        except SyncAborted as exc:
            self.stats.aborted = str(exc)
            log.error("Stopping the run: %s", exc)
        self.stats.scenes_not_processed = self.stats.scenes_total - self.stats.scenes_processed
        self.progress.finish()
        for line in summary_lines(self.stats):
            log.info("%s", line)
        return self.stats

    def _scene_snapshot(self) -> list[str]:
        scene_ids = self.local.scene_ids_with_stash_id(self.settings.endpoint)
        self.stats.scenes_total = len(scene_ids)
        log.info("%d scenes have a StashID for %s", len(scene_ids), self.settings.endpoint)
        if self.settings.dry_run and len(scene_ids) > self.settings.dry_run_scene_limit:
            log.info("[DRY RUN] previewing the first %d scenes (oldest update first); turn off "
                     "syncDryRun to process all %d", self.settings.dry_run_scene_limit, len(scene_ids))
            scene_ids = scene_ids[: self.settings.dry_run_scene_limit]
        return scene_ids

    # -- pass 1: fingerprints ----------------------------------------------------------

    def _fingerprint_pass(self, scene_ids: Sequence[str], settled: set[str]) -> list[str]:
        retry_queue: list[str] = []
        for batch_ids in chunks(scene_ids, self.settings.batch_size):
            scenes = self._read_scenes(batch_ids, settled)
            for scene, stashdb_scene in self._match_by_fingerprints(scenes):
                if stashdb_scene is None:
                    retry_queue.append(scene["id"])
                else:
                    self.stats.found_by_fingerprint += 1
                    self._settle(scene, stashdb_scene, settled)
        log.info("Pass 1 (fingerprints) settled %d scenes; %d go to pass 2 (by StashDB id)",
                 len(settled), len(retry_queue))
        return retry_queue

    def _match_by_fingerprints(self, scenes: list[dict]) -> Iterator[tuple[dict, dict | None]]:
        """Pair each scene with the StashDB scene its StashID names, or None."""
        queries = [fingerprint_queries_from_files(scene.get("files")) for scene in scenes]
        yield from ((scene, None) for scene, query in zip(scenes, queries) if not query)
        asked = [(scene, query) for scene, query in zip(scenes, queries) if query]
        if not asked:
            return
        try:
            answers = self._ask_stashdb(self.stashdb.find_scenes_by_fingerprints, [query for _, query in asked])
        except StashDBError as exc:
            log.warning("Fingerprint request for %d scenes failed (%s); they go to pass 2", len(asked), exc)
            answers = [[] for _ in asked]
        for (scene, _), candidates in zip(asked, answers):
            wanted = stash_ids_for(scene, self.settings.endpoint)
            yield scene, next((c for c in candidates if isinstance(c, dict) and c.get("id") in wanted), None)

    # -- pass 2: StashDB ids -----------------------------------------------------------

    def _fallback_pass(self, retry_queue: Sequence[str], settled: set[str]) -> None:
        for batch_ids in chunks(retry_queue, self.settings.batch_size):
            for scene in self._read_scenes(batch_ids, settled):
                self._settle_by_id(scene, settled)

    def _settle_by_id(self, scene: dict, settled: set[str]) -> None:
        stash_id = first_stash_id(scene, self.settings.endpoint)
        if stash_id is None:
            message = "the scene no longer has a StashID for this endpoint"
            self._record(ProcessResult(scene["id"], Outcome.ERROR, message=message), scene, settled)
            return
        try:
            stashdb_scene = self._ask_stashdb(self.stashdb.find_scene_by_id, stash_id)
        except StashDBError as exc:
            self._record(ProcessResult(scene["id"], Outcome.ERROR, message=str(exc)), scene, settled)
            return
        if stashdb_scene is None:
            log.warning("%s: StashDB has no scene %s; re-match this scene in the Tagger",
                        describe_scene(scene), stash_id)
            self._record(ProcessResult(scene["id"], Outcome.NOT_FOUND), scene, settled)
        elif stashdb_scene.get("deleted"):
            log.warning("%s: StashDB scene %s is deleted or merged away; re-match this scene in the Tagger",
                        describe_scene(scene), stash_id)
            self._record(ProcessResult(scene["id"], Outcome.STALE), scene, settled)
        else:
            self.stats.found_by_id += 1
            self._settle(scene, stashdb_scene, settled)

    # -- shared steps ------------------------------------------------------------------

    def _read_scenes(self, batch_ids: Sequence[str], settled: set[str]) -> list[dict]:
        """Fresh details for a batch; ids Stash no longer has, or a failed read, are errors."""
        try:
            scenes = self.local.scenes_by_ids(batch_ids)
            self.local_failures.success()
        except Exception as exc:  # noqa: BLE001 - any failure of the read fails this batch only
            log.error("Reading %d scenes from Stash failed: %s", len(batch_ids), exc)
            for scene_id in batch_ids:
                self._record(ProcessResult(scene_id, Outcome.ERROR, message=str(exc)), None, settled)
            self.local_failures.failure(exc)
            return []
        by_id = {str(scene["id"]): scene for scene in scenes if isinstance(scene, dict)}
        for scene_id in batch_ids:
            if scene_id not in by_id:
                self._record(ProcessResult(scene_id, Outcome.ERROR, message="scene no longer in Stash"), None, settled)
        return [by_id[scene_id] for scene_id in batch_ids if scene_id in by_id]

    def _ask_stashdb(self, method, argument):
        try:
            answer = method(argument)
        except StashDBAuthError as exc:
            raise SyncAborted(f"StashDB rejected the API key ({exc}); check it in Settings > Metadata Providers") from None
        except StashDBError as exc:
            self.stashdb_failures.failure(exc)
            raise
        self.stashdb_failures.success()
        return answer

    def _settle(self, scene: dict, stashdb_scene: dict, settled: set[str]) -> None:
        try:
            result = process_scene(scene, stashdb_scene, self)
            self.local_failures.success()
        except SyncAborted:
            raise
        except Exception as exc:  # noqa: BLE001 - one scene's failure never stops the run
            log.error("%s: update failed: %s", describe_scene(scene), exc)
            log.debug("Traceback for scene %s", scene.get("id"), exc_info=True)
            result = ProcessResult(scene["id"], Outcome.ERROR, message=str(exc))
            self.local_failures.failure(exc)
        self._record(result, scene, settled)

    def _record(self, result: ProcessResult, scene: dict | None, settled: set[str]) -> None:
        if result.scene_id in settled:
            return
        settled.add(result.scene_id)
        self.stats.outcomes[result.outcome] += 1
        if result.outcome is Outcome.UPDATED:
            self.stats.tags_added += len(result.added_tag_ids)
        elif result.outcome is Outcome.WOULD_UPDATE:
            self.stats.tags_would_add += len(result.added_tag_ids)
        self.progress.advance(1)

    def record_plan(self, plan: TagPlan) -> None:
        self.stats.excluded_tags_skipped += plan.excluded_count
        for tag in plan.unmatched:
            self.stats.record_unmatched(tag.name, tag.stashdb_id)

    def tag_names(self, tag_ids: Sequence[str]) -> str:
        return shorten_names([self.tag_cache.get_name(tag_id) or tag_id for tag_id in tag_ids])


# -- small helpers ---------------------------------------------------------------------

def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def stash_ids_for(scene: dict, endpoint: str) -> set[str]:
    return {sid.get("stash_id") for sid in scene.get("stash_ids") or []
            if isinstance(sid, dict) and sid.get("endpoint") == endpoint and sid.get("stash_id")}


def first_stash_id(scene: dict, endpoint: str) -> str | None:
    for sid in scene.get("stash_ids") or []:
        if isinstance(sid, dict) and sid.get("endpoint") == endpoint and sid.get("stash_id"):
            return sid["stash_id"]
    return None


def describe_scene(scene: dict) -> str:
    title = scene.get("title")
    return f"Scene {scene.get('id')} ({clip(str(title))})" if title else f"Scene {scene.get('id')}"


def clip(text: str, limit: int = MAX_NAME_CHARS) -> str:
    """Keeps one name from making a log line too long for Stash's log reader."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def shorten_names(names: Iterable[str], limit: int = MAX_NAMES_IN_LINE) -> str:
    names = [clip(str(name)) for name in names]
    shown = ", ".join(names[:limit])
    more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"
