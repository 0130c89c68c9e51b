"""What tagManager keeps of one StashDB (stash-box) tag: a small value, safe from hostile answers.

The sync's scene queries give a tag's id and name; its details (description, aliases,
category, deleted) come from `findTag`, asked once per unmatched tag (tag_details.py). The
report stores them for the tags no local tag matched, and creating a local tag copies them.
`described` says whether the details were there: a tag known by its id and name only (its
details request failed) is not one to create a local tag from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from short_text import shorten

# What is kept of one tag, whatever StashDB answers (the answer itself is capped in bytes by
# stashdb_api.MAX_ANSWER_BYTES): texts are cut to these lengths, aliases past the count dropped.
MAX_TAG_TEXT_CHARS = 500        # an id, a name, an alias, a category name
MAX_DESCRIPTION_CHARS = 4000
MAX_ALIASES = 100


def kept_text(text: str, limit: int = MAX_TAG_TEXT_CHARS) -> str:
    """A StashDB text as tagManager keeps it (in memory, reports, answers): at most `limit` characters."""
    return shorten(text, limit)


@dataclass(frozen=True)
class StashDBTag:
    stashdb_id: str
    name: str
    description: str | None = None
    aliases: tuple[str, ...] = ()
    category: str | None = None
    deleted: bool = False
    described: bool = True

    @classmethod
    def from_answer(cls, tag: Mapping[str, Any]) -> "StashDBTag | None":
        """From a stash-box `Tag` answer (`id name description aliases deleted category { name }`),
        or from a report line (`stashdb_id` instead of `id`, `category` as text); None when it has
        no usable id or name. Fields of the wrong type are dropped, never trusted. An answer
        without `aliases` (a scene's `tags { id name }`) is not described; a report line says."""
        stashdb_id = tag.get("id", tag.get("stashdb_id"))
        name = tag.get("name")
        if not isinstance(stashdb_id, str) or not stashdb_id or not isinstance(name, str):
            return None
        return cls(kept_text(stashdb_id), kept_text(name), _text(tag.get("description"), MAX_DESCRIPTION_CHARS),
                   _texts(tag.get("aliases")), _category_name(tag.get("category")), tag.get("deleted") is True,
                   tag.get("described", "aliases" in tag) is not False)

    def as_dict(self) -> dict:
        return {"stashdb_id": self.stashdb_id, "name": self.name, "description": self.description,
                "aliases": list(self.aliases), "category": self.category, "deleted": self.deleted,
                "described": self.described}


def _text(value: Any, limit: int = MAX_TAG_TEXT_CHARS) -> str | None:
    return kept_text(value, limit) if isinstance(value, str) and value else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(kept_text(item) for item in value if isinstance(item, str))[:MAX_ALIASES]


def _category_name(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("name")
    return _text(value)
