"""How often the first suggestion is right, on the real StashDB vocabulary.

    python3 -m bench.suggestion_quality [--tags 300] [--seed 1]

For each variant kind (case, punctuation, plural, StashDB alias) it draws `--tags` real
StashDB tags and gives each one local counterpart, written that way; every other tag of
the vocabulary is a local tag under its own name (the distractors). Then, as the page
would show them, it asks `tag_suggestions` for each drawn tag and counts how often the
first suggestion is its counterpart, how often the counterpart is among the five, and how
often nothing is suggested. A last row draws tags that have NO local counterpart: every
suggestion there is a false hint. Needs ../shared/data/stashdb_tags_2024-12.json.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass

from tag_suggestions import SuggestionIndex
from tests.shared_schemas import STASHDB_TAGS_FILE
from tests.simulators.vocabulary import VocabularyTag, load_vocabulary

ENDPOINT = "https://stashdb.org/graphql"


def case_variant(name: str) -> str:
    return name.upper() if name != name.upper() else name.lower()


def punctuation_variant(name: str) -> str:
    if " " in name:
        return name.replace(" ", "-")
    if "-" in name:
        return name.replace("-", " ")
    return name + "."


def plural_variant(name: str) -> str:
    """The last word before any "(...)" made plural, or singular when it ends in s."""
    if name.endswith(")") and " (" in name:
        base, _, qualifier = name.rpartition(" (")
        return plural_variant(base) + " (" + qualifier
    head, _, last = name.rpartition(" ")
    head = head + " " if head else ""
    lower = last.lower()
    if lower.endswith("ies"):
        return head + last[:-3] + "y"
    if lower.endswith(("ses", "xes", "ches", "shes")) and not lower.endswith("sses"):
        return head + last[:-2]
    if lower.endswith(("ss", "x", "ch", "sh")):
        return head + last + "es"
    if lower.endswith("s") and not lower.endswith("us"):
        return head + last[:-1]
    if lower.endswith("y") and len(last) > 1 and lower[-2] not in "aeiou":
        return head + last[:-1] + "ies"
    return head + last + "s"


def alias_variant(tag: VocabularyTag) -> str:
    return tag.aliases[0]


def typo_variant(name: str) -> str:
    """One letter of the longest word doubled: a typo that no rule but the fuzzy one sees."""
    longest = max(name.split(" "), key=len)
    middle = len(longest) // 2
    return name.replace(longest, longest[:middle] + longest[middle] + longest[middle:], 1)


VARIANTS = {
    "case": lambda tag: case_variant(tag.name),
    "punctuation": lambda tag: punctuation_variant(tag.name),
    "plural": lambda tag: plural_variant(tag.name),
    "StashDB alias": alias_variant,
    "typo (one letter doubled; beyond the four asked for)": lambda tag: typo_variant(tag.name),
}


@dataclass
class Row:
    kind: str
    tags: int = 0
    first_right: int = 0
    in_top_five: int = 0
    nothing: int = 0
    any_suggestion: int = 0

    def as_dict(self) -> dict:
        share = (lambda n: round(n / self.tags, 4) if self.tags else None)
        return {"kind": self.kind, "tags": self.tags, "first_right": self.first_right,
                "first_right_share": share(self.first_right), "in_top_five": self.in_top_five,
                "nothing_suggested": self.nothing, "any_suggestion": self.any_suggestion}


def _last_word(name: str) -> str:
    base = name.rpartition(" (")[0] if name.endswith(")") and " (" in name else name
    return base.rpartition(" ")[2]


def measure_variant(kind: str, vocabulary: list[VocabularyTag], count: int, rng: random.Random,
                    wrong: list[str]) -> Row:
    pool = [tag for tag in vocabulary if (kind != "StashDB alias" or tag.aliases)
            and (kind != "plural" or _last_word(tag.name).isalpha() and len(_last_word(tag.name)) >= 3)]
    drawn = rng.sample(pool, count)
    drawn_names = {tag.name for tag in drawn}
    local = [{"id": f"d{i}", "name": tag.name} for i, tag in enumerate(vocabulary) if tag.name not in drawn_names]
    local += [{"id": f"v{i}", "name": VARIANTS[kind](tag)} for i, tag in enumerate(drawn)]
    index = SuggestionIndex(local, ENDPOINT)
    row = Row(kind, len(drawn))
    for i, tag in enumerate(drawn):
        suggestions = index.suggest(tag.name, tag.aliases)
        ids = [s.tag_id for s in suggestions]
        row.first_right += ids[:1] == [f"v{i}"]
        row.in_top_five += f"v{i}" in ids
        row.nothing += not ids
        if ids[:1] != [f"v{i}"] and len(wrong) < 12:
            first = f"{suggestions[0].name!r} ({suggestions[0].reason})" if suggestions else "nothing"
            wrong.append(f"{kind}: {tag.name!r} -> local {VARIANTS[kind](tag)!r}; first suggestion: {first}")
    return row


def measure_without_counterpart(vocabulary: list[VocabularyTag], count: int, rng: random.Random) -> Row:
    drawn = rng.sample(vocabulary, count)
    drawn_names = {tag.name for tag in drawn}
    index = SuggestionIndex([{"id": f"d{i}", "name": tag.name} for i, tag in enumerate(vocabulary)
                             if tag.name not in drawn_names], ENDPOINT)
    row = Row("no local counterpart (any hint is wrong)", len(drawn))
    for tag in drawn:
        row.any_suggestion += bool(index.suggest(tag.name, tag.aliases))
    row.nothing = row.tags - row.any_suggestion
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.suggestion_quality")
    parser.add_argument("--tags", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    if not STASHDB_TAGS_FILE.is_file():
        print(f"the real vocabulary is not at {STASHDB_TAGS_FILE}", file=sys.stderr)
        return 2
    vocabulary = load_vocabulary()
    rng, wrong = random.Random(options.seed), []
    rows = [measure_variant(kind, vocabulary, options.tags, rng, wrong) for kind in VARIANTS]
    rows.append(measure_without_counterpart(vocabulary, options.tags, rng))
    print(f"{len(vocabulary)} real StashDB tags; {options.tags} drawn per row (seed {options.seed})")
    print(f"{'variant':<42} {'first right':>12} {'in top 5':>9} {'nothing':>8}")
    for row in rows[:-1]:
        print(f"{row.kind:<42} {row.first_right:>5} ({row.first_right / row.tags:6.1%}) {row.in_top_five:>9} "
              f"{row.nothing:>8}")
    last = rows[-1]
    print(f"{last.kind:<42} suggestions given for {last.any_suggestion} of {last.tags}")
    print("first suggestions that were not the counterpart (up to 12):")
    for line in wrong:
        print("  " + line)
    print(json.dumps({"seed": options.seed, "rows": [row.as_dict() for row in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
