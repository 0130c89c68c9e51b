"""The sync: give every local scene that carries a StashDB id the tags StashDB has for it.

One scene's path, in three files: scene_fetcher.py reads it from Stash and finds its
StashDB scene (read, fetch); scene_tag_plan.py works out what it should gain (plan); this
module writes that and records the result (write, record). The result travels as one
`SceneResult` (sync_stats.py).

Two sides run at once. The fetcher thread reads batches of 40 scenes and asks StashDB who
they are, which is where the rate limit makes it wait. Meanwhile this thread plans each
scene's new tags and has a batch's additions written in one request (one server-side ADD
per scene, never removing a tag) by a writer thread, planning the next batch while that
write is under way; one write at a time. At most one fetched batch waits beyond the one
being planned and the one being written, so memory stays flat whatever the library's
size. Scenes whose requests failed
get one more attempt once every other scene is done (run_health.py says when a run stops).

This module talks to the two clients only through their methods, never prints, and logs
through the `tagManager` logger.
"""
from __future__ import annotations

import logging
import math
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

from run_health import OutageWatch, SyncAborted, session_expired_reason
from scene_fetcher import MAX_REQUESTS_IN_FLIGHT, Batch, SceneFetcher, describe_scene, first_stash_id
from scene_tag_plan import TagPlan, plan_scene_tags
from short_text import format_duration, shorten, shorten_names
from stash_local import StashAuthError
from sync_stats import Outcome, SceneResult, SyncStats, summary_lines
from tag_details import TagDetails
from tag_matching import TagCache, TagExcluder, id_order
from tag_resolution import CREATED, SKIPPED, FAILED, WOULD_CREATE, TagCreator, log_creation

log = logging.getLogger("tagManager.sync")

BATCH_SIZE = 40
DRY_RUN_SCENE_LIMIT = 200
FALLBACK_SHARE_ESTIMATE = 0.35  # share of scenes pass 1 leaves to pass 2, for the time estimate

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
    outage_seconds: float | None = None                      # None: run_health.OUTAGE_SECONDS
    session_age_seconds: int | None = None                   # set when the plugin runs on a login session
    requests_in_flight: int = MAX_REQUESTS_IN_FLIGHT         # StashDB requests waiting for answers at once
    create_missing: bool = False                             # syncCreateMissing: create unmatched tags
    skip_organized: bool = False                             # syncSkipOrganized: leave organized scenes alone
    order_scenes: Callable[[list[str]], list[str]] | None = None  # a refresh: the scenes it asks about first


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


@dataclass
class BatchWrite:
    """One batch between planning and recording: its results, their plans, its write request."""

    batch: list[SceneResult]
    plans: list[tuple[SceneResult, TagPlan | None]]
    last_attempt: bool
    request: Future | None = None   # the additions' write, under way or answered

    @property
    def changing(self) -> list[tuple[SceneResult, TagPlan]]:
        return [(result, plan) for result, plan in self.plans if plan is not None and plan.new_tag_ids]


def _done_now(function: Callable, *args) -> Future:
    """`function(*args)` run here, as a finished Future (a write that need not wait)."""
    future: Future = Future()
    try:
        future.set_result(function(*args))
    except Exception as exc:  # noqa: BLE001 - handed over as the Future's outcome
        future.set_exception(exc)
    return future


def sync_scene_tags(local, stashdb, settings: SyncSettings, on_progress: ProgressCallback | None = None,
                    report=None) -> SyncStats:
    """Run the sync; `report` (a run_report.RunReport or alike) receives a row per scene."""
    return SceneTagSync(local, stashdb, settings, on_progress, report).run()


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
        self.write_outage = OutageWatch("Stash writes", settings.outage_seconds)
        self.progress = Progress(0, on_progress)
        self.tried_creating: set[str] = set()   # StashDB tag ids syncCreateMissing has tried
        self.would_create: set[str] = set()     # ... and, in a dry run, would create
        # The unmatched tags' details serve the report and syncCreateMissing; without either, none is asked.
        self.tag_details = None
        if report is not None or settings.create_missing:   # gathered 40 a request, unless a tag is created now
            self.tag_details = TagDetails(stashdb, gather=not settings.create_missing,
                                          on_described=getattr(report, "describe_tag", None))

    # -- the run -----------------------------------------------------------------------

    def run(self) -> SyncStats:
        try:
            self.tag_cache = TagCache.build(self.local)
            log.info("Loaded %d local tags; %d are linked to %s", self.tag_cache.tag_count,
                     self.tag_cache.linked_count(self.settings.endpoint), self.settings.endpoint)
            scene_ids = self._scene_snapshot()
            self.progress.total = len(scene_ids)
            self._warn_if_longer_than_session(len(scene_ids))
            fetcher = SceneFetcher(self.local, self.stashdb, self.settings.endpoint, self.settings.batch_size,
                                   self.settings.outage_seconds, self.settings.requests_in_flight,
                                   skip_organized=self.settings.skip_organized)
            deferred = self._attempt(fetcher, scene_ids, last_attempt=False)
            if deferred:
                self.stats.deferred = len(deferred)
                log.info("Trying the %d scenes whose requests failed once more", len(deferred))
                self._attempt(fetcher, deferred, last_attempt=True)
            if self.tag_details is not None:
                self.tag_details.finish()
        except SyncAborted as exc:
            self.stats.aborted = str(exc)
            log.error("Stopping the run: %s", exc)
            if self.tag_details is not None:
                self.tag_details.close()
        self.stats.scenes_not_processed = self.stats.scenes_total - self.stats.scenes_processed
        self.stats.report_incomplete = getattr(self.report, "incomplete", None)
        self.progress.finish()
        log.info("Found on StashDB by fingerprint: %d scenes; by StashDB id: %d",
                 self.stats.found_by_fingerprint, self.stats.found_by_id)
        for line in summary_lines(self.stats):
            log.info("%s", line)
        return self.stats

    def _attempt(self, fetcher: SceneFetcher, scene_ids: Sequence[str], last_attempt: bool) -> list[str]:
        """Fetch, plan, write and record these scenes; the ids of those deferred. A batch is
        planned while the previous one's write is under way (one write at a time: Stash
        runs writes one after another anyway); a run that stops still records what was
        written."""
        deferred: list[str] = []
        under_way: BatchWrite | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="tagManager-writer") as writer:
            try:
                for batch in fetched_in_background(fetcher.batches(scene_ids, last_attempt=last_attempt)):
                    planned = self._plan_batch(batch, last_attempt)
                    finished, under_way = under_way, None
                    deferred += self._finish(finished)
                    under_way = self._start_write(planned, writer.submit)
            finally:
                finished, under_way = under_way, None
                deferred += self._finish(finished)
        return deferred

    def _finish(self, write: BatchWrite | None) -> list[str]:
        """Wait for a batch's write, then record its scenes; the ids of those deferred."""
        if write is None:
            return []
        self._finish_write(write)
        deferred = []
        for result in write.batch:
            if result.outcome is Outcome.DEFERRED:
                deferred.append(result.scene_id)
            else:
                self._record(result)
        if self.report is not None:
            self.report.flush()
        return deferred

    def _scene_snapshot(self) -> list[str]:
        endpoint = self.settings.endpoint
        scene_ids = self.local.scene_ids_with_stash_id(endpoint)
        log.info("%d scenes have a StashID for %s", len(scene_ids), endpoint)
        if not scene_ids:
            raise SyncAborted(no_scenes_for_endpoint(endpoint, self.local.stash_id_endpoint_counts()))
        scene_ids = self._targeted(scene_ids)
        if self.settings.order_scenes is not None:
            scene_ids = self.settings.order_scenes(scene_ids)
        self.stats.scenes_total = len(scene_ids)
        cap = self.settings.dry_run_scene_limit
        if self.settings.dry_run and cap is not None and len(scene_ids) > cap:
            log.info("[DRY RUN] previewing the first %d of %d scenes (oldest update first); turn off "
                     "syncDryRun to process them all", cap, len(scene_ids))
            scene_ids = scene_ids[:cap]
        return scene_ids

    def _targeted(self, scene_ids: list[str]) -> list[str]:
        """Only the scenes named by a targeted run, and only the first `limit` of them."""
        if self.settings.scene_ids:
            wanted = set(self.settings.scene_ids)
            missing = wanted.difference(scene_ids)
            self.stats.scenes_missing = len(missing)
            if missing:
                log.warning("Skipping %d requested scenes with no StashID for %s: %s", len(missing),
                            self.settings.endpoint, shorten_names(sorted(missing, key=id_order)))
            scene_ids = [scene_id for scene_id in scene_ids if scene_id in wanted]
            log.info("Targeted run: %d scenes", len(scene_ids))
        if self.settings.limit is not None and len(scene_ids) > self.settings.limit:
            log.info("Limited to the first %d scenes (oldest update first)", self.settings.limit)
            scene_ids = scene_ids[: self.settings.limit]
        return scene_ids

    def _warn_if_longer_than_session(self, scenes: int) -> None:
        age = self.settings.session_age_seconds
        rate = getattr(getattr(self.stashdb, "rate_limiter", None), "requests_per_second", 2.0)
        estimate = estimated_seconds(scenes, self.settings.batch_size, rate)
        if age and estimate > age:
            log.warning("This run may take about %s, longer than Stash's login session lasts (%s): the session "
                        "may expire mid-run and stop it. Generate an API key in Settings > Security; tagManager "
                        "then uses it instead of the session.", format_duration(estimate), format_duration(age))

    # -- plan and write ----------------------------------------------------------------

    def write_batch(self, found: Sequence[SceneResult], last_attempt: bool = True) -> None:
        """Plan, write (or log, dry run) and set the outcome of each found scene, here and now."""
        write = self._plan_batch(found, last_attempt)
        self._finish_write(self._start_write(write, _done_now))

    def _plan_batch(self, batch: Sequence[SceneResult], last_attempt: bool) -> BatchWrite:
        """Each found scene's new tags. A scene whose planning fails unexpectedly is that
        scene's error; the others go on. With syncCreateMissing, the batch's unmatched tags
        are created first and the scenes planned again. The unmatched tags met for the first
        time are described by StashDB first (tag_details.py)."""
        found = [result for result in batch if result.outcome is None]
        plans = self._described_plans(found)
        if self.settings.create_missing and self._create_missing([plan for _, plan in plans if plan]):
            plans = self._described_plans(found)
        if self.would_create:
            self._mark_created_first(plan for _, plan in plans if plan)
        self._keep_unplanned(plans)
        return BatchWrite(list(batch), plans, last_attempt)

    def _described_plans(self, found: list[SceneResult]) -> list[tuple[SceneResult, TagPlan | None]]:
        plans = [(result, self._plan_or_none(result)) for result in found]
        if self.tag_details is not None:
            self.tag_details.describe(plan for _, plan in plans if plan is not None)
        return plans

    def _start_write(self, write: BatchWrite, submit: Callable[..., Future]) -> BatchWrite:
        """Send the batch's additions in one request (dry run: log them instead)."""
        if self.settings.dry_run:
            for result, plan in write.plans:
                if plan is not None and plan.changes_scene:
                    log.info("[DRY RUN] %s: %s", describe_scene(result.scene), self._preview(plan))
        elif write.changing:
            write.request = submit(self.local.add_tags_to_scenes,
                                   [(result.scene_id, plan.new_tag_ids) for result, plan in write.changing])
        return write

    def _finish_write(self, write: BatchWrite) -> None:
        """Wait for the write and set each result's outcome."""
        if write.request is not None:
            self._written(write)
        for result, plan in write.plans:
            if result.outcome is not None:
                continue
            if plan is None:
                result.outcome, result.message = Outcome.ERROR, "planning failed; see the log"
            elif not plan.changes_scene:
                result.outcome = Outcome.UNCHANGED
            else:
                result.outcome = Outcome.WOULD_UPDATE if self.settings.dry_run else Outcome.UPDATED
                result.added_tag_ids = plan.new_tag_ids
                result.created_first = plan.created_first

    def _mark_created_first(self, plans: Iterable[TagPlan]) -> None:
        """A dry run of syncCreateMissing: each plan's unmatched tags it would create (the live
        run creates them, then adds them to the scene)."""
        for plan in plans:
            plan.created_first = [tag.name for tag in plan.unmatched if tag.stashdb_id in self.would_create]

    def _preview(self, plan: TagPlan) -> str:
        """A dry run's line for one scene: the tags it would gain."""
        parts, created = [], plan.created_first
        if plan.new_tag_ids:
            parts.append(f"would add {len(plan.new_tag_ids)} tags: {self.tag_names(plan.new_tag_ids)}")
        if created:
            parts.append(f"{'and' if parts else 'would add'} {len(created)} tags once it creates them: "
                         f"{shorten_names(created)}")
        return "; ".join(parts)

    def _plan_or_none(self, result: SceneResult) -> TagPlan | None:
        try:
            return plan_scene_tags(result.scene, result.stashdb_scene, self.tag_cache, self.settings.endpoint,
                                   self.excluder)
        except Exception as exc:  # noqa: BLE001 - one scene's failure never stops the run
            log.error("%s: could not plan its tags: %s: %s", describe_scene(result.scene), type(exc).__name__, exc)
            log.debug("Traceback for scene %s", result.scene_id, exc_info=True)
            return None

    @staticmethod
    def _keep_unplanned(plans: list[tuple[SceneResult, TagPlan | None]]) -> None:
        """The final plans' unmatched and excluded StashDB tags, kept on each result; they are
        counted when the result is recorded (a deferred scene is planned again)."""
        for result, plan in plans:
            if plan is not None:
                result.unmatched, result.excluded_count = list(plan.unmatched), plan.excluded_count

    def _create_missing(self, plans: list[TagPlan]) -> bool:
        """syncCreateMissing: a local tag for each unmatched StashDB tag not tried yet, as
        create_tags makes it (dry run: logged only). True when a tag was created."""
        creator = TagCreator(self.local, self.tag_cache, self.settings.endpoint, dry_run=self.settings.dry_run)
        created = False
        for tag in (t for plan in plans for t in plan.unmatched):
            if tag.details is None or tag.stashdb_id in self.tried_creating:
                continue
            self.tried_creating.add(tag.stashdb_id)
            if not tag.details.described:
                log.warning("Not creating local tag %r from StashDB tag %s: StashDB did not answer for its details "
                            "(aliases, description)", tag.name, tag.stashdb_id)
                self.stats.tag_creations_skipped += 1
                continue
            try:
                creation = creator.create(tag.details)
            except StashAuthError as exc:
                raise SyncAborted(session_expired_reason(str(exc))) from None
            log_creation(creation)
            created |= creation.status == CREATED
            self.stats.tags_created += creation.status == CREATED
            self.stats.tags_would_create += creation.status == WOULD_CREATE
            if creation.status == WOULD_CREATE:
                self.would_create.add(tag.stashdb_id)
            self.stats.tag_creations_skipped += creation.status in (SKIPPED, FAILED)
        return created

    def _written(self, write: BatchWrite) -> None:
        """The write request's answer. A scene Stash refused fails alone; a request that
        failed as a whole defers its scenes (or fails them, on the last attempt)."""
        try:
            errors = write.request.result()
        except StashAuthError as exc:
            raise SyncAborted(session_expired_reason(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - a failed batch write costs its scenes only
            log.debug("Traceback of the failed write", exc_info=exc)
            later = "they fail" if write.last_attempt else "they get one more attempt at the end of the run"
            log.error("Writing tags to %d scenes failed (%s); %s", len(write.changing), shorten(str(exc), 500), later)
            self.write_outage.failure(exc)
            for result, _ in write.changing:
                result.outcome = Outcome.ERROR if write.last_attempt else Outcome.DEFERRED
                result.message = f"{type(exc).__name__}: {exc}"
            return
        self.write_outage.success()
        for result, plan in write.changing:
            error = errors.get(result.scene_id)
            if error:
                log.error("%s: update failed: %s", describe_scene(result.scene), error)
                result.outcome, result.message = Outcome.ERROR, error
            else:
                log.info("%s: added %d tags: %s", describe_scene(result.scene), len(plan.new_tag_ids),
                         self.tag_names(plan.new_tag_ids))

    # -- record ------------------------------------------------------------------------

    def _record(self, result: SceneResult) -> None:
        self.stats.record(result)
        if self.report is not None:
            stashdb_tags = (result.stashdb_scene or {}).get("tags") if result.stashdb_scene else None
            self.report.scene(result.scene_id, (result.scene or {}).get("title"),
                              first_stash_id(result.scene, self.settings.endpoint), result.outcome.value,
                              self._names(result.added_tag_ids) + result.created_first, result.message,
                              result.unmatched, stashdb_tags if isinstance(stashdb_tags, list) else None,
                              result.added_tag_ids if not self.settings.dry_run else [])
        self.progress.advance(1)

    def tag_names(self, tag_ids: Sequence[str]) -> str:
        return shorten_names(self._names(tag_ids))

    def _names(self, tag_ids: Sequence[str]) -> list[str]:
        return [self.tag_cache.get_name(tag_id) or tag_id for tag_id in tag_ids]


def no_scenes_for_endpoint(endpoint: str, counts: dict[str, int]) -> str:
    """Why a run has nothing to do, with the endpoints the library's scenes do carry."""
    if not counts:
        return (f"0 scenes carry a StashID for {endpoint}, and none carries one for any other stash-box: "
                "match scenes to StashDB in the Tagger first")
    carried = ", ".join(f"{name} ({count} scenes)"
                        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    return (f"0 scenes carry a StashID for exactly {endpoint}. Scenes carry StashIDs for: {carried}. "
            "Choose one of those (the syncEndpoint setting, or STASHDB_URL) - the URL must match exactly, "
            "a trailing slash included")


def estimated_seconds(scenes: int, batch_size: int, requests_per_second: float) -> float:
    """About how long StashDB's rate limit makes a run of `scenes` scenes take."""
    requests = math.ceil(scenes / batch_size) * (1 + FALLBACK_SHARE_ESTIMATE)
    return requests / requests_per_second


# -- the fetcher thread ----------------------------------------------------------------

_DONE = object()


def fetched_in_background(batches: Iterator[Batch]) -> Iterator[Batch]:
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
