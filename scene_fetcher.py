"""The asking side of the sync: read each scene, and find the StashDB scene its StashID names.

For each batch of scene ids from the snapshot: read the scenes' details from Stash, ask
StashDB by fingerprints (pass 1), and accept an answer only when it is the scene the
StashID names. Scenes pass 1 could not settle wait in the retry buffer; whenever 40 are
waiting (and at the end), one request asks StashDB for them by id (pass 2). Each step
yields one `SceneResult` per scene for the writing side: found (its StashDB scene), or
already final (stale, not found, failed), or DEFERRED when a request failed and the scene
waits for the run's second attempt.

Everything here runs on the fetcher thread; it only reads and asks, never writes.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterator, Sequence

from run_health import OutageWatch, SyncAborted, session_expired_reason, stashdb_key_rejected_reason
from short_text import shorten
from stash_local import StashAuthError
from stashdb_api import (
    StashDBAuthError,
    StashDBError,
    StashDBRateLimited,
    chunks,
    fingerprint_queries_from_files,
)
from sync_stats import FOUND_BY_FINGERPRINT, FOUND_BY_ID, Outcome, SceneResult

log = logging.getLogger("tagManager.sync")

Batch = list[SceneResult]


class SceneFetcher:
    def __init__(self, local, stashdb, endpoint: str, batch_size: int, outage_window: float | None = None,
                 *, skip_organized: bool = False):
        self.skip_organized = skip_organized
        self.local = local
        self.stashdb = stashdb
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.stashdb_outage = OutageWatch("StashDB", outage_window)
        self.read_outage = OutageWatch("Stash reads", outage_window)
        self.last_attempt = False

    def batches(self, scene_ids: Sequence[str], *, last_attempt: bool = False) -> Iterator[Batch]:
        """One list of results per request made. On the last attempt a failed request's
        scenes fail; before it they are DEFERRED."""
        self.last_attempt = last_attempt
        retry_buffer: list[dict] = []
        for batch_ids in chunks(scene_ids, self.batch_size):
            yield self._guarded(batch_ids, lambda: self._fingerprint_batch(batch_ids, retry_buffer))
            while len(retry_buffer) >= self.batch_size:
                waiting = retry_buffer[: self.batch_size]
                del retry_buffer[: self.batch_size]
                yield self._guarded([s["id"] for s in waiting], lambda: self._by_ids(waiting))
        if retry_buffer:
            yield self._guarded([s["id"] for s in retry_buffer], lambda: self._by_ids(retry_buffer))

    def _failed(self, scene_id: str, scene: dict | None, message: str) -> SceneResult:
        """A scene a failed request was about: deferred, or failed on the last attempt."""
        outcome = Outcome.ERROR if self.last_attempt else Outcome.DEFERRED
        return SceneResult(scene_id, scene, outcome=outcome, message=message)

    @staticmethod
    def _guarded(scene_ids: Sequence[str], fetch: Callable[[], Batch]) -> Batch:
        """An unexpected failure while fetching fails that batch's scenes, not the run."""
        try:
            return fetch()
        except SyncAborted:
            raise
        except Exception as exc:  # noqa: BLE001 - one batch's failure never stops the run
            log.error("Fetching %d scenes failed unexpectedly: %s: %s", len(scene_ids), type(exc).__name__, exc)
            log.debug("Traceback", exc_info=True)
            return [SceneResult(scene_id, outcome=Outcome.ERROR, message=str(exc)) for scene_id in scene_ids]

    def _fingerprint_batch(self, batch_ids: Sequence[str], retry_buffer: list[dict]) -> Batch:
        results, scenes = self._read_scenes(batch_ids)
        misses = []
        for scene, stashdb_scene in self._by_fingerprints(scenes):
            if stashdb_scene is None:
                misses.append(scene)
            else:
                results.append(SceneResult(scene["id"], scene, stashdb_scene, FOUND_BY_FINGERPRINT))
        retry_buffer.extend(misses)  # only once the whole batch is sorted
        return results

    # -- read --------------------------------------------------------------------------

    def _read_scenes(self, batch_ids: Sequence[str]) -> tuple[Batch, list[dict]]:
        """Fresh details for a batch; ids Stash no longer has are errors, a failed read
        defers (or fails) the batch."""
        try:
            scenes = self.local.scenes_by_ids(batch_ids)
        except StashAuthError as exc:
            raise SyncAborted(session_expired_reason(str(exc))) from None
        except Exception as exc:  # noqa: BLE001 - any failure of the read costs this batch only
            log.error("Reading %d scenes from Stash failed: %s", len(batch_ids), exc)
            self.read_outage.failure(exc)
            return [self._failed(scene_id, None, str(exc)) for scene_id in batch_ids], []
        self.read_outage.success()
        by_id = {str(scene.get("id")): scene for scene in scenes if isinstance(scene, dict)}
        gone = [SceneResult(scene_id, outcome=Outcome.ERROR, message="scene no longer in Stash")
                for scene_id in batch_ids if scene_id not in by_id]
        scenes = [by_id[scene_id] for scene_id in batch_ids if scene_id in by_id]
        if self.skip_organized:
            gone += [SceneResult(s["id"], s, outcome=Outcome.ORGANIZED) for s in scenes if s.get("organized") is True]
            scenes = [scene for scene in scenes if scene.get("organized") is not True]
        return gone, scenes

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

    def _by_ids(self, scenes: list[dict]) -> Batch:
        results, asked = [], []
        for scene in scenes:
            stash_id = first_stash_id(scene, self.endpoint)
            if stash_id is None:
                results.append(SceneResult(scene["id"], scene, outcome=Outcome.ERROR,
                                           message="the scene no longer has a StashID for this endpoint"))
            else:
                asked.append((scene, stash_id))
        if not asked:
            return results
        try:
            answers = self._ask(self.stashdb.find_scenes_by_ids, [stash_id for _, stash_id in asked])
        except StashDBError as exc:
            later = "they fail" if self.last_attempt else "they get one more attempt at the end of the run"
            log.error("StashDB request for %d scenes by id failed (%s); %s", len(asked), exc, later)
            return results + [self._failed(scene["id"], scene, str(exc)) for scene, _ in asked]
        return results + [by_id_result(scene, stash_id, answer) for (scene, stash_id), answer in zip(asked, answers)]

    # -- asking StashDB ----------------------------------------------------------------

    def _ask(self, method, argument):
        try:
            answer = method(argument)
        except StashDBAuthError as exc:
            raise SyncAborted(stashdb_key_rejected_reason(str(exc))) from None
        except StashDBError as exc:
            self._stop_if_asked_to_wait_too_long(exc)
            self.stashdb_outage.failure(exc)
            raise
        self.stashdb_outage.success()
        return answer

    def _stop_if_asked_to_wait_too_long(self, exc: StashDBError) -> None:
        if isinstance(exc, StashDBRateLimited) and exc.retry_after and exc.retry_after >= self.stashdb_outage.window:
            raise SyncAborted(f"StashDB asked tagManager to wait {exc.retry_after:.0f} s before its next request; "
                              "run the task again after that") from None


def by_id_result(scene: dict, stash_id: str, answer: dict | StashDBError | None) -> SceneResult:
    """What StashDB's answer for one StashID means for its scene."""
    if isinstance(answer, StashDBError):
        message = f"StashDB could not look up its StashID {shorten(stash_id)} ({answer}); re-match it in the Tagger"
        log.error("%s: %s", describe_scene(scene), message)
        return SceneResult(scene["id"], scene, outcome=Outcome.ERROR, message=message)
    if answer is None:
        log.warning("%s: StashDB has no scene %s; re-match this scene in the Tagger", describe_scene(scene), stash_id)
        return SceneResult(scene["id"], scene, outcome=Outcome.NOT_FOUND)
    if answer.get("id") != stash_id:
        message = f"StashDB answered scene {shorten(str(answer.get('id')))} when asked for {stash_id}"
        log.error("%s: %s; its tags are not used", describe_scene(scene), message)
        return SceneResult(scene["id"], scene, outcome=Outcome.ERROR, message=message)
    if answer.get("deleted"):
        log.warning("%s: StashDB scene %s is deleted or merged away; re-match this scene in the Tagger",
                    describe_scene(scene), stash_id)
        return SceneResult(scene["id"], scene, outcome=Outcome.STALE)
    return SceneResult(scene["id"], scene, answer, FOUND_BY_ID)


# -- a scene's StashIDs, and how the log names a scene ---------------------------------

def _endpoint_stash_ids(scene: dict, endpoint: str) -> Iterator[str]:
    """The scene's StashDB ids for exactly this endpoint, in Stash's order."""
    for sid in scene.get("stash_ids") or []:
        if isinstance(sid, dict) and sid.get("endpoint") == endpoint and sid.get("stash_id"):
            yield sid["stash_id"]


def stash_ids_for(scene: dict, endpoint: str) -> set[str]:
    return set(_endpoint_stash_ids(scene, endpoint))


def first_stash_id(scene: dict | None, endpoint: str) -> str | None:
    return next(_endpoint_stash_ids(scene, endpoint), None) if scene else None


def describe_scene(scene: dict | None, scene_id: str = "?") -> str:
    if scene is None:
        return f"Scene {scene_id}"
    title = scene.get("title")
    return f"Scene {scene.get('id')} ({shorten(str(title))})" if title else f"Scene {scene.get('id')}"
