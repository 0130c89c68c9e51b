"""Tags for the matching-parity test: StashDB's side and a local library built to collide.

StashDB side: every name of the real vocabulary, plus variants of case,
whitespace, Unicode, `%` / `_` and digits, and second StashDB tags that share a
linked tag's name under another id.

Local side (created in list order; Stash refuses a name or alias that
`LIKE`-matches an existing one, so names holding `%` or `_` come first): per
vocabulary name, in turn, the same name, its lower / upper / swapped case (one
with an empty sort name), a tag that has it as an alias, a tag linked by StashID
(some with a rival tag of the same name), two tags linked to the same id, a
link under another endpoint or with the id in upper case, nothing, and the name
with its real aliases. Then small groups where `LIKE` finds several tags and
the sort key (sort name, natural order, case folding, ties) decides.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Iterable

from tests.simulators.records import StashDBTag
from tests.simulators.text_rules import ascii_fold
from tests.simulators.vocabulary import VocabularyTag, load_vocabulary


def parity_uuid(text: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "tagmanager-parity:" + text))


class LocalNameRegistry:
    """Refuses, at design time, a local name or alias Stash would refuse as taken."""

    def __init__(self) -> None:
        self.folded: set[str] = set()

    def _taken(self, value: str) -> bool:
        folded = ascii_fold(value)
        if "%" not in value and "_" not in value:
            return folded in self.folded
        pattern = re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in folded),
                             re.DOTALL)
        return any(pattern.fullmatch(existing) for existing in self.folded)

    def claim(self, tag_input: dict) -> dict:
        values = [tag_input["name"], *tag_input.get("aliases", ())]
        taken = [value for value in values if self._taken(value)]
        if taken or len({ascii_fold(v) for v in values}) != len(values):
            raise ValueError(f"local tag design collides with itself: {taken or values}")
        self.folded.update(ascii_fold(value) for value in values)
        return tag_input


@dataclass
class ParityDesign:
    endpoint: str
    stashdb_tags: list[StashDBTag] = field(default_factory=list)
    local_inputs: list[dict] = field(default_factory=list)
    registry: LocalNameRegistry = field(default_factory=LocalNameRegistry)

    def add_stashdb(self, name: str, tag_id: str | None = None) -> StashDBTag:
        tag = StashDBTag(tag_id or parity_uuid(f"variant:{len(self.stashdb_tags)}:{name!r}"), name)
        self.stashdb_tags.append(tag)
        return tag

    def add_local(self, name: str, *, aliases: Iterable[str] = (), sort_name: str | None = None,
                  links: Iterable[tuple[str, str]] = ()) -> None:
        tag_input: dict = {"name": name}
        if aliases:
            tag_input["aliases"] = list(aliases)
        if sort_name is not None:
            tag_input["sort_name"] = sort_name
        if links:
            tag_input["stash_ids"] = [{"endpoint": e, "stash_id": s} for e, s in links]
        self.local_inputs.append(self.registry.claim(tag_input))


# -- groups whose local names hold LIKE wildcards: created first ------------------------

def add_wildcard_name_groups(design: ParityDesign) -> None:
    for name in ("Under_Score", "100%", "Fifty%Off"):
        design.add_local(name)
    for name in ("Under-Score", "100 Percent", "Fifty Percent Off"):
        design.add_local(name)
    for name in ("Under_Score", "under_score", "Under Score", "100%", "100_", "Fifty%", "%Off", "%", "_", "__"):
        design.add_stashdb(name)


# -- the real vocabulary -----------------------------------------------------------------

def add_vocabulary_tag(design: ParityDesign, index: int, entry: VocabularyTag, tag: StashDBTag) -> None:
    endpoint, name, kind = design.endpoint, entry.name, index % 10
    if kind in (0, 1, 2, 3):
        local_name = (name, name.lower(), name.upper(), name.swapcase())[kind]
        design.add_local(local_name, sort_name="" if kind == 3 else None)
    elif kind == 4:
        design.add_local(f"{name} [alias host]", aliases=[name.lower()])
    elif kind == 5:
        design.add_local(f"Linked {index:04d}", links=[(endpoint, tag.id)])
        if index % 20 == 5:
            design.add_local(name)  # a rival by name: the link must win
    elif kind == 6:
        design.add_local(f"Twin B {index:04d}", sort_name="zz", links=[(endpoint, tag.id)])
        design.add_local(f"Twin A {index:04d}", links=[(endpoint, tag.id)])
    elif kind == 7:
        if index % 20 == 7:
            design.add_local(name, links=[(endpoint + "/", tag.id)])
        else:
            design.add_local(name.lower(), links=[(endpoint, tag.id.upper())])
    elif kind == 9:
        design.add_local(name, aliases=entry.aliases)


def add_vocabulary(design: ParityDesign, vocabulary: list[VocabularyTag]) -> None:
    for index, entry in enumerate(vocabulary):
        tag = design.add_stashdb(entry.name, parity_uuid("real:" + entry.name))
        add_vocabulary_tag(design, index, entry, tag)


def add_vocabulary_variants(design: ParityDesign, vocabulary: list[VocabularyTag]) -> None:
    """Case and whitespace variants, wildcards in real names, and same-name second ids."""
    for entry in vocabulary[::50]:
        name = entry.name
        for variant in (name.upper(), name.lower(), name.swapcase(), f" {name}", f"{name} ",
                        name.replace(" ", "  "), f"{name}\t", f"\u00a0{name}"):
            design.add_stashdb(variant)
    spaced = [entry.name for entry in vocabulary if " " in entry.name]
    for name in spaced[::40]:
        design.add_stashdb(name.replace(" ", "_", 1))
        design.add_stashdb(name[:4] + "%")
        design.add_stashdb("%" + name[-5:])
    for index in range(5, len(vocabulary), 200):  # linked kind: same name, another id
        design.add_stashdb(vocabulary[index].name)


# -- small collision groups --------------------------------------------------------------

def add_sort_groups(design: ParityDesign) -> None:
    """Several tags match; sort names, natural order and ties decide."""
    for name, sort_name in (("Tie Alpha", "tie-key"), ("Tie Beta", "TIE-KEY"), ("Tie Gamma", "Tie-Key"),
                            ("Sorted Last", "zzzz"), ("Sorted First", " aaa"), ("Sorted Early", "0 first")):
        design.add_local(name, sort_name=sort_name)
    for name in ("Part 1", "Part 2", "Part 02", "Part 10", "Scene 9", "Scene 10", "Take 007", "Take 7"):
        design.add_local(name)
    design.add_local("Alias only B", aliases=["Zqax one"])
    design.add_local("Alias only A", aliases=["Zqbx two"])
    design.add_local("Alias tie one", aliases=["Qqtie 1"], sort_name="same")
    design.add_local("Alias tie two", aliases=["Qqtie 2"], sort_name="SAME")
    design.add_local("Precedence alias holder", aliases=["Wqaz"])
    design.add_local("Wqbz")
    design.add_local("Double  Space")
    for name in ("Tie %", "Tie _eta", "Sorted %", "Part _", "Part %", "Part %2", "Scene %", "Take %7",
                 "Take 7", "Take 007", "Zq_x%", "Qqtie _", "Wq_z", "Double  Space", "Double Space"):
        design.add_stashdb(name)


def add_unicode_group(design: ParityDesign) -> None:
    """LIKE folds ASCII letters only; no normalisation; natural order folds all cases."""
    for name in ("Café", "CAFÉ", "Straße", "İstanbul", "Istanbul", "Kelvin K", "Émilie", "émilie",
                 "Σίσυφος", "東京", "ǅ", "Ångström"):
        design.add_local(name)
    for name in ("café", "CAFÉ", "CAFé", "cafÉ", "Cafe\u0301", "STRASSE", "straße", "STRAẞE",
                 "istanbul", "İSTANBUL", "%stanbul", "_stanbul", "Kelvin \u212a", "kelvin k",
                 "ångström", "ÅNGSTRÖM", "_milie", "ÉMILIE", "σίσυφος", "東京", "Ǆ", "ǅ", "ǆ"):
        design.add_stashdb(name)


def design_parity(endpoint: str) -> ParityDesign:
    design = ParityDesign(endpoint)
    vocabulary = load_vocabulary()
    add_wildcard_name_groups(design)
    add_vocabulary(design, vocabulary)
    add_vocabulary_variants(design, vocabulary)
    add_sort_groups(design)
    add_unicode_group(design)
    return design
