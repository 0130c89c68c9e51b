"""Match a StashDB tag to a local tag exactly as Stash v0.30.1's Tagger does.

Stash's rule (pkg/match/scraped.go, ScrapedTag), step by step:

1. If the stash-box endpoint is non-empty and the StashDB tag has an id: the
   local tags holding the stash id ``{endpoint, id}`` (both compared exactly).
   The query has no ORDER BY; SQLite answers in ascending tag id, and Stash
   takes the first, so the lowest id wins. No linked tag: fall through to 2.
2. ``tags.name LIKE <StashDB name>`` (pkg/tag/query.go ByName).
3. ``tag_aliases.alias LIKE <StashDB name>`` (ByAlias).

SQLite's LIKE without ESCAPE folds ASCII letters only, and ``%``/``_`` in the
StashDB name are wildcards. Steps 2 and 3 keep the first row of
``ORDER BY COALESCE(sort_name, name) COLLATE NATURAL_CI`` (the tag's sort key,
also for aliases). Stash's NATURAL_CI collation never reports "equal": it
answers -1 when ``NaturalLess(a, b)`` and 1 otherwise. For two tags whose sort
keys compare equal (``Milf``/``MILF``) the SQL order is formally undefined;
what SQLite actually does with that collation and ``LIMIT 1`` over a rowid
scan is keep the LAST tied row, i.e. the highest tag id. That is what we do
(observed with the SQLite 3.45.1 that Stash's go-sqlite3 v1.14.22 bundles,
and with Python's sqlite3; the oracle test runs the real SQL).

Everything here is pure: no I/O and no logging beyond debug lines and one
warning per invalid exclusion pattern.
"""
from __future__ import annotations

import bisect
import functools
import logging
import re
from collections import Counter
from typing import Any, Iterable, Mapping, NamedTuple

from go_regexp import compile_go_pattern, go_lower

logger = logging.getLogger("tagManager.matching")

# --------------------------------------------------------------------------
# NATURAL_CI: github.com/WithoutPants/sortorder/casefolded.NaturalLess
# --------------------------------------------------------------------------

_DIGIT_RUN = 0x30  # digit runs sort where the digit characters sit

# Case-fold groups whose lowest member is neither the group's simple case
# fold nor an upper/lower/title case of it (found by comparing with Go's
# unicode.SimpleFold over every code point): U+0345 and U+1FBE fold to iota,
# U+00B5 (micro sign) to mu, U+1C88 to U+A64B.
_HIDDEN_FOLD_MEMBERS = {"\u03b9": "\u0345", "\u03bc": "\u00b5", "\ua64b": "\u1c88"}


def _simple_case_fold(ch: str) -> str:
    folded = ch.casefold()
    if len(folded) == 1:
        return folded
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


@functools.lru_cache(maxsize=None)
def _folded_code(ch: str) -> int:
    """The lowest code point case-equivalent to ``ch`` (Go: SimpleFold orbit)."""
    if ch < "\x80":
        return ord(ch.upper())
    fold = _simple_case_fold(ch)
    candidates = {ch, fold, *_HIDDEN_FOLD_MEMBERS.get(fold, "")}
    for variant in (fold.upper(), fold.title(), ch.upper(), ch.lower(), ch.title()):
        if len(variant) == 1:
            candidates.add(variant)
    return ord(min(c for c in candidates if _simple_case_fold(c) == fold))


def _utf8_length(ch: str) -> int:
    code = ord(ch)
    return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4


def natural_ci_key(text: str) -> tuple:
    """Sort key such that ``key(a) < key(b)`` exactly when NaturalLess(a, b).

    Runs of ASCII digits compare by value (significant-digit count, then the
    digits); at equal value the run whose first significant digit sits at the
    lower UTF-8 byte offset is less (so "2" < "02"). Any other character
    compares by its lowest case-equivalent code point (Unicode simple case
    folding, so "é" == "É" and "k" == KELVIN SIGN). A digit run against a
    character compares as the digit against that character. A proper prefix
    is less.
    """
    tokens = []
    offset = index = 0
    length = len(text)
    while index < length:
        ch = text[index]
        if "0" <= ch <= "9":
            run_start = index
            while index < length and text[index] == "0":
                index += 1
            significant_start = index
            while index < length and "0" <= text[index] <= "9":
                index += 1
            digits = text[significant_start:index]
            significant_offset = offset + (significant_start - run_start)
            tokens.append((_DIGIT_RUN, len(digits), digits, significant_offset))
            offset += index - run_start
        else:
            tokens.append((_folded_code(ch),))
            offset += _utf8_length(ch)
            index += 1
    return tuple(tokens)


# --------------------------------------------------------------------------
# SQLite LIKE (no ESCAPE clause, case_sensitive_like off)
# --------------------------------------------------------------------------

_ASCII_TO_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def like_key(text: str) -> str:
    """``text`` with ASCII letters lower-cased, the only folding LIKE does."""
    return text.lower() if text.isascii() else text.translate(_ASCII_TO_LOWER)


def like_matches(stashdb_name: str, text: str) -> bool:
    """``text LIKE stashdb_name``, as Stash's name and alias lookups compare."""
    key = like_key(stashdb_name)
    if "%" in key or "_" in key:
        return like_pattern(key).fullmatch(like_key(text)) is not None
    return like_key(text) == key


def like_pattern(pattern_key: str) -> re.Pattern:
    """A LIKE pattern (already ``like_key``-ed) as a regex for ``fullmatch``:
    ``%`` is any run of characters, ``_`` exactly one, all else literal."""
    parts = []
    for ch in pattern_key:
        if ch == "%":
            if not parts or parts[-1] != ".*":
                parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


# --------------------------------------------------------------------------
# The local tag library
# --------------------------------------------------------------------------


class _LocalTag(NamedTuple):
    id: str
    name: str | None
    sort_value: str | None  # COALESCE(sort_name, name)
    aliases: tuple[str, ...]
    stash_ids: tuple[tuple[str, str], ...]  # (endpoint, stash_id)


def _local_tag(tag: Mapping[str, Any]) -> _LocalTag | None:
    if tag.get("id") is None:
        return None
    name = tag.get("name")
    # Stash stores an empty sort_name as NULL (zero.String), so "" means unset.
    sort_value = tag.get("sort_name") or name
    aliases = tuple(a for a in (tag.get("aliases") or ()) if a is not None)
    stash_ids = tuple(
        (link["endpoint"], link["stash_id"])
        for link in (tag.get("stash_ids") or ())
        if link and link.get("endpoint") is not None and link.get("stash_id") is not None
    )
    return _LocalTag(str(tag["id"]), name, sort_value, aliases, stash_ids)


def id_order(object_id: str) -> tuple:
    """Stash's ids are integers: numeric order, with anything else after them."""
    return (0, int(object_id), "") if object_id.isdigit() else (1, 0, object_id)


def _id_order(tag: _LocalTag) -> tuple:
    return id_order(tag.id)


def _sort_order(tag: _LocalTag) -> tuple:
    # SQLite puts NULL before every text value without asking the collation;
    # NULLs tie, and the next ORDER BY term, COALESCE(.., tags.id), is then
    # the integer id, compared as a number.
    if tag.sort_value is None:
        return (0, _id_order(tag))
    return (1, natural_ci_key(tag.sort_value))


def _rank(tag: _LocalTag) -> tuple:
    """Where Stash's name/alias query ranks a tag: by sort key, and among equal sort keys
    the highest id first (see module docstring)."""
    descending_id = (0, -int(tag.id), "") if tag.id.isdigit() else (1, 0, tag.id)
    return (_sort_order(tag), descending_id)


class TagCache:
    """Local tags, indexed once for Stash's three lookups; `add` keeps the indexes exact
    as tags are created during a run."""

    def __init__(self, tags: list[_LocalTag]) -> None:
        self._tags: dict[str, _LocalTag] = {}
        self._ranks: dict[str, tuple] = {}
        self._links: dict[str, dict[str, str]] = {}     # endpoint -> stash_id -> lowest tag id
        self._linked_counts: Counter = Counter()
        self._name_keys: list[tuple[tuple, str, str]] = []   # (rank, like key, tag id), in rank order
        self._alias_keys: list[tuple[tuple, str, str]] = []
        self._name_winners: dict[str, str] = {}
        self._alias_winners: dict[str, str] = {}
        self._exact_winners: dict[str, str] = {}        # a name beats an alias
        self._wildcard_winners: dict[str, str | None] = {}
        for tag in sorted(tags, key=_rank):
            self._index(tag, appending=True)
        logger.debug(
            "Tag cache: %d tags, %d names, %d aliases, links for %d endpoint(s)",
            len(self._tags), len(self._name_winners), len(self._alias_winners), len(self._links),
        )

    def _index(self, tag: _LocalTag, appending: bool) -> None:
        rank = _rank(tag)
        self._tags[tag.id] = tag
        self._ranks[tag.id] = rank
        for endpoint in {e for e, _ in tag.stash_ids}:
            self._linked_counts[endpoint] += 1
        for endpoint, stash_id in tag.stash_ids:
            linked = self._links.setdefault(endpoint, {})
            if stash_id not in linked or id_order(tag.id) < id_order(linked[stash_id]):
                linked[stash_id] = tag.id
        keys = [(like_key(tag.name), self._name_keys, self._name_winners)] if tag.name is not None else []
        keys += [(like_key(alias), self._alias_keys, self._alias_winners) for alias in tag.aliases]
        for key, ordered, winners in keys:
            entry = (rank, key, tag.id)
            ordered.append(entry) if appending else bisect.insort(ordered, entry)
            if key not in winners or rank < self._ranks[winners[key]]:
                winners[key] = tag.id
            self._exact_winners[key] = self._name_winners.get(key) or self._alias_winners[key]
        self._wildcard_winners.clear()

    @classmethod
    def from_tags(cls, tags: Iterable[Mapping[str, Any]]) -> TagCache:
        """From Stash GraphQL ``Tag`` dicts (id, name, sort_name, aliases, stash_ids)."""
        return cls([t for t in map(_local_tag, tags) if t is not None])

    @classmethod
    def build(cls, local_stash: Any) -> TagCache:
        """From anything with an ``all_tags()`` method returning Tag dicts."""
        return cls.from_tags(local_stash.all_tags())

    def add(self, tag: Mapping[str, Any]) -> None:
        """A tag created during the run (a Stash ``Tag`` dict with a new id)."""
        local = _local_tag(tag)
        if local is None or local.id in self._tags:
            raise ValueError(f"cannot add tag {tag.get('id')!r} to the cache")
        self._index(local, appending=False)

    @property
    def tag_count(self) -> int:
        return len(self._tags)

    def get_name(self, tag_id: str) -> str | None:
        tag = self._tags.get(str(tag_id))
        return tag.name if tag else None

    def stash_ids_of(self, tag_id: str, endpoint: str) -> tuple[str, ...]:
        """The stash ids this tag holds for exactly this endpoint."""
        tag = self._tags.get(str(tag_id))
        return tuple(stash_id for e, stash_id in tag.stash_ids if e == endpoint) if tag else ()

    def found_by_alias(self, tag_id: str, stashdb_name: str) -> bool:
        """Whether `tag_found_by_name(stashdb_name)`, having found this tag, found it by an
        alias (step 3): its name does not match, for step 2 would have found a name first."""
        tag = self._tags.get(str(tag_id))
        return tag is not None and (tag.name is None or not like_matches(stashdb_name, tag.name))

    def linked_count(self, endpoint: str) -> int:
        """Local tags with a stash id for exactly this endpoint."""
        return self._linked_counts.get(endpoint, 0)

    def tag_linked_to(self, endpoint: str, stash_id: str) -> str | None:
        """Step 1: the tag holding this stash id for exactly this endpoint."""
        linked = self._links.get(endpoint)
        return linked.get(stash_id) if linked else None

    def tag_found_by_name(self, stashdb_name: str) -> str | None:
        """Steps 2 and 3: ``name LIKE stashdb_name``, else ``alias LIKE``. This is also
        Stash's uniqueness check for a new name or alias (pkg/tag/update.go)."""
        key = like_key(stashdb_name)
        if "%" in key or "_" in key:
            return self._wildcard_winner(key)
        return self._exact_winners.get(key)

    def _wildcard_winner(self, key: str) -> str | None:
        if key not in self._wildcard_winners:
            pattern = like_pattern(key)
            winner = _first_matching(pattern, self._name_keys)
            if winner is None:
                winner = _first_matching(pattern, self._alias_keys)
            self._wildcard_winners[key] = winner
        return self._wildcard_winners[key]


def _first_matching(pattern: re.Pattern, keyed_tags: list[tuple[tuple, str, str]]) -> str | None:
    return next((tag_id for _, key, tag_id in keyed_tags if pattern.fullmatch(key)), None)


def match_stashdb_tag_to_local(
    stashdb_tag: Mapping[str, Any], tag_cache: TagCache, endpoint: str
) -> str | None:
    """The local tag id Stash's Tagger would pick for ``{"id", "name"}``, or None."""
    stash_id = stashdb_tag.get("id")
    if endpoint and stash_id is not None:
        linked = tag_cache.tag_linked_to(endpoint, stash_id)
        if linked is not None:
            return linked
    name = stashdb_tag.get("name")
    if name is None:
        return None
    return tag_cache.tag_found_by_name(name)


# --------------------------------------------------------------------------
# scraping.excludeTagPatterns (pkg/scraper/tag.go FilterTags)
# --------------------------------------------------------------------------


class TagExcluder:
    """Stash's exclusion rule: a StashDB tag is dropped when its lower-cased
    name contains a match of any lower-cased pattern (Go regexp, unanchored).
    An invalid pattern is logged once and ignored, as Stash does."""

    def __init__(self, patterns: Iterable[str] | None) -> None:
        self._regexes: list[re.Pattern] = []
        self.invalid_patterns: tuple[str, ...] = ()
        invalid: list[str] = []
        for pattern in dict.fromkeys(p for p in patterns or () if isinstance(p, str)):
            try:
                self._regexes.append(compile_go_pattern(go_lower(pattern)))
            except (re.error, ValueError) as err:
                invalid.append(pattern)
                logger.warning("Ignoring invalid tag exclusion pattern %r: %s", pattern, err)
        self.invalid_patterns = tuple(invalid)

    def excludes(self, name: str | None) -> bool:
        if not self._regexes or name is None:
            return False
        lowered = go_lower(name)
        return any(regex.search(lowered) for regex in self._regexes)
