"""The Stash simulator's local library: tags, scenes, their mutable tag lists.

Semantics follow Stash v0.30.1 where the sync depends on them:

* every scene write sets ``updated_at`` to the clock's whole second, even
  when nothing else changes, so ``updated_at`` order moves with the run;
* ties in any sort fall back to the scene title in natural order (Stash adds
  ``COALESCE(title, id) COLLATE NATURAL_CI ASC`` to every sort);
* one tag write covers several scenes in one transaction: an unknown tag id
  (or any failure) for one scene writes nothing for any of them.
"""
from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from .records import LocalScene, LocalTag
from .text_rules import ascii_fold, natural_key, sql_like

ADD, REMOVE, SET = "ADD", "REMOVE", "SET"
DEFAULT_PER_PAGE = 25
FOREIGN_KEY_FAILED = "FOREIGN KEY constraint failed"
_INITIAL_SPREAD_SECONDS = 1_000_000


class StoreError(Exception):
    """A failed read or write; its text becomes the GraphQL error message."""


def foreign_key_error(scene_id: int, tag_id: int) -> StoreError:
    return StoreError(
        f"error inserting scene tag (scene {scene_id}, tag {tag_id}): {FOREIGN_KEY_FAILED}"
    )


def format_time(epoch_seconds: float) -> str:
    """RFC 3339 at whole seconds, as Stash stores timestamps."""
    return datetime.fromtimestamp(int(epoch_seconds), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Page:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def cut(self, items: list) -> list:
        if self.per_page < 0:
            return list(items)
        start = (max(self.page, 1) - 1) * self.per_page
        return items[start:start + self.per_page]


def int_criterion_test(criterion: dict[str, Any]) -> Callable[[int], bool]:
    modifier, low, high = criterion["modifier"], criterion["value"], criterion.get("value2")
    tests: dict[str, Callable[[int], bool]] = {
        "EQUALS": lambda v: v == low,
        "NOT_EQUALS": lambda v: v != low,
        "GREATER_THAN": lambda v: v > low,
        "LESS_THAN": lambda v: v < low,
        "BETWEEN": lambda v: high is not None and low <= v <= high,
        "NOT_BETWEEN": lambda v: high is None or not low <= v <= high,
    }
    if modifier not in tests:
        raise StoreError(f"the simulator does not implement modifier {modifier} here")
    return tests[modifier]


class LocalStore:
    """Thread-safe. ``endpoint_aliases`` rewrites stash-id endpoints on load."""

    def __init__(
        self,
        tags: Iterable[LocalTag],
        scenes: Iterable[LocalScene],
        clock: Callable[[], float],
        endpoint_aliases: dict[str, str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        aliases = endpoint_aliases or {}
        self.endpoint_of = lambda endpoint: aliases.get(endpoint, endpoint)
        self.tags: dict[int, LocalTag] = {tag.id: tag for tag in tags}
        self.scenes: dict[int, LocalScene] = {scene.id: scene for scene in scenes}
        self._scene_tags: dict[int, list[int]] = {s.id: list(s.tag_ids) for s in self.scenes.values()}
        self.created_at = int(clock()) - 2 * _INITIAL_SPREAD_SECONDS
        self._updated_at = {
            scene_id: self.created_at + (scene_id * 7919) % _INITIAL_SPREAD_SECONDS
            for scene_id in self.scenes
        }
        ordered_titles = sorted(self.scenes.values(), key=lambda s: (natural_key(s.title or str(s.id)), s.id))
        self._title_rank = {scene.id: rank for rank, scene in enumerate(ordered_titles)}
        self._order_cache: dict[tuple, _OrderedIds] = {}

    # -- scene reads -------------------------------------------------------
    def scene_tag_ids(self, scene_id: int) -> list[int]:
        with self._lock:
            return list(self._scene_tags[scene_id])

    def updated_at(self, scene_id: int) -> int:
        with self._lock:
            return self._updated_at[scene_id]

    def all_scene_tags(self) -> dict[int, tuple[int, ...]]:
        with self._lock:
            return {scene_id: tuple(tags) for scene_id, tags in self._scene_tags.items()}

    def scenes_by_ids(self, scene_ids: list[int]) -> list[LocalScene]:
        missing = [i for i in scene_ids if i not in self.scenes]
        if missing:
            raise StoreError(f"scene with id {missing[0]} not found")
        return [self.scenes[i] for i in scene_ids]

    def query_scene_ids(
        self,
        stash_id: dict[str, Any] | None,
        id_criterion: dict[str, Any] | None,
        q: str | None,
        sort: str,
        direction: str,
        page: Page,
    ) -> tuple[int, list[int]]:
        with self._lock:
            ordered = self._ordered_scene_ids(stash_id, sort, direction)
            if id_criterion is not None:
                ordered = _filter_ids(ordered, id_criterion, sorted_by_id=(sort, direction) == ("id", "ASC"))
            if q:
                wanted = ascii_fold(q)
                ordered = [i for i in ordered if wanted in ascii_fold(self.scenes[i].title or "")]
            return len(ordered), page.cut(ordered)

    def _ordered_scene_ids(self, stash_id: dict[str, Any] | None, sort: str, direction: str) -> list[int]:
        """Cached per filter and sort; kept in order as writes move ``updated_at``."""
        cache_key = (tuple(sorted((stash_id or {}).items())), sort, direction)
        cached = self._order_cache.get(cache_key)
        if cached is None:
            matching = [s.id for s in self.scenes.values() if self._stash_id_matches(s, stash_id)]
            cached = _OrderedIds(stash_id, sorted(matching, key=self._sort_key(sort, direction == "DESC")))
            self._order_cache[cache_key] = cached
        return cached.ids

    def _sort_key(self, sort: str, descending: bool) -> Callable[[int], Any]:
        sign = -1 if descending else 1
        rank, updated = self._title_rank, self._updated_at
        keys: dict[str, Callable[[int], Any]] = {
            "id": lambda i: sign * i,
            "title": lambda i: sign * rank[i],
            "updated_at": lambda i: (sign * updated[i], rank[i]),
            "created_at": lambda i: rank[i],
        }
        if sort not in keys:
            raise StoreError(f"the simulator does not implement sort {sort!r}")
        return keys[sort]

    def _stash_id_matches(self, holder: LocalScene | LocalTag, criterion: dict[str, Any] | None) -> bool:
        """Stash's stashIDCriterionHandler, for a scene's or a tag's StashIDs."""
        if criterion is None:
            return True
        endpoint = criterion.get("endpoint") or None
        ids = [
            s.stash_id for s in holder.stash_ids
            if endpoint is None or self.endpoint_of(s.endpoint) == endpoint
        ]
        modifier = criterion["modifier"]
        if modifier == "NOT_NULL":
            return bool(ids)
        if modifier == "IS_NULL":
            return not ids
        if modifier == "EQUALS":   # Stash: stash_id LIKE ?
            return any(sql_like(i, criterion.get("stash_id") or "") for i in ids)
        raise StoreError(f"the simulator does not implement stash_id_endpoint modifier {modifier}")

    # -- tag reads ---------------------------------------------------------
    def query_tags(
        self,
        ids: list[int] | None,
        tag_filter: dict[str, Any] | None,
        q: str | None,
        sort: str,
        direction: str,
        page: Page,
    ) -> tuple[int, list[LocalTag]]:
        if ids:
            missing = [i for i in ids if i not in self.tags]
            if missing:
                raise StoreError(f"tag with id {missing[0]} not found")
            found = [self.tags[i] for i in ids]
        else:
            tag_filter = tag_filter or {}
            found = [t for t in self.tags.values() if _tag_texts_match(t, tag_filter) and _q_matches(t, q)
                     and self._stash_id_matches(t, tag_filter.get("stash_id_endpoint"))]
            found.sort(key=_tag_sort_key(sort), reverse=direction == "DESC")
        return len(found), page.cut(found)

    # -- writes ------------------------------------------------------------
    def write_scene_tags(
        self,
        scene_ids: list[int],
        mode: str | None,
        tag_ids: list[int],
        before_write: Callable[[int], None] | None = None,
    ) -> None:
        """Change the tags of ``scene_ids`` (mode None: touch only), all or nothing."""
        with self._lock:
            new_lists = {}
            for scene_id in scene_ids:
                self._check_write(scene_id, mode, tag_ids)
                if before_write is not None:
                    before_write(scene_id)
                new_lists[scene_id] = _apply_mode(self._scene_tags[scene_id], mode, tag_ids)
            now = int(self._clock())
            for scene_id, tags in new_lists.items():
                self._scene_tags[scene_id] = tags
                self._updated_at[scene_id] = now
            self._reorder_by_updated_at(new_lists)

    def _check_write(self, scene_id: int, mode: str | None, tag_ids: list[int]) -> None:
        inserting = mode in (ADD, SET) and tag_ids
        if scene_id not in self.scenes:
            if inserting:
                raise foreign_key_error(scene_id, tag_ids[0])
            raise StoreError(f"scene with id {scene_id} not found")
        if inserting:
            unknown = [t for t in tag_ids if t not in self.tags]
            if unknown:
                raise foreign_key_error(scene_id, unknown[0])

    def _reorder_by_updated_at(self, scene_ids: Iterable[int]) -> None:
        """Move written scenes to their new place in every cached updated_at order."""
        for (_criterion, sort, direction), cached in self._order_cache.items():
            if sort != "updated_at":
                continue
            key = self._sort_key(sort, direction == "DESC")
            for scene_id in scene_ids:
                if self._stash_id_matches(self.scenes[scene_id], cached.stash_id):
                    cached.ids.remove(scene_id)
                    bisect.insort(cached.ids, scene_id, key=key)


@dataclass
class _OrderedIds:
    stash_id: dict[str, Any] | None
    ids: list[int]


def _filter_ids(ordered: list[int], criterion: dict[str, Any], sorted_by_id: bool) -> list[int]:
    """Apply an id criterion; by bisection when the ids are in ascending order."""
    if sorted_by_id and criterion["modifier"] == "GREATER_THAN":
        return ordered[bisect.bisect_right(ordered, criterion["value"]):]
    if sorted_by_id and criterion["modifier"] == "LESS_THAN":
        return ordered[:bisect.bisect_left(ordered, criterion["value"])]
    keep = int_criterion_test(criterion)
    return [i for i in ordered if keep(i)]


def _apply_mode(current: list[int], mode: str | None, tag_ids: list[int]) -> list[int]:
    if mode is None:
        return list(current)
    if mode == SET:
        return list(dict.fromkeys(tag_ids))
    if mode == ADD:
        return current + [t for t in dict.fromkeys(tag_ids) if t not in current]
    if mode == REMOVE:
        removed = set(tag_ids)
        return [t for t in current if t not in removed]
    raise StoreError(f"unknown mode {mode}")


def _tag_texts_match(tag: LocalTag, tag_filter: dict[str, Any]) -> bool:
    """Stash's TagFilterType name and aliases criteria (ANDed)."""
    name, aliases = tag_filter.get("name"), tag_filter.get("aliases")
    return ((name is None or _text_matches(tag.name, name))
            and (aliases is None or any(_text_matches(alias, aliases) for alias in tag.aliases)))


def _text_matches(text: str, criterion: dict[str, Any]) -> bool:
    value, modifier = criterion["value"], criterion["modifier"]
    tests = {
        "EQUALS": lambda: sql_like(text, value),            # Stash: column LIKE ?
        "NOT_EQUALS": lambda: not sql_like(text, value),
        "INCLUDES": lambda: ascii_fold(value) in ascii_fold(text),
        "EXCLUDES": lambda: ascii_fold(value) not in ascii_fold(text),
    }
    if modifier not in tests:
        raise StoreError(f"the simulator does not implement text modifier {modifier}")
    return tests[modifier]()


def _q_matches(tag: LocalTag, q: str | None) -> bool:
    if not q:
        return True
    wanted = ascii_fold(q)
    return any(wanted in ascii_fold(text) for text in (tag.name, *tag.aliases))


def _tag_sort_key(sort: str) -> Callable[[LocalTag], Any]:
    if sort == "id":
        return lambda t: t.id
    if sort == "name":
        return lambda t: (natural_key(t.name), t.id)
    raise StoreError(f"the simulator does not implement tag sort {sort!r}")
