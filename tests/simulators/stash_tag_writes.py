"""The Stash simulator's tag writes: tagCreate, tagUpdate, configureScraping.

As Stash v0.30.1 does them:

* names and aliases are trimmed (internal/api/resolver_mutation_tag.go);
* a name must not be another tag's name or alias, and each alias likewise, both looked up
  with SQLite ``LIKE`` (ASCII letters case-insensitive, ``%`` and ``_`` wildcards in the
  new text); only the first tag found, in name order, is compared with the tag being
  written (pkg/tag/update.go EnsureTagNameUnique, pkg/tag/query.go ByName / ByAlias);
* aliases are also unique exactly, across all tags (the tag_aliases_alias_unique index);
* ``tagUpdate`` replaces each list it is given (aliases, stash_ids, parent_ids) and keeps
  the fields it is not given;
* ``configureScraping`` replaces the exclude-pattern list, refusing an invalid pattern.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from .records import LocalStashID, LocalTag
from .stash_store import LocalStore, StoreError
from .text_rules import ascii_fold, natural_key

BLANK_NAME = "tag name must not be blank"


def like_pattern(pattern: str) -> re.Pattern:
    """SQLite ``LIKE pattern`` without ESCAPE, for ``fullmatch`` on ``ascii_fold`` text."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in ascii_fold(pattern))
    return re.compile(regex, re.DOTALL)


def _first_holder(store: LocalStore, text: str, by_alias: bool) -> LocalTag | None:
    pattern = like_pattern(text)
    hits = [t for t in store.tags.values()
            if any(pattern.fullmatch(ascii_fold(held)) for held in (t.aliases if by_alias else (t.name,)))]
    return min(hits, key=lambda t: (natural_key(t.name), t.id)) if hits else None


def ensure_unique(store: LocalStore, tag_id: int, text: str) -> None:
    """pkg/tag/update.go EnsureTagNameUnique, for a name or an alias."""
    same_name = _first_holder(store, text, by_alias=False)
    if same_name is not None and same_name.id != tag_id:
        raise StoreError(f"tag with name '{text}' already exists")
    same_alias = _first_holder(store, text, by_alias=True)
    if same_alias is not None and same_alias.id != tag_id:
        raise StoreError(f"name '{text}' is used as alias for '{same_alias.name}'")


def _stash_ids(inputs: list[dict[str, Any]] | None) -> tuple[LocalStashID, ...]:
    seen: dict[tuple[str, str], LocalStashID] = {}
    for sid in inputs or ():
        key = (sid["endpoint"], sid["stash_id"])
        seen.setdefault(key, LocalStashID(*key, sid.get("updated_at") or "2025-01-01T00:00:00Z"))
    return tuple(seen.values())


def _parent_ids(store: LocalStore, values: list[str] | None) -> tuple[int, ...]:
    try:
        ids = tuple(dict.fromkeys(int(value) for value in values or ()))
    except ValueError:
        raise StoreError("converting parent tag ids: ids must be integers") from None
    missing = [i for i in ids if i not in store.tags]
    if missing:
        raise StoreError(f"FOREIGN KEY constraint failed (parent tag {missing[0]})")
    return ids


def _check(store: LocalStore, tag: LocalTag) -> None:
    if not tag.name:
        raise StoreError(BLANK_NAME)
    for text in (tag.name, *tag.aliases):
        ensure_unique(store, tag.id, text)
    held = {alias for other in store.tags.values() if other.id != tag.id for alias in other.aliases}
    if len(set(tag.aliases)) != len(tag.aliases) or held & set(tag.aliases):
        raise StoreError("UNIQUE constraint failed: tag_aliases.alias")


def create_tag(store: LocalStore, values: dict[str, Any]) -> LocalTag:
    with store._lock:
        tag = LocalTag(
            id=max(store.tags, default=0) + 1, name=values["name"].strip(),
            sort_name=(values.get("sort_name") or "").strip() or None,
            aliases=tuple(alias.strip() for alias in values.get("aliases") or ()),
            stash_ids=_stash_ids(values.get("stash_ids")), description=values.get("description") or None,
            parent_ids=_parent_ids(store, values.get("parent_ids")))
        _check(store, tag)
        store.tags[tag.id] = tag
        return tag


def update_tag(store: LocalStore, values: dict[str, Any]) -> LocalTag:
    with store._lock:
        try:
            tag_id = int(values["id"])
        except ValueError:
            raise StoreError("converting id: ids must be integers") from None
        if tag_id not in store.tags:
            raise StoreError(f"tag with id {tag_id} not found")
        changes: dict[str, Any] = {}
        if values.get("name") is not None:
            changes["name"] = values["name"].strip()
        if "description" in values:
            changes["description"] = values["description"] or None
        if values.get("aliases") is not None:
            changes["aliases"] = tuple(alias.strip() for alias in values["aliases"])
        if values.get("stash_ids") is not None:
            changes["stash_ids"] = _stash_ids(values["stash_ids"])
        if values.get("parent_ids") is not None:
            changes["parent_ids"] = _parent_ids(store, values["parent_ids"])
        tag = replace(store.tags[tag_id], **changes)
        _check(store, tag)
        store.tags[tag_id] = tag
        return tag


def checked_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise StoreError(f"tag exclusion pattern '{pattern}' invalid: {error}") from None
    return list(patterns)
