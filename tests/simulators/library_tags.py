"""The tag half of a generated library: StashDB tags and how each is known locally.

See :mod:`library` for the link kinds. Local names and aliases are kept
unique ASCII-case-insensitively, as Stash enforces for real libraries.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from .records import LocalStashID, LocalTag, StashDBTag
from .text_rules import ascii_fold
from .vocabulary import VocabularyTag

STASH_ID = "stash_id"
STASH_ID_RENAMED = "stash_id_renamed"
STASH_ID_OVER_NAME = "stash_id_over_name"
OTHER_ENDPOINT_ONLY = "other_endpoint_only"
BY_NAME = "name"
BY_NAME_CASE_VARIANT = "name_case_variant"
BY_ALIAS = "alias"
MISSING = "missing"
NEAR_MISS = "near_miss"   # a local tag Stash does not match but a person would (see near_miss_name)

LINK_WEIGHTS: tuple[tuple[str, float], ...] = (
    (STASH_ID, 0.25),
    (STASH_ID_RENAMED, 0.05),
    (STASH_ID_OVER_NAME, 0.02),
    (OTHER_ENDPOINT_ONLY, 0.03),
    (BY_NAME, 0.20),
    (BY_NAME_CASE_VARIANT, 0.10),
    (BY_ALIAS, 0.10),
    (MISSING, 0.25),
)
PERSONAL_TAG_NAMES = tuple(
    [f"Local Collection {n:02d}" for n in range(1, 31)]
    + [f"Local Rating {n}" for n in range(1, 6)]
    + ["Local Favourite", "Local Watched", "Local To Review", "Local Needs Trim"]
)


class LocalTagBook:
    """Creates local tags with ids 1, 2, ... refusing names or aliases already taken."""

    def __init__(self, reserved: set[str]) -> None:
        self.tags: list[LocalTag] = []
        self._taken = set(reserved)

    def reserve(self, words: set[str]) -> None:
        """Forbid these folded words (another tag's name or alias)."""
        self._taken.update(words)

    def release(self, words: set[str]) -> None:
        self._taken.difference_update(words)

    def free(self, *texts: str) -> bool:
        folded = [ascii_fold(t) for t in texts]
        return len(set(folded)) == len(folded) and not any(f in self._taken for f in folded)

    def add(self, name: str, aliases: tuple[str, ...] = (), links: tuple[LocalStashID, ...] = (),
            sort_name: str | None = None) -> LocalTag | None:
        if not self.free(name, *aliases) or any("%" in t or "_" in t for t in (name, *aliases)):
            return None
        self._taken.update(ascii_fold(t) for t in (name, *aliases))
        tag = LocalTag(len(self.tags) + 1, name, sort_name, aliases, links)
        self.tags.append(tag)
        return tag


@dataclass
class TagSet:
    stashdb_tags: list[StashDBTag] = field(default_factory=list)
    local_tags: list[LocalTag] = field(default_factory=list)
    link_kinds: dict[str, str] = field(default_factory=dict)
    popularity: list[str] = field(default_factory=list)


def build_tags(vocabulary: list[VocabularyTag], rng: random.Random, endpoint: str, other_endpoint: str,
               near_miss_share: float = 0.0) -> TagSet:
    """StashDB tags with uuids, in a random popularity order, and their local tags.

    With `near_miss_share`, that share of the tags left MISSING get a near miss instead: a
    local tag named as one of the StashDB tag's aliases, or as its name with other
    punctuation or in the other number. Stash matches none of them; they are what the
    plugin's suggestions are for. (At 0 no random number is drawn for it, so libraries
    without near misses are exactly what they were.)"""
    vocabulary_words = {ascii_fold(t) for v in vocabulary for t in (v.name, *v.aliases)}
    book = LocalTagBook(reserved=set())
    for name in PERSONAL_TAG_NAMES:
        if ascii_fold(name) not in vocabulary_words:
            book.add(name)
    book.reserve(vocabulary_words)  # a StashDB word may only name the local side of its own tag
    ranked = list(vocabulary)
    rng.shuffle(ranked)
    result = TagSet()
    for word in ranked:
        tag = StashDBTag(_uuid(rng), word.name, word.aliases, word.category, word.description)
        result.stashdb_tags.append(tag)
        result.popularity.append(tag.id)
        kind = _draw_link_kind(rng)
        if kind == MISSING and near_miss_share and rng.random() < near_miss_share:
            kind = NEAR_MISS
        result.link_kinds[tag.id] = _add_local(book, tag, kind, rng, endpoint, other_endpoint)
    result.local_tags = book.tags
    return result


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _draw_link_kind(rng: random.Random) -> str:
    draw, total = rng.random(), 0.0
    for kind, weight in LINK_WEIGHTS:
        total += weight
        if draw < total:
            return kind
    return MISSING


def _case_variant(name: str, rng: random.Random) -> str:
    variants = [v for v in (name.lower(), name.upper(), name.swapcase()) if v != name and v.isascii()]
    return rng.choice(variants) if variants else name


def _add_local(book: LocalTagBook, tag: StashDBTag, kind: str, rng: random.Random,
               endpoint: str, other_endpoint: str) -> str:
    """Create the local side of ``tag`` for ``kind``; return the kind achieved."""
    own_words = {ascii_fold(t) for t in (tag.name, *tag.aliases)}
    book.release(own_words)
    try:
        return kind if _create(book, tag, kind, rng, endpoint, other_endpoint) else MISSING
    finally:
        book.reserve(own_words)


def _create(book: LocalTagBook, tag: StashDBTag, kind: str, rng: random.Random,
            endpoint: str, other_endpoint: str) -> bool:
    link = (LocalStashID(endpoint, tag.id),)
    sort_name = f"{tag.name} sort" if rng.random() < 0.03 else None
    if kind == STASH_ID:
        return book.add(tag.name, links=link, sort_name=sort_name) is not None
    if kind == STASH_ID_RENAMED:
        return book.add(f"{tag.name} (local)", links=link) is not None
    if kind == STASH_ID_OVER_NAME:
        return (book.free(f"{tag.name} (linked)", tag.name)
                and book.add(f"{tag.name} (linked)", links=link) is not None
                and book.add(tag.name) is not None)
    if kind == OTHER_ENDPOINT_ONLY:
        return book.add(f"{tag.name} (other box)", links=(LocalStashID(other_endpoint, tag.id),)) is not None
    if kind == BY_NAME:
        return book.add(tag.name, sort_name=sort_name) is not None
    if kind == BY_NAME_CASE_VARIANT:
        return book.add(_case_variant(tag.name, rng)) is not None
    if kind == BY_ALIAS:
        return book.add(_alias_owner_name(book, tag), aliases=(_case_variant(tag.name, rng),)) is not None
    if kind == NEAR_MISS:
        name = near_miss_name(tag, rng)
        return name is not None and ascii_fold(name) != ascii_fold(tag.name) and book.add(name) is not None
    return kind == MISSING


def near_miss_name(tag: StashDBTag, rng: random.Random) -> str | None:
    """A StashDB alias, or the name with spaces as hyphens (or the reverse), or with an s
    added or taken from its last word."""
    choices = [alias for alias in tag.aliases[:1] if alias.isascii()]
    if " " in tag.name or "-" in tag.name:
        choices.append(tag.name.replace(" ", "-") if " " in tag.name else tag.name.replace("-", " "))
    if tag.name[-1:].isalpha():
        choices.append(tag.name[:-1] if tag.name.endswith("s") and not tag.name.endswith("ss") else tag.name + "s")
    return rng.choice(choices) if choices else None


def _alias_owner_name(book: LocalTagBook, tag: StashDBTag) -> str:
    """A local name for a tag that knows ``tag`` only by alias: one of its aliases."""
    for alias in tag.aliases:
        if alias.isascii() and "%" not in alias and "_" not in alias and book.free(alias, tag.name):
            return alias
    return f"{tag.name} Local"
