"""How long suggestions take for a large library: 10,000 local tags x 1,000 unmatched ones.

    python3 -m bench.suggestion_speed [--local 10000] [--unmatched 1000] [--seed 1]

Local tags: the real StashDB vocabulary's names (or the synthetic one when ../shared is
absent), then made-up names built from its words until there are `--local`, a third of
them with an alias. Unmatched StashDB tags: half drawn from the vocabulary written another
way (plural, hyphens, a typo), half made-up names, each with two aliases. Prints the time
to build the index and to suggest for every unmatched tag, and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import random
import time

import tag_suggestions
from tag_suggestions import SuggestionIndex
from tests.simulators.vocabulary import load_vocabulary

ENDPOINT = "https://stashdb.org/graphql"


def made_up_name(words: list[str], rng: random.Random) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(2, 3)))


def local_tags(names: list[str], words: list[str], count: int, rng: random.Random) -> list[dict]:
    taken = set(n.casefold() for n in names)
    while len(names) < count:
        name = made_up_name(words, rng)
        if name.casefold() not in taken:
            taken.add(name.casefold())
            names.append(name)
    return [{"id": str(i + 1), "name": name, "aliases": [name + " alt"] if i % 3 == 0 else []}
            for i, name in enumerate(names[:count])]


def unmatched_tags(names: list[str], words: list[str], count: int, rng: random.Random) -> list[tuple[str, list]]:
    changes = (lambda n: n + "s", lambda n: n.replace(" ", "-"), lambda n: n[:-1] + n[-1] * 2)
    tags = []
    for i in range(count):
        name = rng.choice(changes)(rng.choice(names)) if i % 2 else made_up_name(words, rng)
        tags.append((name, [made_up_name(words, rng), made_up_name(words, rng)]))
    return tags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.suggestion_speed")
    parser.add_argument("--local", type=int, default=10_000)
    parser.add_argument("--unmatched", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    vocabulary = [tag.name for tag in load_vocabulary()]
    words = sorted({word for name in vocabulary for word in name.split()})
    local = local_tags(list(vocabulary), words, options.local, rng)
    wanted = unmatched_tags(vocabulary, words, options.unmatched, rng)

    started = time.perf_counter()
    index = SuggestionIndex(local, ENDPOINT)
    built = time.perf_counter()
    suggestions = [index.suggest(name, aliases) for name, aliases in wanted]
    done = time.perf_counter()

    with_any = sum(1 for found in suggestions if found)
    print(f"{len(local)} local tags ({sum(len(t['aliases']) for t in local)} aliases), {len(wanted)} unmatched tags; "
          f"fuzzy step {'on' if tag_suggestions.fuzzy_available() else 'OFF (rapidfuzz missing)'}")
    print(f"index built in {built - started:.3f} s; suggestions in {done - built:.3f} s "
          f"({(done - built) / len(wanted) * 1000:.2f} ms per unmatched tag); {with_any} tags got at least one")
    print(json.dumps({"local_tags": len(local), "unmatched_tags": len(wanted), "index_seconds": round(built - started, 3),
                      "suggest_seconds": round(done - built, 3), "tags_with_suggestions": with_any,
                      "fuzzy": tag_suggestions.fuzzy_available()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
