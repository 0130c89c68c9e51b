"""The asking side of the sync: which StashDB scene each local scene is.

For each batch of scene ids from the snapshot: read the scenes' details from Stash, ask
StashDB by fingerprints (pass 1), and accept an answer only when it is the scene the
StashID names. Scenes pass 1 could not settle wait in the retry buffer; whenever 40 are
waiting (and at the end), one request asks StashDB for them by id (pass 2). Each step
yields a `FetchedBatch` for the writing side.

Everything here runs on the fetcher thread; it only reads and asks, never writes.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from stashdb_api import StashDBAuthError, StashDBError, fingerprint_queries_from_files
from sync_stats import Outcome, shorten

log = logging.getLogger("tagManager.sync")

FOUND_BY_FINGERPRINT = "fingerprint"
FOUND_BY_ID = "id"


class SyncAborted(Exception):
    """The run cannot usefully go on (rejected key, persistent outage)."""


class FailureStreak:
    """Stops a run that keeps failing instead of grinding through every scene."""

    def __init__(self, limit: int, what: str):
        self.limit = limit
        self.what = what
        self.count = 0
        self.last_error: Exception | None = None

    def success(self) -> None:
        self.count = 0

    def failure(self, error: Exception) -> None:
        self.count += 1
        self.last_error = error

    def stop_if_exhausted(self) -> None:
        if self.count >= self.limit:
            raise SyncAborted(f"{self.what} failed {self.count} times in a row; last error: {self.last_error}")


@dataclass
class SettledScene:
    """A scene whose outcome is known without planning (stale, not found, failed)."""

    scene_id: str
    outcome: Outcome
    scene: dict | None = None
    message: str = ""


@dataclass
class FetchedBatch:
    found: list[tuple[dict, dict, str]] = field(default_factory=list)  # scene, StashDB scene, found by
    settled: list[SettledScene] = field(default_factory=list)


class SceneFetcher:
    def __init__(self, local, stashdb, endpoint: str, batch_size: int, max_consecutive_failures: int):
        self.local = local
        self.stashdb = stashdb
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.stashdb_failures = FailureStreak(max_consecutive_failures, "StashDB requests")
        self.read_failures = FailureStreak(max_consecutive_failures, "Stash reads")

    def batches(self, scene_ids: Sequence[str]) -> Iterator[FetchedBatch]:
        retry_buffer: list[dict] = []
        for batch_ids in chunks(scene_ids, self.batch_size):
            yield self._guarded(batch_ids, lambda: self._fingerprint_batch(batch_ids, retry_buffer))
            while len(retry_buffer) >= self.batch_size:
                waiting = retry_buffer[: self.batch_size]
                del retry_buffer[: self.batch_size]
                yield self._guarded([s["id"] for s in waiting], lambda: self._by_ids(waiting))
        if retry_buffer:
            yield self._guarded([s["id"] for s in retry_buffer], lambda: self._by_ids(retry_buffer))

    @staticmethod
    def _guarded(scene_ids: Sequence[str], fetch) -> FetchedBatch:
        """An unexpected failure while fetching fails that batch's scenes, not the run."""
        try:
            return fetch()
        except SyncAborted:
            raise
        except Exception as exc:  # noqa: BLE001 - one batch's failure never stops the run
            log.error("Fetching %d scenes failed unexpectedly: %s: %s", len(scene_ids), type(exc).__name__, exc)
            log.debug("Traceback", exc_info=True)
            return FetchedBatch(settled=[SettledScene(scene_id, Outcome.ERROR, None, str(exc)) for scene_id in scene_ids])

    def _fingerprint_batch(self, batch_ids: Sequence[str], retry_buffer: list[dict]) -> FetchedBatch:
        batch, misses = FetchedBatch(), []
        scenes = self._read_scenes(batch_ids, batch)
        for scene, stashdb_scene in self._by_fingerprints(scenes):
            if stashdb_scene is None:
                misses.append(scene)
            else:
                batch.found.append((scene, stashdb_scene, FOUND_BY_FINGERPRINT))
        retry_buffer.extend(misses)  # only once the whole batch is sorted
        return batch

    # -- pass 1 ------------------------------------------------------------------------

    def _by_fingerprints(self, scenes: list[dict]) -> Iterator[tuple[dict, dict | None]]:
        """Pair each scene with the StashDB scene its StashID names, or None."""
        queries = [fingerprint_queries_from_files(scene.get("files")) for scene in scenes]
        yield from ((scene, None) for scene, query in zip(scenes, queries) if not query)
        asked = [(scene, query) for scene, query in zip(scenes, queries) if query]
        if not asked:
            return
        try:
            answers = self._ask(self.stashdb.find_scenes_by_fingerprints, [query for _, query in asked])
        except StashDBError as exc:
            log.warning("Fingerprint request for %d scenes failed (%s); they will be asked by id", len(asked), exc)
            answers = [[] for _ in asked]
        for (scene, _), candidates in zip(asked, answers):
            yield scene, self._named_live_scene(scene, candidates)

    def _named_live_scene(self, scene: dict, candidates: list) -> dict | None:
        """The candidate the scene's StashID names, if StashDB has not deleted it."""
        wanted = stash_ids_for(scene, self.endpoint)
        return next((c for c in candidates
                     if isinstance(c, dict) and c.get("id") in wanted and not c.get("deleted")), None)

    # -- pass 2 ------------------------------------------------------------------------

    def _by_ids(self, scenes: list[dict]) -> FetchedBatch:
        batch = FetchedBatch()
        asked = []
        for scene in scenes:
            stash_id = first_stash_id(scene, self.endpoint)
            if stash_id is None:
                batch.settled.append(SettledScene(scene["id"], Outcome.ERROR, scene,
                                                  "the scene no longer has a StashID for this endpoint"))
            else:
                asked.append((scene, stash_id))
        if not asked:
            return batch
        try:
            answers = self._ask(self.stashdb.find_scenes_by_ids, [stash_id for _, stash_id in asked])
        except StashDBError as exc:
            log.error("StashDB request for %d scenes by id failed: %s", len(asked), exc)
            batch.settled.extend(SettledScene(scene["id"], Outcome.ERROR, scene, str(exc)) for scene, _ in asked)
            return batch
        for (scene, stash_id), stashdb_scene in zip(asked, answers):
            self._sort_by_id_answer(batch, scene, stash_id, stashdb_scene)
        return batch

    @staticmethod
    def _sort_by_id_answer(batch: FetchedBatch, scene: dict, stash_id: str, stashdb_scene: dict | None) -> None:
        if stashdb_scene is None:
            log.warning("%s: StashDB has no scene %s; re-match this scene in the Tagger", describe_scene(scene), stash_id)
            batch.settled.append(SettledScene(scene["id"], Outcome.NOT_FOUND, scene))
        elif stashdb_scene.get("id") != stash_id:
            message = f"StashDB answered scene {shorten(str(stashdb_scene.get('id')))} when asked for {stash_id}"
            log.error("%s: %s; its tags are not used", describe_scene(scene), message)
            batch.settled.append(SettledScene(scene["id"], Outcome.ERROR, scene, message))
        elif stashdb_scene.get("deleted"):
            log.warning("%s: StashDB scene %s is deleted or merged away; re-match this scene in the Tagger",
                        describe_scene(scene), stash_id)
            batch.settled.append(SettledScene(scene["id"], Outcome.STALE, scene))
        else:
            batch.found.append((scene, stashdb_scene, FOUND_BY_ID))

    # -- shared ------------------------------------------------------------------------

    def _read_scenes(self, batch_ids: Sequence[str], batch: FetchedBatch) -> list[dict]:
        """Fresh details for a batch; ids Stash no longer has, or a failed read, are errors."""
        try:
            scenes = self.local.scenes_by_ids(batch_ids)
            self.read_failures.success()
        except Exception as exc:  # noqa: BLE001 - any failure of the read fails this batch only
            log.error("Reading %d scenes from Stash failed: %s", len(batch_ids), exc)
            batch.settled.extend(SettledScene(scene_id, Outcome.ERROR, None, str(exc)) for scene_id in batch_ids)
            self.read_failures.failure(exc)
            self.read_failures.stop_if_exhausted()
            return []
        by_id = {str(scene.get("id")): scene for scene in scenes if isinstance(scene, dict)}
        for scene_id in batch_ids:
            if scene_id not in by_id:
                batch.settled.append(SettledScene(scene_id, Outcome.ERROR, None, "scene no longer in Stash"))
        return [by_id[scene_id] for scene_id in batch_ids if scene_id in by_id]

    def _ask(self, method, argument):
        try:
            answer = method(argument)
        except StashDBAuthError as exc:
            raise SyncAborted(f"StashDB rejected the API key ({exc}); check it in Settings > Metadata Providers") from None
        except StashDBError as exc:
            self.stashdb_failures.failure(exc)
            self.stashdb_failures.stop_if_exhausted()
            raise
        self.stashdb_failures.success()
        return answer


# -- small helpers ---------------------------------------------------------------------

def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _endpoint_stash_ids(scene: dict, endpoint: str) -> Iterator[str]:
    """The scene's StashDB ids for exactly this endpoint, in Stash's order."""
    for sid in scene.get("stash_ids") or []:
        if isinstance(sid, dict) and sid.get("endpoint") == endpoint and sid.get("stash_id"):
            yield sid["stash_id"]


def stash_ids_for(scene: dict, endpoint: str) -> set[str]:
    return set(_endpoint_stash_ids(scene, endpoint))


def first_stash_id(scene: dict, endpoint: str) -> str | None:
    return next(_endpoint_stash_ids(scene, endpoint), None)


def describe_scene(scene: dict | None, scene_id: str = "?") -> str:
    if scene is None:
        return f"Scene {scene_id}"
    title = scene.get("title")
    return f"Scene {scene.get('id')} ({shorten(str(title))})" if title else f"Scene {scene.get('id')}"
