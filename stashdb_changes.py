"""What changed on StashDB since a time: the scenes edited since, and the tags that changed.

Two questions, sent through StashDBClient's own machinery (timeouts, the shared rate limit,
retries, the answer cap, the key kept out of every message):

- `changed_scene_ids`: `queryScenes` sorted by `UPDATED_AT`, newest first, asking only
  `count` and each scene's `id` and `updated`, page after page until a scene's `updated` is
  before the time asked for. stash-box orders by `updated_at DESC, id DESC` over the scenes
  not deleted (internal/service/scene/query.go) and has no upper bound on `per_page` (a
  `per_page` of 0 or less means 25), so the page size is ours: PAGE_SIZE.
  The pages are offsets into a table that may change while we read it. A scene edited
  meanwhile moves to the top: this paging misses it, but its `updated` is after this
  refresh's start, so the next refresh sees it. Every other scene only moves down: it may
  be seen twice, which is harmless. A paging that cannot be trusted to reach back to the
  time raises `PagingCannotReach` with the reason.
- `changed_tags`: the tags a report remembers, against StashDB's list of live tags
  (`queryTags`, ids and names, one request of TAG_PAGE_SIZE for StashDB's few thousand
  tags). A tag missing from it (stash-box soft-deletes a merged-away tag as it does a
  deleted one, and lists neither) or renamed has changed the scenes carrying it without
  touching their `updated`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

CHANGED_SCENES_OPERATION = "TagManagerChangedScenes"
CHANGED_SCENES_QUERY = """
query TagManagerChangedScenes($input: SceneQueryInput!) {
  queryScenes(input: $input) {
    count
    scenes {
      id
      updated
    }
  }
}
"""
LIVE_TAGS_OPERATION = "TagManagerLiveTags"
LIVE_TAGS_QUERY = """
query TagManagerLiveTags($input: TagQueryInput!) {
  queryTags(input: $input) {
    count
    tags {
      id
      name
    }
  }
}
"""
ALL_QUERY_DOCUMENTS = (CHANGED_SCENES_QUERY, LIVE_TAGS_QUERY)
PAGE_SIZE = 1000       # ids and times only: about 80 bytes a scene, 80 KB a page
TAG_PAGE_SIZE = 5000   # StashDB has about 2,500 tags: one request, about 250 KB
MAX_TAG_PAGES = 20


class PagingCannotReach(Exception):
    """The paging cannot be trusted to reach back to the time asked; the text says why."""


@dataclass
class ChangedScenes:
    """The StashDB scenes `updated` at or after `since` (epoch seconds), and what it cost."""

    since: float
    ids: set[str] = field(default_factory=set)
    pages: int = 0


def parse_stashbox_time(value: Any) -> float | None:
    """Epoch seconds of a stash-box `Time` (Go's RFC3339Nano: up to 9 fraction digits, `Z`
    or an offset), or None when it is not one."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)", value)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        when = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return when.timestamp() + (int(fraction) / 10 ** len(fraction) if fraction else 0.0)


def changed_scene_ids(client, since: float, max_pages: int, page_size: int = PAGE_SIZE) -> ChangedScenes:
    """Page StashDB's scenes, newest update first, until one was updated before `since`.
    A scene that leaves the list while we page (deleted, merged away) moves every later one
    up a place, past our offset: when the count falls between two pages, the paging starts
    again once. PagingCannotReach when it falls again, an answer lacks `updated`, the order
    is not newest first, or `max_pages` pages do not reach back (the full run would then
    cost less)."""
    pages = 0
    for attempt in (1, 2):
        try:
            changed = _page_back(client, since, max_pages - pages, page_size)
            changed.pages += pages
            return changed
        except _CountFell as fell:
            pages += fell.pages
            if attempt == 2 or pages >= max_pages:
                raise PagingCannotReach(f"StashDB's scene count fell from {fell.before} to {fell.after} while "
                                        "paging, twice: scenes may have moved past the pages read") from None
    raise AssertionError("unreachable")


class _CountFell(Exception):
    def __init__(self, before: int, after: int, pages: int):
        super().__init__(before, after, pages)
        self.before, self.after, self.pages = before, after, pages


def _page_back(client, since: float, max_pages: int, page_size: int) -> ChangedScenes:
    changed = ChangedScenes(since)
    last_count: int | None = None
    newest_so_far = math.inf
    while True:
        if changed.pages >= max_pages:
            raise PagingCannotReach(f"more than {changed.pages * page_size:,} StashDB scenes changed since then "
                                    f"({changed.pages} pages of {page_size}): more requests than the full sync")
        data = client.query_data(CHANGED_SCENES_OPERATION, CHANGED_SCENES_QUERY,
                                 {"input": {"sort": "UPDATED_AT", "direction": "DESC",
                                            "page": changed.pages + 1, "per_page": page_size}})
        changed.pages += 1
        count, scenes = _page(data)
        if last_count is not None and count < last_count:
            raise _CountFell(last_count, count, changed.pages)
        last_count = count
        for scene_id, updated in scenes:
            if updated > newest_so_far:
                raise PagingCannotReach("StashDB's answer was not sorted newest first")
            newest_so_far = updated
            if updated < since:
                return changed
            changed.ids.add(scene_id)
        if len(scenes) < page_size:
            return changed   # the end of StashDB's scenes: every one changed since


def _page(data: Any) -> tuple[int, list[tuple[str, float]]]:
    """(count, [(id, updated)]) of one answer; PagingCannotReach when it is not that shape."""
    result = data.get("queryScenes") if isinstance(data, dict) else None
    count = result.get("count") if isinstance(result, dict) else None
    scenes = result.get("scenes") if isinstance(result, dict) else None
    if type(count) is not int or not isinstance(scenes, list):
        raise PagingCannotReach("StashDB answered the changed-scenes query without a count or scene list")
    page = []
    for scene in scenes:
        scene_id = scene.get("id") if isinstance(scene, dict) else None
        updated = parse_stashbox_time(scene.get("updated")) if isinstance(scene, dict) else None
        if not isinstance(scene_id, str) or updated is None:
            raise PagingCannotReach("StashDB answered a changed scene without its id or update time")
        page.append((scene_id, updated))
    return count, page


def changed_tags(client, remembered: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """Of the remembered tags (StashDB id -> name then), those that changed since: id -> why
    (deleted, merged away or unknown; renamed); and the requests it took."""
    live, pages = live_tag_names(client)
    changed = {}
    for tag_id, name in remembered.items():
        now = live.get(tag_id)
        if now is None:
            changed[tag_id] = "deleted, merged away or unknown"
        elif now != name:
            changed[tag_id] = f"renamed to {now}"
    return changed, pages


def live_tag_names(client) -> tuple[dict[str, str], int]:
    """Every tag StashDB has not deleted: id -> name; and the pages it took. stash-box lists
    only live tags (internal/service/tag/query.go), so a merged-away or deleted tag is one
    missing here. A tag that moves while we page (one renamed or deleted meanwhile) can only
    be missed, which counts it as changed: its scenes are asked again, never skipped."""
    names: dict[str, str] = {}
    pages = 0
    while True:
        if pages >= MAX_TAG_PAGES:
            raise PagingCannotReach(f"StashDB lists more than {pages * TAG_PAGE_SIZE:,} tags")
        pages += 1
        data = client.query_data(LIVE_TAGS_OPERATION, LIVE_TAGS_QUERY, {"input": {
            "sort": "NAME", "direction": "ASC", "page": pages, "per_page": TAG_PAGE_SIZE}})
        count, tags = _tag_page(data)
        names.update(tags)
        if len(tags) < TAG_PAGE_SIZE or pages * TAG_PAGE_SIZE >= count:
            return names, pages


def _tag_page(data: Any) -> tuple[int, list[tuple[str, str]]]:
    result = data.get("queryTags") if isinstance(data, dict) else None
    count = result.get("count") if isinstance(result, dict) else None
    tags = result.get("tags") if isinstance(result, dict) else None
    if type(count) is not int or not isinstance(tags, list):
        raise PagingCannotReach("StashDB answered the tag list without a count or tag list")
    page = [(tag.get("id"), tag.get("name")) for tag in tags if isinstance(tag, dict)]
    if len(page) != len(tags) or not all(isinstance(i, str) and isinstance(n, str) for i, n in page):
        raise PagingCannotReach("StashDB answered a tag without its id or name")
    return count, page
