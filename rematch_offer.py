"""What the page offers after a reload: the scenes that can gain tags resolved since the last run.

`rematch_candidates` reads the newest whole-library report (report_memory.choose_memory) as a
stream and finds, through today's local tags, links, aliases and exclude patterns, the StashDB
tags its scenes lacked because no local tag matched them and that match now: linked, created,
renamed or given an alias anywhere since (tagManager's page, Stash's tag page, a bulk edit).
The report's scenes that carry such a tag are then read from Stash, and a scene that already
holds every local tag it would gain (re-matched since, or tagged by hand) is left out. What
remains is exactly what the re-match task adds tags to, from tags resolved since. No StashDB
request; the answer is bounded whatever the report holds.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from report_memory import choose_memory, read_vocabulary, remembered_numbers
from report_reader import ReportFolder, ReportNotFound, distinct_scene_rows, read_summary, unmatched_ids
from run_config import exclude_patterns
from stash_local import SceneTagReader
from tag_matching import TagCache, TagExcluder, id_order, match_stashdb_tag_to_local
from unmatched_listing import MAX_TAG_SCENES

log = logging.getLogger("tagManager.operations")

MAX_TAGS_LISTED = 50
READ_BATCH = 250      # scenes read from Stash in one request


@dataclass
class ResolvedMatches:
    """Per vocabulary number, the local tag its StashDB tag matches today (None: none, or an
    exclude pattern drops it); asked once per number."""

    vocabulary: list[tuple[str, str]]
    cache: TagCache
    excluder: TagExcluder
    endpoint: str
    local_ids: dict[int, str | None] = field(default_factory=dict)

    def local_tag(self, number: int) -> str | None:
        if number not in self.local_ids:
            stashdb_id, name = self.vocabulary[number]
            matched = None
            if stashdb_id and not self.excluder.excludes(name):
                matched = match_stashdb_tag_to_local({"id": stashdb_id, "name": name}, self.cache, self.endpoint)
            self.local_ids[number] = matched
        return self.local_ids[number]

    def gains(self, row: dict) -> tuple[int, ...]:
        """The numbers of the row's StashDB tags the run left unmatched and that match now."""
        numbers, unmatched = remembered_numbers(row), set(unmatched_ids(row))
        if not numbers or not unmatched:
            return ()
        return tuple(n for n in numbers if 0 <= n < len(self.vocabulary) and self.vocabulary[n][0] in unmatched
                     and self.local_tag(n) is not None)


@dataclass
class Offer:
    """The scenes that can gain tags, and how many of them gain each resolved tag."""

    carrying: int = 0                    # the report's scenes with a tag resolved since
    checked: int = 0                     # of those, read from Stash
    missing: int = 0                     # of those, scenes Stash no longer has
    left_out: int = 0                    # scenes past the answer's MAX_TAG_SCENES (not listed)
    scene_ids: list[str] = field(default_factory=list)
    scenes_per_tag: Counter = field(default_factory=Counter)


def rematch_candidates(args: dict, context: Any) -> dict:
    """The scenes of the last whole-library run that can gain tags resolved since, and those tags."""
    try:
        folder = choose_memory(context.report_dir, context.endpoint, args.get("report"))
    except ReportNotFound as exc:
        if args.get("report") is not None:
            raise
        return {"report": None, "total": 0, "scene_ids": [], "tags": [], "tags_total": 0, "carrying": 0,
                "checked": 0, "missing": 0, "complete": True, "note": str(exc)}
    local_tags = context.local.all_tags()
    matches = ResolvedMatches(read_vocabulary(folder), TagCache.from_tags(local_tags),
                              TagExcluder(exclude_patterns(context.configuration)), context.endpoint)
    offer = find_offer(SceneTagReader(context.local, context.endpoint), folder, matches)
    log.info("rematch_candidates: %d scenes of report %s can gain tags resolved since (%d carry such tags, %d "
             "read from Stash, %d no longer in Stash, %d left for a later answer)", len(offer.scene_ids),
             folder.name, offer.carrying, offer.checked, offer.missing, offer.left_out)
    return answer(folder, offer, matches, {str(t.get("id")): t.get("name") for t in local_tags})


def find_offer(reader: SceneTagReader, folder: ReportFolder, matches: ResolvedMatches) -> Offer:
    """One pass over the report's scenes; those with a tag resolved since are read from
    Stash a batch at a time, until MAX_TAG_SCENES scenes that lack one are found (the rest
    are counted)."""
    offer, batch = Offer(), []
    for scene_id, row in distinct_scene_rows(folder):
        gains = matches.gains(row)
        if not gains:
            continue
        offer.carrying += 1
        if len(offer.scene_ids) >= MAX_TAG_SCENES:
            offer.left_out += 1
            continue
        batch.append((scene_id, gains))
        if len(batch) == READ_BATCH:
            keep_scenes_that_lack_them(reader, batch, offer, matches)
            batch = []
    if batch:
        keep_scenes_that_lack_them(reader, batch, offer, matches)
    return offer


def keep_scenes_that_lack_them(reader: SceneTagReader, batch: list[tuple[str, tuple[int, ...]]], offer: Offer,
                               matches: ResolvedMatches) -> None:
    """Read a batch of scenes from Stash; keep those that lack a local tag they would gain."""
    carried = reader.tag_ids([scene_id for scene_id, _ in batch])
    offer.checked += len(batch)
    for scene_id, gains in batch:
        if scene_id not in carried:
            offer.missing += 1
            continue
        lacking = [n for n in gains if matches.local_tag(n) not in carried[scene_id]]
        if not lacking:
            continue
        if len(offer.scene_ids) >= MAX_TAG_SCENES:
            offer.left_out += 1
            continue
        offer.scene_ids.append(scene_id)
        offer.scenes_per_tag.update(lacking)


def answer(folder: ReportFolder, offer: Offer, matches: ResolvedMatches, tag_names: dict) -> dict:
    tags = [{"stashdb_id": matches.vocabulary[n][0], "name": matches.vocabulary[n][1],
             "tag_id": matches.local_tag(n), "tag_name": tag_names.get(matches.local_tag(n)), "scenes": count}
            for n, count in offer.scenes_per_tag.items()]
    tags.sort(key=lambda t: (-t["scenes"], t["name"].casefold(), t["stashdb_id"]))
    note = None if not offer.left_out else (
        f"{offer.left_out:,} more scenes of the last run carry tags resolved since; one answer lists at most "
        f"{MAX_TAG_SCENES:,}: after re-matching these, reload the page for the rest")
    summary = read_summary(folder) or {}
    return {"report": folder.name, "endpoint": folder.endpoint, "finished_at": summary.get("finished_at"),
            "total": len(offer.scene_ids), "scene_ids": sorted(offer.scene_ids, key=id_order),
            "tags": tags[:MAX_TAGS_LISTED], "tags_total": len(tags), "carrying": offer.carrying,
            "checked": offer.checked, "missing": offer.missing, "complete": not offer.left_out, "note": note}
