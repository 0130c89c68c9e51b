"""The StashDB tag vocabulary the generated libraries draw from.

The real December 2024 snapshot in ``../shared/data`` when it is there (read,
never copied), else a synthetic vocabulary of the same shape.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..shared_schemas import STASHDB_TAG_CATEGORIES_FILE, STASHDB_TAGS_FILE

SYNTHETIC_SIZE = 600


@dataclass(frozen=True, slots=True)
class VocabularyTag:
    name: str
    aliases: tuple[str, ...] = ()
    category: str | None = None
    description: str | None = None


def load_vocabulary(path: Path | None = None) -> list[VocabularyTag]:
    """Tags from ``path`` (default: the shared snapshot), or synthetic ones."""
    source = path if path is not None else STASHDB_TAGS_FILE
    if not source.is_file():
        return synthetic_vocabulary()
    raw = json.loads(source.read_text(encoding="utf-8"))
    return [
        VocabularyTag(
            name=item["name"],
            aliases=tuple(item.get("aliases") or ()),
            category=item.get("parent"),
            description=item.get("description"),
        )
        for item in raw
    ]


@dataclass(frozen=True, slots=True)
class VocabularyCategory:
    name: str
    group: str            # stash-box's TagGroupEnum: PEOPLE, SCENE or ACTION
    description: str | None = None


def load_categories(path: Path | None = None) -> dict[str, VocabularyCategory]:
    """The real tag categories by name (the shared snapshot), or {} when it is absent."""
    source = path if path is not None else STASHDB_TAG_CATEGORIES_FILE
    if not source.is_file():
        return {}
    raw = json.loads(source.read_text(encoding="utf-8"))
    return {item["name"]: VocabularyCategory(item["name"], item["parent"], item.get("description"))
            for item in raw}


def synthetic_vocabulary(size: int = SYNTHETIC_SIZE) -> list[VocabularyTag]:
    return [
        VocabularyTag(
            name=f"Synthetic Tag {index:04d}",
            aliases=tuple(f"Synthetic Alias {index:04d}{suffix}" for suffix in "ab"[: index % 3]),
            category=f"Synthetic Category {index % 12}",
            description=f"Synthetic tag number {index}.",
        )
        for index in range(1, size + 1)
    ]
