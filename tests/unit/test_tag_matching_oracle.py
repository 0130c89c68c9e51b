"""The matcher against a reference built on real SQLite.

The reference stores a local library in Stash's tag tables, registers
NATURAL_CI the way Stash does (pkg/sqlite/driver.go: -1 when NaturalLess,
else 1, never 0) and runs the SQL Stash v0.30.1 builds for the Tagger's three
lookups (FindByStashID, ByName, ByAlias). The library and the queries are
made to collide: case, Unicode case, wildcard, whitespace, alias, sort-name
and endpoint variants, ids in shuffled order.
"""
from __future__ import annotations

import json
import random
import sqlite3
import string
from collections import Counter

import pytest

from tag_matching import TagCache, match_stashdb_tag_to_local, natural_ci_key
from tests.shared_schemas import STASHDB_TAGS_FILE


def natural_less(a: str, b: str) -> bool:
    """casefolded.NaturalLess(a, b), the order behind Stash's NATURAL_CI."""
    return natural_ci_key(a) < natural_ci_key(b)

STASHDB = "https://stashdb.org/graphql"
ENDPOINTS = [STASHDB, STASHDB + "/", "https://fansdb.cc/graphql"]

SCHEMA = """
CREATE TABLE tags (
  id integer not null primary key autoincrement,
  name varchar(255),
  sort_name varchar(255)
);
CREATE INDEX index_tags_on_name on tags (name);
CREATE TABLE tag_aliases (
  tag_id integer NOT NULL,
  alias varchar(255) NOT NULL,
  PRIMARY KEY(tag_id, alias)
);
CREATE UNIQUE INDEX tag_aliases_alias_unique on tag_aliases (alias);
CREATE TABLE tag_stash_ids (tag_id integer, endpoint varchar(255), stash_id varchar(36));
"""
STASH_ORDER = (
    " ORDER BY COALESCE(tags.sort_name, tags.name) COLLATE NATURAL_CI ASC,"
    " COALESCE(tags.sort_name, tags.name, tags.id) COLLATE NATURAL_CI ASC LIMIT 1 OFFSET 0"
)
BY_STASH_ID = (
    "SELECT tags.id FROM tags WHERE tags.id IN (SELECT tag_stash_ids.tag_id FROM tag_stash_ids"
    " WHERE tag_stash_ids.stash_id = ? AND tag_stash_ids.endpoint = ?)"
)
BY_NAME = "SELECT DISTINCT tags.id FROM tags WHERE (tags.name LIKE ?)" + STASH_ORDER
BY_ALIAS = (
    "SELECT DISTINCT tags.id FROM tags LEFT JOIN tag_aliases ON tag_aliases.tag_id = tags.id"
    " WHERE (tag_aliases.alias LIKE ?)" + STASH_ORDER
)
UNICODE_NAMES = [
    "Café", "CAFÉ", "café", "Ménage à Trois", "MÉNAGE À TROIS", "Straße", "STRASSE",
    "ΣΑΣ", "σας", "Kelvin \u212a", "kelvin k", "İstanbul", "istanbul", "Ñandú", "ñandú",
]
NUMBERED_NAMES = [
    "Scene 1", "Scene 01", "Scene 9", "Scene 09", "Scene 10", "Scene 010", "scene 2", "Part 2b",
]


# --- natural_less on hand-written pairs --------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("Scene 9", "Scene 10"),  # digit runs compare by value
        ("a2", "a02"),  # equal value: fewer leading zeros first
        ("a0", "a00"),
        ("a7", "a007"),
        ("1.5", "1.10"),
        ("x", "x1"),  # a prefix first
        ("", "a"),
        (" ", "0"),  # digits compare as their characters against others
        ("9", "a"),
        ("Z", "_"),  # ASCII is compared upper-cased, so "_" follows letters
        ("a", "["),
        ("e", "é"),
        ("z", "é"),
        ("e\u0301", "é"),  # no Unicode normalisation
        ("k01", "\u212a1"),  # Go compares zero runs by byte offset: KELVIN SIGN is 3 bytes
    ],
)
def test_natural_less_orders_hand_written_pairs(a, b):
    assert natural_less(a, b)
    assert not natural_less(b, a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("Milf", "MILF"), ("é", "É"), ("K", "\u212a"), ("s", "ſ"), ("σ", "ς"), ("µ", "Μ"),
        ("", ""),
    ],
)
def test_natural_less_treats_case_variants_as_equal(a, b):
    assert not natural_less(a, b)
    assert not natural_less(b, a)


# --- the library and the queries ----------------------------------------------


def load_vocabulary() -> list[dict]:
    if STASHDB_TAGS_FILE.is_file():
        return json.loads(STASHDB_TAGS_FILE.read_text(encoding="utf-8"))
    rng = random.Random(7)  # synthetic stand-in when ../shared is absent
    def word() -> str:
        return "".join(rng.choice(string.ascii_letters) for _ in range(rng.randint(3, 9)))

    words = [word() for _ in range(900)]
    return [
        {"name": f"{w} {word()}", "aliases": [word() + str(i) for i in range(rng.randint(0, 4))]}
        for w in words
    ]


def mangle_case(text: str, rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return text.upper()
    if style == 1:
        return text.lower()
    if style == 2:
        return text.swapcase()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def with_wildcard(text: str, rng: random.Random) -> str:
    if not text:
        return "%"
    spot = rng.randrange(len(text))
    style = rng.randrange(5)
    if style == 0:
        return text[:spot] + "_" + text[spot + 1:]
    if style == 1:
        return text[:spot] + "%"
    if style == 2:
        return "%" + text[spot:]
    if style == 3:
        return text.replace(" ", "_")
    return text[:spot] + "%" + text[spot + 1:]


def name_variants(name: str, rng: random.Random) -> list[str]:
    roll = rng.random()
    if roll < 0.15:
        return [mangle_case(name, rng)]
    if roll < 0.20:
        return [rng.choice([" ", ""]) + name + rng.choice([" ", ""])]
    if roll < 0.23:
        return [name.replace(" ", "_"), name.replace(" ", "")]
    return []


def build_library(vocabulary: list[dict], rng: random.Random) -> list[dict]:
    names = [t["name"] for t in vocabulary] + UNICODE_NAMES + NUMBERED_NAMES
    sort_pool = names + ["", "zzz", "Scene 5", "0"]
    tags = []
    for source in vocabulary + [{"name": n, "aliases": []} for n in UNICODE_NAMES + NUMBERED_NAMES]:
        for name in [source["name"], *name_variants(source["name"], rng)]:
            aliases = [a for a in source.get("aliases") or [] if rng.random() < 0.5]
            if rng.random() < 0.1:
                # an alias colliding with some tag's name
                aliases.append(mangle_case(rng.choice(names), rng))
            sort_name = rng.choice(sort_pool) if rng.random() < 0.08 else None
            tags.append({"name": name, "sort_name": sort_name, "aliases": aliases})
    tag_ids = rng.sample(range(1, 10 * len(tags)), len(tags))  # id order is not name order
    used_aliases: set[str] = set()
    for local_tag, tag_id in zip(tags, tag_ids):
        local_tag["id"] = str(tag_id)
        unique = dict.fromkeys(local_tag["aliases"])
        local_tag["aliases"] = [a for a in unique if a not in used_aliases]
        used_aliases.update(local_tag["aliases"])  # tag_aliases.alias is UNIQUE (binary)
    link_stash_ids(tags, rng)
    return tags


def link_stash_ids(tags: list[dict], rng: random.Random) -> None:
    shared_ids = [f"shared-{i}" for i in range(40)]
    for index, local_tag in enumerate(tags):
        links = []
        if rng.random() < 0.3:
            endpoint = rng.choices(ENDPOINTS, [70, 15, 15])[0]
            links.append({"endpoint": endpoint, "stash_id": f"id-{index}"})
        if rng.random() < 0.02:
            links.append({"endpoint": STASHDB, "stash_id": rng.choice(shared_ids)})
        local_tag["stash_ids"] = links


def build_queries(
    vocabulary: list[dict], tags: list[dict], rng: random.Random, count: int
) -> list[tuple[dict, str]]:
    texts = [t["name"] for t in vocabulary] + UNICODE_NAMES + NUMBERED_NAMES
    aliases = [a for t in vocabulary for a in t.get("aliases") or []]
    linked_ids = [link["stash_id"] for t in tags for link in t["stash_ids"]]
    queries = []
    for _ in range(count):
        text = rng.choice(aliases if aliases and rng.random() < 0.25 else texts)
        roll = rng.random()
        if roll < 0.35:
            text = mangle_case(text, rng)
        elif roll < 0.55:
            text = with_wildcard(mangle_case(text, rng) if rng.random() < 0.5 else text, rng)
        elif roll < 0.62:
            text = rng.choice([" ", "  "]) + text if rng.random() < 0.5 else text + " "
        elif roll < 0.70:
            text = text.upper() if rng.random() < 0.5 else text.casefold()
        elif roll < 0.73:
            text = "no such tag " + str(rng.random())
        stash_id = rng.choice([None, None, f"unknown-{rng.random()}", *rng.sample(linked_ids, 2)])
        endpoint = rng.choices([STASHDB, "", STASHDB + "/"], [85, 5, 10])[0]
        queries.append(({"id": stash_id, "name": text}, endpoint))
    return queries


# --- the SQLite reference ------------------------------------------------------


def stash_natural_ci(a: str, b: str) -> int:
    return -1 if natural_less(a, b) else 1  # as Stash registers it: never 0


def sqlite_library(tags: list[dict]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.create_collation("NATURAL_CI", stash_natural_ci)
    db.executescript(SCHEMA)
    for t in tags:
        db.execute(
            "INSERT INTO tags (id, name, sort_name) VALUES (?, ?, ?)",
            (int(t["id"]), t["name"], t["sort_name"] or None),  # Stash stores "" as NULL
        )
        db.executemany(
            "INSERT INTO tag_aliases (tag_id, alias) VALUES (?, ?)",
            [(int(t["id"]), a) for a in t["aliases"]],
        )
        db.executemany(
            "INSERT INTO tag_stash_ids (tag_id, endpoint, stash_id) VALUES (?, ?, ?)",
            [(int(t["id"]), s["endpoint"], s["stash_id"]) for s in t["stash_ids"]],
        )
    return db


def sqlite_match(
    db: sqlite3.Connection, stashdb_tag: dict, endpoint: str
) -> tuple[str | None, str]:
    """What Stash's ScrapedTag picks, and by which step."""
    if endpoint and stashdb_tag["id"] is not None:
        row = db.execute(BY_STASH_ID, (stashdb_tag["id"], endpoint)).fetchone()
        if row:
            return str(row[0]), "link"
    for step, sql in (("name", BY_NAME), ("alias", BY_ALIAS)):
        row = db.execute(sql, (stashdb_tag["name"],)).fetchone()
        if row:
            return str(row[0]), step
    return None, "none"


def test_matcher_agrees_with_stash_sql_on_real_sqlite():
    rng = random.Random(20241201)
    vocabulary = load_vocabulary()
    tags = build_library(vocabulary, rng)
    queries = build_queries(vocabulary, tags, rng, count=3000)
    db = sqlite_library(tags)
    cache = TagCache.from_tags(tags)

    steps: Counter[str] = Counter()
    disagreements = []
    for stashdb_tag, endpoint in queries:
        expected, step = sqlite_match(db, stashdb_tag, endpoint)
        steps[step] += 1
        got = match_stashdb_tag_to_local(stashdb_tag, cache, endpoint)
        if got != expected:
            disagreements.append((stashdb_tag, endpoint, expected, got))

    assert disagreements[:10] == [], f"{len(disagreements)} of {len(queries)} disagree"
    # The run exercised every step, not just misses.
    assert min(steps[s] for s in ("link", "name", "alias", "none")) >= 100, steps


def test_the_library_really_has_ties_and_wildcard_hits():
    """Guards the oracle against going vacuous: ties in sort key among name
    candidates exist, and wildcard queries reach multi-tag answers."""
    rng = random.Random(20241201)
    vocabulary = load_vocabulary()
    tags = build_library(vocabulary, rng)
    db = sqlite_library(tags)
    tied = db.execute(
        "SELECT COUNT(*) FROM (SELECT lower(name) AS k FROM tags GROUP BY k HAVING COUNT(*) > 1)"
    ).fetchone()[0]
    many = db.execute("SELECT COUNT(*) FROM tags WHERE name LIKE ?", ("%a%",)).fetchone()[0]
    assert tied >= 50
    assert many >= 100
