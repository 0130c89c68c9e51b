"""The asking side of the sync: read each scene, and find the StashDB scene its StashID names.

For each batch of scene ids from the snapshot: read the scenes' details from Stash, ask
StashDB by fingerprints (pass 1), and accept an answer only when it is the scene the
StashID names. Scenes pass 1 could not settle wait in the retry buffer, and one request
asks StashDB for 40 of them by id (pass 2) when a batch waits for every request that may
be in flight (200), when pass 1 has asked everything, and for the last few once no pass-1
answer is left to come. Pass 1 goes first so that the run's last answers do not come two
answer times after its last request. Each step yields one `SceneResult` per scene for the
writing side: found (its StashDB scene), or already final (stale, not found, failed), or
DEFERRED when a request failed and the scene waits for the run's second attempt.

Everything here runs on the fetcher thread; it only reads and asks, never writes.
"""
from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
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


MAX_REQUESTS_IN_FLIGHT = 5  # StashDB requests that may wait for their answers at once


@dataclass
class _Ask:
    """One StashDB request on its way, and how its answer becomes scene results."""

    scene_ids: list[str]                       # the scenes it asks about, for an unexpected failure
    ready: Batch                               # results known before asking
    future: Future | None                      # the request; None when nothing needed asking
    settle: Callable[[object], Batch] = lambda answer: []  # answer (or its StashDBError) -> results
    by_fingerprints: bool = False              # pass 1: its answer may send scenes to pass 2


def _request_pool(requests_in_flight: int) -> Executor:
    """The threads StashDB requests wait on (tests may run them inline, in order)."""
    return ThreadPoolExecutor(requests_in_flight, thread_name_prefix="tagManager-stashdb")


class SceneFetcher:
    def __init__(self, local, stashdb, endpoint: str, batch_size: int, outage_window: float | None = None,
                 requests_in_flight: int = MAX_REQUESTS_IN_FLIGHT, *, skip_organized: bool = False,
                 pool_factory: Callable[[int], Executor] = _request_pool):
        self.skip_organized = skip_organized
        self.pool_factory = pool_factory
        self.local = local
        self.stashdb = stashdb
        self.endpoint = endpoint
        self.batch_size = batch_size
        self.requests_in_flight = max(1, requests_in_flight)
        self.stashdb_outage = OutageWatch("StashDB", outage_window)
        self.read_outage = OutageWatch("Stash reads", outage_window)
        self.last_attempt = False

    def batches(self, scene_ids: Sequence[str], *, last_attempt: bool = False) -> Iterator[Batch]:
        """One list of results per StashDB request, in the order they were sent. Up to
        `requests_in_flight` requests wait for their answers at once (the rate limiter
        still spaces their starts); on the last attempt a failed request's scenes fail,
        before it they are DEFERRED."""
        self.last_attempt = last_attempt
        pass_one = deque(chunks(scene_ids, self.batch_size))  # batches pass 1 has yet to ask about
        retry_buffer: list[dict] = []
        in_flight: deque[_Ask] = deque()
        pool = self.pool_factory(self.requests_in_flight)
        try:
            while True:
                self._start_requests(pass_one, retry_buffer, in_flight, pool)
                if not in_flight:
                    return
                yield self._settled(in_flight.popleft(), retry_buffer)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # a stopped run does not wait for answers

    def _start_requests(self, pass_one: deque, retry_buffer: list[dict], in_flight: deque,
                        pool: Executor) -> None:
        """Start requests until `requests_in_flight` wait for answers. Pass 1 goes first, so
        that the run does not end on two answer times in a row (by fingerprints, then by
        id); pass 2 asks once the retry buffer holds a batch for every request in flight
        (memory stays flat), once pass 1 has asked everything and 40 wait, and for the
        last few once pass 1 has no answer left to come."""
        while len(in_flight) < self.requests_in_flight:
            waiting = len(retry_buffer)
            if waiting >= self.batch_size * self.requests_in_flight or (not pass_one and waiting >= self.batch_size):
                in_flight.append(self._ask_by_ids(retry_buffer, pool))
            elif pass_one:
                batch_ids = pass_one.popleft()
                in_flight.append(self._guarded(batch_ids, lambda: self._ask_by_fingerprints(batch_ids, pool)))
            elif waiting and not any(ask.by_fingerprints for ask in in_flight):
                in_flight.append(self._ask_by_ids(retry_buffer, pool))
            else:
                return

    def _settled(self, ask: _Ask, retry_buffer: list[dict]) -> Batch:
        """Wait for one request's answer and turn it into results; scenes it leaves to
        pass 2 join the retry buffer."""
        results = list(ask.ready)
        if ask.future is not None:
            results += self._guarded(ask.scene_ids, lambda: ask.settle(self._answer(ask.future)), settling=True)
        retry_buffer.extend(result.scene for result in results if result.outcome is _PASS_TWO)
        return [result for result in results if result.outcome is not _PASS_TWO]

    def _failed(self, scene_id: str, scene: dict | None, message: str) -> SceneResult:
        """A scene a failed request was about: deferred, or failed on the last attempt."""
        outcome = Outcome.ERROR if self.last_attempt else Outcome.DEFERRED
        return SceneResult(scene_id, scene, outcome=outcome, message=message)

    @staticmethod
    def _guarded(scene_ids: Sequence[str], fetch: Callable, settling: bool = False):
        """An unexpected failure while asking or settling fails that request's scenes
        (as results, or as an _Ask that needs no answer), never the run."""
        try:
            return fetch()
        except SyncAborted:
            raise
        except Exception as exc:  # noqa: BLE001 - one request's failure never stops the run
            log.error("Fetching %d scenes failed unexpectedly: %s: %s", len(scene_ids), type(exc).__name__, exc)
            log.debug("Traceback", exc_info=True)
            failed = [SceneResult(scene_id, outcome=Outcome.ERROR, message=str(exc)) for scene_id in scene_ids]
            return failed if settling else _Ask(list(scene_ids), failed, None)

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

    def _ask_by_fingerprints(self, batch_ids: Sequence[str], pool: Executor) -> _Ask:
        """Read the batch, and ask StashDB who its scenes are by their fingerprints."""
        ready, scenes = self._read_scenes(batch_ids)
        queries = [self._fingerprints_to_send(scene) for scene in scenes]
        ready += [_pass_two(scene) for scene, query in zip(scenes, queries) if not query]
        asked = [(scene, query) for scene, query in zip(scenes, queries) if query]
        if not asked:
            return _Ask(list(batch_ids), ready, None)
        future = pool.submit(self.stashdb.find_scenes_by_fingerprints, [query for _, query in asked])
        return _Ask([scene["id"] for scene, _ in asked], ready, future,
                    lambda answer: self._fingerprint_results([scene for scene, _ in asked], answer),
                    by_fingerprints=True)

    def _fingerprints_to_send(self, scene: dict) -> list[dict]:
        """The scene's fingerprints; none for a scene a refresh answers from its memory
        (scene_refresh.RefreshingStashDB), which then goes straight to the by-id pass."""
        from_memory = getattr(self.stashdb, "answers_from_memory", None)
        if from_memory is not None and from_memory(first_stash_id(scene, self.endpoint)):
            return []
        return fingerprint_queries_from_files(scene.get("files"))

    def _fingerprint_results(self, scenes: list[dict], answer) -> Batch:
        """Found: the live scene the StashID names; anything else is left to pass 2."""
        if isinstance(answer, StashDBError):
            log.warning("Fingerprint request for %d scenes failed (%s); they will be asked by id", len(scenes), answer)
            answer = [[] for _ in scenes]
        results = []
        for scene, candidates in zip(scenes, answer):
            found = self._named_live_scene(scene, candidates)
            results.append(_pass_two(scene) if found is None else
                           SceneResult(scene["id"], scene, found, FOUND_BY_FINGERPRINT))
        return results

    def _named_live_scene(self, scene: dict, candidates: list) -> dict | None:
        """The candidate the scene's StashID names, if StashDB has not deleted it."""
        wanted = stash_ids_for(scene, self.endpoint)
        return next((c for c in candidates
                     if isinstance(c, dict) and c.get("id") in wanted and not c.get("deleted")), None)

    # -- pass 2 ------------------------------------------------------------------------

    def _ask_by_ids(self, retry_buffer: list[dict], pool: Executor) -> _Ask:
        """Ask StashDB by id for the first 40 scenes waiting in the retry buffer."""
        scenes = retry_buffer[: self.batch_size]
        del retry_buffer[: self.batch_size]
        ready, asked = [], []
        for scene in scenes:
            stash_id = first_stash_id(scene, self.endpoint)
            if stash_id is None:
                ready.append(SceneResult(scene["id"], scene, outcome=Outcome.ERROR,
                                         message="the scene no longer has a StashID for this endpoint"))
            else:
                asked.append((scene, stash_id))
        if not asked:
            return _Ask([scene["id"] for scene in scenes], ready, None)
        future = pool.submit(self.stashdb.find_scenes_by_ids, [stash_id for _, stash_id in asked])
        return _Ask([scene["id"] for scene, _ in asked], ready, future,
                    lambda answer: self._by_id_results(asked, answer))

    def _by_id_results(self, asked: list[tuple[dict, str]], answer) -> Batch:
        if isinstance(answer, StashDBError):
            later = "they fail" if self.last_attempt else "they get one more attempt at the end of the run"
            log.error("StashDB request for %d scenes by id failed (%s); %s", len(asked), answer, later)
            return [self._failed(scene["id"], scene, str(answer)) for scene, _ in asked]
        return [by_id_result(scene, stash_id, found) for (scene, stash_id), found in zip(asked, answer)]

    # -- StashDB's answers -------------------------------------------------------------

    def _answer(self, future: Future):
        """The request's answer, or the StashDBError it failed with. The stop rules are
        applied here, on the fetcher thread."""
        try:
            answer = future.result()
        except StashDBAuthError as exc:
            raise SyncAborted(stashdb_key_rejected_reason(str(exc))) from None
        except StashDBError as exc:
            self._stop_if_asked_to_wait_too_long(exc)
            self.stashdb_outage.failure(exc)
            return exc
        self.stashdb_outage.success()
        return answer

    def _stop_if_asked_to_wait_too_long(self, exc: StashDBError) -> None:
        if isinstance(exc, StashDBRateLimited) and exc.retry_after and exc.retry_after >= self.stashdb_outage.window:
            raise SyncAborted(f"StashDB asked tagManager to wait {exc.retry_after:.0f} s before its next request; "
                              "run the task again after that") from None


_PASS_TWO = object()  # a result's outcome while its scene waits to be asked by id


def _pass_two(scene: dict) -> SceneResult:
    return SceneResult(scene["id"], scene, outcome=_PASS_TWO)


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
