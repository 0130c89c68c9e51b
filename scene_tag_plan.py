"""What one scene should gain from its StashDB scene: a pure function, no I/O.

The plan lists the local tag ids to add (in StashDB's order, without duplicates and
without the tags the scene already has), the StashDB tags no local tag matched, and how
many StashDB tags Stash's exclude patterns dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from stashdb_tag import StashDBTag, kept_text
from tag_matching import TagCache, TagExcluder, match_stashdb_tag_to_local


@dataclass(frozen=True)
class UnmatchedTag:
    name: str
    stashdb_id: str | None
    details: StashDBTag | None = field(default=None, compare=False)  # what StashDB says of it


@dataclass
class TagPlan:
    new_tag_ids: list[str] = field(default_factory=list)
    unmatched: list[UnmatchedTag] = field(default_factory=list)
    excluded_count: int = 0
    created_first: list[str] = field(default_factory=list)  # dry run: unmatched tags' names it would create

    @property
    def changes_scene(self) -> bool:
        return bool(self.new_tag_ids or self.created_first)


def existing_tag_ids(scene: dict) -> set[str]:
    return {str(tag["id"]) for tag in _dicts(scene.get("tags")) if tag.get("id") is not None}


def plan_scene_tags(
    scene: dict,
    stashdb_scene: dict,
    tag_cache: TagCache,
    endpoint: str,
    excluder: TagExcluder,
) -> TagPlan:
    plan = TagPlan()
    already_present = existing_tag_ids(scene)
    seen_unmatched: set[tuple[str, str | None]] = set()
    for stashdb_tag in _dicts(stashdb_scene.get("tags")):
        name = stashdb_tag.get("name")
        if not isinstance(name, str):
            continue
        if excluder.excludes(name):
            plan.excluded_count += 1
            continue
        local_id = match_stashdb_tag_to_local(stashdb_tag, tag_cache, endpoint)
        if local_id is None:
            key = (kept_text(name), _optional_str(stashdb_tag.get("id")))
            if key not in seen_unmatched:
                seen_unmatched.add(key)
                plan.unmatched.append(UnmatchedTag(*key, StashDBTag.from_answer(stashdb_tag)))
        elif local_id not in already_present:
            already_present.add(local_id)
            plan.new_tag_ids.append(local_id)
    return plan


def _dicts(items: Any) -> Iterable[dict]:
    """The dict entries of a list that may be null or hold nulls (hostile answers)."""
    if not isinstance(items, list):
        return ()
    return (item for item in items if isinstance(item, dict))


def _optional_str(value: Any) -> str | None:
    return None if value is None else kept_text(str(value))
