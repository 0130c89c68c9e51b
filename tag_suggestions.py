"""Which local tags a StashDB tag that matched nothing probably is. Pure: no I/O.

Stash's matcher compares the StashDB name with local names and aliases, ASCII case aside,
and nothing else. These hints go further, strongest first:

1. a StashDB alias of the tag is a local tag's name or alias (Stash never looks at
   StashDB's aliases) — compared like rule 2;
2. the names are equal after Unicode case folding, accent removal, and ignoring
   punctuation, spaces and hyphens ("Ass-to-Mouth" / "ass to mouth", "Café" / "CAFÉ");
3. they are the singular and plural of each other ("Stocking" / "Stockings");
4. they look like a typo of each other: rapidfuzz's similarity (`fuzz.ratio`) at least
   FUZZY_THRESHOLD, the same number of words, and each word within a typo of its
   counterpart (equal up to 4 letters, one edit up to 8, two edits beyond), so the many
   StashDB pairs that differ by a whole word ("Tall Man" / "Tall Woman", "Male Doctor" /
   "Female Doctor", "Doggy Style" / "Doggy Style (DP)") are not offered; numbers must be
   equal ("Scene 9" never suggests "Scene 10").

A local tag already linked to another StashDB tag for this endpoint is still suggested,
ranked lower, and its reason says so (linking it needs `replace`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping

try:  # the fuzzy step is optional: without rapidfuzz, rules 1-3 still work
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein
except ImportError:  # pragma: no cover - exercised only where rapidfuzz is missing
    fuzz = process = Levenshtein = None

MAX_SUGGESTIONS = 5
FUZZY_THRESHOLD = 85.0          # rapidfuzz fuzz.ratio, 0..100: the first filter (bench/suggestion_quality.py)
FUZZY_MIN_LENGTH = 4            # shorter names are too easily alike
LINKED_PENALTY = 0.3
_WORDS = re.compile(r"[^\W_]+")
_NUMBERS = re.compile(r"\d+")
# (score, reason) per rule; name/alias says which local text it met.
_SCORES = {
    ("alias", "name"): 1.0, ("alias", "alias"): 0.97,
    ("same", "name"): 0.95, ("same", "alias"): 0.93,
    ("plural", "name"): 0.88, ("plural", "alias"): 0.86,
    ("alias-plural", "name"): 0.84, ("alias-plural", "alias"): 0.82,
}
FUZZY_WEIGHT = 0.8              # fuzzy scores stay below every rule above


def fuzzy_available() -> bool:
    return process is not None


@dataclass(frozen=True)
class Suggestion:
    tag_id: str
    name: str
    reason: str
    score: float

    def as_dict(self) -> dict:
        return {"tag_id": self.tag_id, "name": self.name, "reason": self.reason, "score": round(self.score, 3)}


# -- keys ----------------------------------------------------------------------------

def _plain(text: str) -> str:
    """Case-folded, accents removed (NFKD, combining marks dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def words(text: str) -> list[str]:
    return _WORDS.findall(_plain(text))


def normal_key(text: str) -> str:
    """Rule 2's key: folded, no accents, no punctuation, spaces or hyphens."""
    return "".join(words(text))


def singular(word: str) -> str:
    """An English singular for the usual plural endings; anything else as it is."""
    if len(word) <= 2 or word.isdigit() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def singular_key(text: str) -> str:
    """Rule 3's key: rule 2's with every word made singular."""
    return "".join(singular(word) for word in words(text))


def fuzzy_text(text: str) -> str:
    return " ".join(words(text))


def typo_apart(left: list[str], right: list[str]) -> bool:
    """The same words but for typos: as many words, each within its allowance of edits."""
    if len(left) != len(right):
        return False
    for a, b in zip(left, right):
        longest = max(len(a), len(b))
        allowed = 0 if longest <= 4 else 1 if longest <= 8 else 2
        if a != b and Levenshtein.distance(a, b, score_cutoff=allowed + 1) > allowed:
            return False
    return True


# -- the index -----------------------------------------------------------------------

def _local(text: "_Text") -> str:
    return f"this local tag's {text.role} {text.text!r}"


@dataclass(frozen=True)
class _Text:
    tag_id: str
    text: str
    role: str  # "name" or "alias"


class SuggestionIndex:
    """Local tags indexed for the four rules, built once per listing."""

    def __init__(self, local_tags: Iterable[Mapping], endpoint: str):
        self.names: dict[str, str] = {}
        self.links: dict[str, str] = {}      # tag id -> the StashDB id it is linked to for this endpoint
        self.by_normal: dict[str, list[_Text]] = {}
        self.by_singular: dict[str, list[_Text]] = {}
        self.fuzzy_choices: list[str] = []
        self.fuzzy_texts: list[_Text] = []
        for tag in local_tags:
            self._add(tag, endpoint)

    def _add(self, tag: Mapping, endpoint: str) -> None:
        tag_id, name = str(tag.get("id")), tag.get("name")
        if not isinstance(name, str):
            return
        self.names[tag_id] = name
        link = next((s.get("stash_id") for s in tag.get("stash_ids") or [] if s.get("endpoint") == endpoint), None)
        if link:
            self.links[tag_id] = link
        texts = [_Text(tag_id, name, "name")]
        texts += [_Text(tag_id, alias, "alias") for alias in tag.get("aliases") or [] if isinstance(alias, str)]
        for text in texts:
            key = normal_key(text.text)
            if not key:
                continue
            self.by_normal.setdefault(key, []).append(text)
            self.by_singular.setdefault(singular_key(text.text), []).append(text)
            if len(key) >= FUZZY_MIN_LENGTH:
                self.fuzzy_choices.append(fuzzy_text(text.text))
                self.fuzzy_texts.append(text)

    def suggest(self, name: str, aliases: Iterable[str] = (), limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Up to `limit` local tags for the StashDB tag `name` (with its StashDB `aliases`), best first."""
        best: dict[str, Suggestion] = {}
        for found in (*self._rule_hits(name, tuple(aliases)), *self._fuzzy_hits(name, limit)):
            found = self._with_link_note(found)
            if found.tag_id not in best or found.score > best[found.tag_id].score:
                best[found.tag_id] = found
        ranked = sorted(best.values(), key=lambda s: (-s.score, s.name.casefold(), s.tag_id))
        return ranked[:limit]

    def _rule_hits(self, name: str, aliases: tuple[str, ...]) -> Iterable[Suggestion]:
        for alias in aliases:
            for text in self.by_normal.get(normal_key(alias), ()):
                yield self._hit(("alias", text.role), text, f"StashDB lists {alias!r} as an alias of this tag, "
                                f"and that is {_local(text)}")
        for text in self.by_normal.get(normal_key(name), ()):
            yield self._hit(("same", text.role), text,
                            f"the same as {_local(text)} apart from case, accents, punctuation or spaces")
        for text in self.by_singular.get(singular_key(name), ()):
            yield self._hit(("plural", text.role), text, f"singular/plural of {_local(text)}")
        for alias in aliases:
            for text in self.by_singular.get(singular_key(alias), ()):
                yield self._hit(("alias-plural", text.role), text,
                                f"its StashDB alias {alias!r} is the singular/plural of {_local(text)}")

    def _hit(self, rule: tuple[str, str], text: _Text, reason: str) -> Suggestion:
        return Suggestion(text.tag_id, self.names[text.tag_id], reason, _SCORES[rule])

    def _fuzzy_hits(self, name: str, limit: int) -> Iterable[Suggestion]:
        query = fuzzy_text(name)
        if process is None or len(normal_key(name)) < FUZZY_MIN_LENGTH:
            return
        numbers = _NUMBERS.findall(query)
        found = process.extract(query, self.fuzzy_choices, scorer=fuzz.ratio, processor=None,
                                score_cutoff=FUZZY_THRESHOLD, limit=limit * 3)
        for choice, similarity, index in found:
            text = self.fuzzy_texts[index]
            if _NUMBERS.findall(choice) != numbers or not typo_apart(query.split(), choice.split()):
                continue
            yield Suggestion(text.tag_id, self.names[text.tag_id],
                             f"a similar name: {_local(text)} ({similarity:.0f}% alike)",
                             FUZZY_WEIGHT * similarity / 100)

    def _with_link_note(self, found: Suggestion) -> Suggestion:
        linked = self.links.get(found.tag_id)
        if linked is None:
            return found
        return Suggestion(found.tag_id, found.name,
                          f"{found.reason}; but it is already linked to StashDB tag {linked} for this endpoint "
                          "(linking it here needs replace: true)", max(0.0, found.score - LINKED_PENALTY))
