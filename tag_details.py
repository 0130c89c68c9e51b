"""The details of the StashDB tags no local tag matched: asked once per tag per run.

The scene queries ask each StashDB tag's `id` and `name` only: that is all matching needs
(Stash's Tagger matches a stash-box tag by its id and its name, never by its description,
aliases or category), and asking every tag's details inside every scene query costs
stash-box about twice the CPU (docs/stashbox.md). What the unmatched tags need besides —
the report's `stashdb_tags.jsonl` (the page's listing and its suggestions), and
`syncCreateMissing` creating a local tag with StashDB's description and aliases — is
asked here, with the aliased `findTag` query, 40 tags a request, for the tags a batch
meets for the first time, before its scenes are recorded (a killed run's report still
describes every tag its rows name).

A request that fails fails no scene: its tags keep the id and name their scenes' answers
gave (`described` false), they are not asked again this run, and the report's line for
each says so. `create_tags` then asks StashDB for them; `syncCreateMissing` does not
create them (a tag without its aliases and description is not the tag StashDB has).
"""
from __future__ import annotations

import logging
from typing import Iterable

from scene_tag_plan import TagPlan, UnmatchedTag
from short_text import shorten
from stashdb_api import MAX_SCENES_PER_REQUEST, chunks
from stashdb_tag import StashDBTag

log = logging.getLogger("tagManager.sync")


class TagDetails:
    """StashDB tag details for this run: each tag asked at most once (`asked_ids`)."""

    def __init__(self, stashdb):
        self.stashdb = stashdb
        self.known: dict[str, StashDBTag] = {}
        self.asked_ids: set[str] = set()
        self.failed_requests = 0

    def describe(self, plans: Iterable[TagPlan]) -> None:
        """Give each plan's unmatched tags StashDB's details, asking for those not asked yet."""
        plans = list(plans)
        self._ask([tag.stashdb_id for plan in plans for tag in plan.unmatched])
        for plan in plans:
            plan.unmatched = [self._described(tag) for tag in plan.unmatched]

    def _described(self, tag: UnmatchedTag) -> UnmatchedTag:
        details = self.known.get(tag.stashdb_id)
        return tag if details is None else UnmatchedTag(tag.name, tag.stashdb_id, details)

    def _ask(self, stashdb_ids: Iterable[str | None]) -> None:
        new = list(dict.fromkeys(i for i in stashdb_ids if i and i not in self.asked_ids))
        self.asked_ids.update(new)
        for chunk in chunks(new, MAX_SCENES_PER_REQUEST):
            try:
                answers = self.stashdb.find_tags_by_ids(chunk)
            except Exception as exc:  # noqa: BLE001 - a StashDBError, or anything else: no scene fails for it
                self.failed_requests += 1
                log.warning("Could not ask StashDB for the details of %d unmatched tags (%s); the report keeps "
                            "their names only, and syncCreateMissing does not create them", len(chunk),
                            shorten(str(exc), 300))
                continue
            for stashdb_id, answer in zip(chunk, answers):
                tag = StashDBTag.from_answer(answer) if isinstance(answer, dict) else None
                if tag is not None and tag.stashdb_id == stashdb_id:
                    self.known[stashdb_id] = tag
