"""What the page shows of a report's unmatched StashDB tags, a page at a time.

`unmatched_tags` reads the report once, as a stream (report_reader.py), and answers one
page of the tags still open — filtered by text and category, most scenes first — with
scene counts, and suggestions for that page's tags only. `tag_scenes` answers the scenes
of some tags, for the targeted re-run. Both answers are bounded whatever the report
holds: the page holds no rule of its own, so filtering, sorting and paging are here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from report_reader import (choose_report, newest_run, read_stashdb_tags, read_summary, scenes_with_tags,
                           tally_unmatched)
from run_config import exclude_patterns
from stashdb_tag import StashDBTag
from tag_matching import TagCache, TagExcluder, id_order, match_stashdb_tag_to_local
from tag_suggestions import SuggestionIndex

log = logging.getLogger("tagManager.operations")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_CATEGORIES_LISTED = 200
MAX_TAG_SCENES = 50_000   # scene ids in one tag_scenes answer (about 450 KB of JSON with 6-digit ids)


@dataclass(frozen=True)
class TagFilter:
    """`text` is found in the name or an alias, ignoring case; `category` None is every
    category, "" the tags without one."""

    text: str = ""
    category: str | None = None

    def keeps(self, tag: StashDBTag) -> bool:
        if self.category is not None and (tag.category or "") != self.category:
            return False
        wanted = self.text.strip().casefold()
        return not wanted or any(wanted in name.casefold() for name in (tag.name, *tag.aliases))

    def as_dict(self) -> dict:
        return {"text": self.text, "category": self.category}


@dataclass(frozen=True)
class OpenTag:
    tag: StashDBTag
    scenes: int

    def sort_key(self) -> tuple:
        return -self.scenes, self.tag.name.casefold(), self.tag.stashdb_id


def unmatched_tags(args: dict, context: Any) -> dict:
    """One page of the open tags of the chosen report, and what the page says around them."""
    folder = choose_report(context.report_dir, context.endpoint, args.get("report"))
    tally = tally_unmatched(folder)
    local_tags = context.local.all_tags()
    open_tags, resolved = open_tags_of(tally.scene_counts, read_stashdb_tags(folder, set(tally.scene_counts)),
                                       local_tags, context)
    tag_filter = TagFilter(args.get("text", ""), args.get("category"))
    shown = [entry for entry in open_tags if tag_filter.keeps(entry.tag)]
    offset, limit = args.get("offset", 0), args.get("limit", DEFAULT_PAGE_SIZE)
    index = SuggestionIndex(local_tags, context.endpoint)
    rows = [_row(entry, index) for entry in shown[offset:offset + limit]]
    categories = sorted({entry.tag.category or "" for entry in open_tags}, key=lambda c: (c.casefold(), c))
    summary = read_summary(folder) or {}
    log.info("unmatched_tags: %d of %d open StashDB tags from report %s shown (%d resolved since)", len(rows),
             len(shown), folder.name, resolved)
    return {"report": folder.name, "endpoint": folder.endpoint, "finished_at": summary.get("finished_at"),
            "dry_run": folder.run.get("dry_run"), "summary": summary or None, "resolved_since_report": resolved,
            "total": len(shown), "unfiltered_total": len(open_tags), "offset": offset, "limit": limit,
            "filter": tag_filter.as_dict(), "categories": categories[:MAX_CATEGORIES_LISTED],
            "categories_total": len(categories), "untracked_tags": tally.untracked_tags, "tags": rows,
            "rematch_scenes": tally.rematch, "rematch_total": tally.rematch_total,
            "newest_run": newest_run(context.report_dir, context.endpoint)}


def open_tags_of(scene_counts: dict[str, int], details: dict[str, StashDBTag], local_tags: list,
                 context: Any) -> tuple[list[OpenTag], int]:
    """The tags no local tag matches and no exclude pattern drops, in the page's order, and
    how many the report named that are resolved since (matched or excluded now)."""
    cache, endpoint = TagCache.from_tags(local_tags), context.endpoint
    excluder = TagExcluder(exclude_patterns(context.configuration))
    open_tags, resolved = [], 0
    for stashdb_id, count in scene_counts.items():
        tag = details.get(stashdb_id) or StashDBTag(stashdb_id, "")
        if excluder.excludes(tag.name) or match_stashdb_tag_to_local(
                {"id": stashdb_id, "name": tag.name}, cache, endpoint) is not None:
            resolved += 1
        else:
            open_tags.append(OpenTag(tag, count))
    return sorted(open_tags, key=OpenTag.sort_key), resolved


def _row(entry: OpenTag, index: SuggestionIndex) -> dict:
    tag = entry.tag
    return {"stashdb_id": tag.stashdb_id, "name": tag.name, "description": tag.description,
            "aliases": list(tag.aliases), "category": tag.category, "scenes": entry.scenes,
            "suggestions": [s.as_dict() for s in index.suggest(tag.name, list(tag.aliases))]}


def tag_scenes(args: dict, context: Any) -> dict:
    """The report's scenes that lacked any of `stashdb_ids`, each once, in id order; at most
    MAX_TAG_SCENES of them, with `complete` false and a note when there are more."""
    folder = choose_report(context.report_dir, context.endpoint, args.get("report"))
    ids = args["stashdb_ids"]
    scene_ids = sorted(scenes_with_tags(folder, ids), key=id_order)
    complete = len(scene_ids) <= MAX_TAG_SCENES
    note = None if complete else (
        f"{len(scene_ids):,} scenes carry these tags, more than one answer lists ({MAX_TAG_SCENES:,}): "
        "run the sync over the whole library instead")
    return {"report": folder.name, "stashdb_ids": ids, "total": len(scene_ids),
            "scene_ids": scene_ids[:MAX_TAG_SCENES], "complete": complete, "note": note}
