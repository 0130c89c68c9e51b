"""The details of the StashDB tags no local tag matched: asked once per tag per run.

The scene queries ask each StashDB tag's `id` and `name` only: that is all matching needs
(Stash's Tagger matches a stash-box tag by its id and its name, never by its description,
aliases or category), and asking every tag's details inside every scene query cost
stash-box about twice the CPU per scene (docs/stashbox.md). What the unmatched tags need
besides — the report's `stashdb_tags.jsonl` (the page's listing and its suggestions), and
`syncCreateMissing` creating a local tag with StashDB's description and aliases — is asked
here with the aliased `findTag` query, 40 tags a request:

- gathered (the report alone needs them): the new tags wait until 40 are pending, and the
  run's last request asks the rest, so a run sends one request per 40 distinct unmatched
  tags. The requests wait for their answers on a thread of their own, so that a slow
  answer never holds up planning and writing; answers are taken in on the sync's thread
  at the next batch (and all of them at the end). The report names each tag when it is
  first met and adds its details when they come (`on_described`); a run killed or stopped
  (SyncAborted) before its end has the names of the last few only;
- at once (`gather=False`, syncCreateMissing: a tag is created before its scenes are
  written): the tags a batch meets for the first time, before it is planned again.

A request that fails fails no scene: its tags keep the id and name their scenes' answers
gave (`described` false), they are not asked again this run, and the report's line for
each says so. `create_tags` then asks StashDB for them; `syncCreateMissing` does not create
them (a tag without its aliases and description is not the tag StashDB has).
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable

from scene_tag_plan import TagPlan, UnmatchedTag
from short_text import shorten
from stashdb_api import MAX_SCENES_PER_REQUEST, chunks
from stashdb_tag import StashDBTag

log = logging.getLogger("tagManager.sync")


class TagDetails:
    """StashDB tag details for this run: each tag asked at most once (`asked_ids`)."""

    def __init__(self, stashdb, *, gather: bool = True,
                 on_described: Callable[[StashDBTag], None] | None = None):
        self.stashdb = stashdb
        self.gather = gather
        self.on_described = on_described
        self.known: dict[str, StashDBTag] = {}
        self.asked_ids: set[str] = set()
        self.pending: dict[str, None] = {}     # met, not asked yet (ordered)
        self.failed_requests = 0
        self._asking: list[Future] = []         # gathered requests waiting for their answers
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="tagManager-tag-details") if gather else None

    def describe(self, plans: Iterable[TagPlan]) -> None:
        """Note each plan's new unmatched tags, ask what is due, and give each plan's unmatched
        tags the details known so far."""
        plans = list(plans)
        for tag in (t for plan in plans for t in plan.unmatched):
            if tag.stashdb_id and tag.stashdb_id not in self.asked_ids:
                self.pending.setdefault(tag.stashdb_id)
        self._ask(full_requests_only=self.gather)
        self._take_answers(wait=False)
        for plan in plans:
            plan.unmatched = [self._described(tag) for tag in plan.unmatched]

    def finish(self) -> None:
        """The run's end: ask for every tag still pending, and take every answer in."""
        self._ask(full_requests_only=False)
        self._take_answers(wait=True)
        self.close()

    def close(self) -> None:
        """Ask nothing more (a run that stops); a request under way ends on its own timeout."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _described(self, tag: UnmatchedTag) -> UnmatchedTag:
        details = self.known.get(tag.stashdb_id)
        return tag if details is None else UnmatchedTag(tag.name, tag.stashdb_id, details)

    def _ask(self, full_requests_only: bool) -> None:
        due = list(self.pending)
        if full_requests_only:
            due = due[:len(due) - len(due) % MAX_SCENES_PER_REQUEST]
        for stashdb_id in due:
            del self.pending[stashdb_id]
        self.asked_ids.update(due)
        for chunk in chunks(due, MAX_SCENES_PER_REQUEST):
            if self._pool is None:
                self._take_answer(*self._asked(list(chunk)))
            else:
                self._asking.append(self._pool.submit(self._asked, list(chunk)))

    def _asked(self, chunk: list[str]) -> tuple[list[str], list | Exception]:
        """These tags, and StashDB's answers for them or the exception that stopped the request."""
        try:
            return chunk, self.stashdb.find_tags_by_ids(chunk)
        except Exception as exc:  # noqa: BLE001 - a StashDBError, or anything else: no scene fails for it
            return chunk, exc

    def _take_answers(self, wait: bool) -> None:
        """The gathered requests' answers, in the order they were asked: those in (`wait`: all)."""
        while self._asking and (wait or self._asking[0].done()):
            self._take_answer(*self._asking.pop(0).result())

    def _take_answer(self, chunk: list[str], answers: list | Exception) -> None:
        if isinstance(answers, Exception):
            self.failed_requests += 1
            log.warning("Could not ask StashDB for the details of %d unmatched tags (%s); the report keeps their "
                        "names only, and syncCreateMissing does not create them", len(chunk),
                        shorten(str(answers), 300))
            return
        for stashdb_id, answer in zip(chunk, answers):
            tag = StashDBTag.from_answer(answer) if isinstance(answer, dict) else None
            if tag is not None and tag.stashdb_id == stashdb_id:
                self.known[stashdb_id] = tag
                if self.on_described is not None:
                    self.on_described(tag)
