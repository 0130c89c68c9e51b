"""Hostile input: whatever Stash and StashDB hand over, the run never crashes, never removes
a tag, and keeps Stash's log reader working.

Property-based (hypothesis, derandomized so CI sees the same examples every time):

1. The real sync in-process with in-memory collaborators that answer through the same
   methods as the real clients. Local data as hostile as Stash can send (and null aliases,
   null lists): scenes without files or fingerprints, odd fingerprint types and values,
   several StashIDs for one endpoint, tags of scenes that are not in the tag list, scenes
   gone between the snapshot and the read, odd and huge Unicode names, a stash-box URL
   with odd characters. StashDB answers within what the real StashDBClient lets through:
   duplicates, deleted scenes, scenes and tags with other scenes' ids, odd, wildcard and
   huge names.
2. The same sync through the real LocalStash and StashDBClient over HTTP (the `responses`
   library), where each StashDB answer may also be broken on the wire (nulls, missing
   fields, wrong lengths, errors[] with and without data, not JSON, 5xx, 429), so the
   client's shape checks are what stands between those answers and the sync.

Asserted every time: no exception escapes; processed + not processed == total, and nothing
is left unprocessed unless the run says it stopped; the counts of updated scenes and added
tags are what the library shows; every write is a server-side ADD (HTTP property: the mode
Stash receives); no scene's tag set shrinks; a scene only gains tags matched from a live
(not deleted) StashDB scene that one of its own StashIDs names (the sync's own rule: a
deleted scene's id is a stale StashID, and an answer about another scene is not this
scene's); every stderr line has Stash's prefix and stays under 64 KiB.

Long lines: the plugin in its own process against the simulators, over a library with a
100 KB tag name, a 100 KB scene title, hundreds of unmatched and added tags, and huge
unmatched names filling the summary: every stderr line stays under 64 KiB, stdout holds
exactly one JSON object, and that summary line stays under 64 KiB too.
"""
from __future__ import annotations

import copy
import io
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace

import pytest
import requests
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin_io import SecretRedactor, StashLogHandler, configure_logging
from stash_local import LocalStash
from stashdb_api import StashDBClient
from stashdb_scene_sync import SyncSettings, sync_scene_tags
from sync_stats import Outcome
from tag_matching import TagCache, match_stashdb_tag_to_local
from tests.reliability.runs import run_plugin, stderr_lines_over
from tests.simulators.expectations import UPDATED
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.records import LocalTag, StashDBTag

STASH_LINE_LIMIT = 64 * 1024  # bufio.Scanner's default in Stash's plugin log reader
STASH_PREFIX = re.compile(rb"^\x01[tdiwep]\x02")
IN_MEMORY_EXAMPLES = 500
HTTP_EXAMPLES = 300
FIGURES_SECTION = "Hostile input (hypothesis; no exception, no tag removed, summary adds up)"
HYPOTHESIS_SETTINGS = settings(
    deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
examples_tried: Counter = Counter()
observed: Counter = Counter()  # what the examples covered, for the figures

# -- what hostile data is made of -------------------------------------------------------

ENDPOINTS = (
    "https://stashdb.org/graphql",
    "https://stash.box:8443/graph ql?x=1&ü=%20#frag",
    "https://stäsh.example/グラフ/",
    "http://[::1]:9999/graphql\n",
    "",
)
OTHER_ENDPOINTS = ("https://fansdb.cc/graphql", "https://stashdb.org/graphql/", "HTTPS://STASHDB.ORG/GRAPHQL")
ODD_NAMES = (
    "Anal", "anal", "ANAL", "Café", "CAFÉ", "ß", "SS", "İ", "ǅ", "Ｔｅｓｔ", "名前", "💥 Boom", "x" * 300,
    "a%b", "%", "_", "a_c", "", " ", "\u200b", "line\nbreak", "\u2028", "\x01e\x02fake level", "O'Brien",
    '"quoted"', "tab\there", "\\", "Ⅻ 12 items",
)
HUGE_UNITS = ("a", "é", "名", "💥")
STASHDB_IDS = ("s-1", "s-2", "S-1", "", "名", "00000000-0000-4000-8000-000000000001")
STASHDB_TAG_IDS = ("t-1", "t-2", "t-3", "", "T-1")
HASHES = ("1", "abc", "ABC", "0abc", "ffffffffffffffff", "zz", "", "deadbeef")
FINGERPRINT_TYPES = ("oshash", "phash", "md5", "oshash", "phash", "OSHASH", "crc32", "")
EXCLUDE_PATTERNS = ("^a", "(", "[", ".*", "café", "(?i)X", "\\d+")


def one_in(n: int):
    """True about once in n draws; False in hypothesis's simplest example."""
    return st.integers(1, n).map(lambda drawn: drawn == n)


# 17,000 4-byte characters already exceed 64 KiB; huge names are drawn in one example in
# five (ordering and matching them is what makes an example slow).
huge_names = st.builds(lambda unit, count: unit * count, st.sampled_from(HUGE_UNITS), st.integers(17_000, 100_000))
names = st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=8))


@st.composite
def name_pools(draw) -> list[str]:
    pool = draw(st.lists(names, min_size=1, max_size=5))
    if draw(one_in(5)):
        pool.append(draw(huge_names))
    return pool


def maybe_null(strategy):
    return mostly(strategy, st.none())


def mostly(strategy, *rarely):
    """`strategy` three times in four, else one of `rarely` (hypothesis starts with the latter).
    (st.one_of would not do: it draws each distinct strategy equally often.)"""
    return st.sampled_from(list(rarely) + [strategy] * (3 * len(rarely))).flatmap(lambda chosen: chosen)


@dataclass
class HostileWorld:
    endpoint: str
    local_tags: list[dict]
    scenes: dict[str, dict]             # local scenes by id, as Stash's JSON would hold them
    vanished: set[str]                  # scenes gone between the snapshot and the read
    stashdb_scenes: list[dict]          # every StashDB scene an answer may hold
    by_hash: dict[str, list[int]]       # fingerprint hash -> StashDB scenes (indexes) it finds
    by_id: dict[str, int]               # asked id -> the StashDB scene answered (maybe another's)
    settings: SyncSettings

    def snapshot(self) -> list[str]:
        return [scene_id for scene_id, scene in self.scenes.items()
                if any(s.get("endpoint") == self.endpoint for s in scene.get("stash_ids") or ())]


@st.composite
def local_tag_lists(draw, name_pool: list[str], endpoint: str) -> list[dict]:
    endpoints = st.sampled_from((endpoint,) + OTHER_ENDPOINTS)
    links = st.fixed_dictionaries({"endpoint": endpoints, "stash_id": st.sampled_from(STASHDB_TAG_IDS)})
    tags = []
    for number in range(1, draw(st.integers(0, 10)) + 1):
        tags.append({
            "id": str(number),
            "name": draw(st.sampled_from(name_pool)),
            "sort_name": draw(st.one_of(st.none(), st.just(""), st.sampled_from(name_pool))),
            "aliases": draw(maybe_null(st.lists(st.sampled_from(name_pool), max_size=3))),
            "stash_ids": draw(maybe_null(st.lists(links, max_size=3))),
        })
    return tags


@st.composite
def local_scene_maps(draw, name_pool: list[str], endpoint: str, tag_count: int) -> dict[str, dict]:
    endpoints = st.sampled_from((endpoint,) * 4 + OTHER_ENDPOINTS)
    stash_id = st.fixed_dictionaries({"endpoint": endpoints, "stash_id": st.sampled_from(STASHDB_IDS)})
    value = mostly(st.sampled_from(HASHES), st.integers(-2**63, 2**64), st.none())
    fingerprint = st.fixed_dictionaries({"type": st.sampled_from(FINGERPRINT_TYPES), "value": value})
    fingerprints = mostly(st.lists(fingerprint, min_size=1, max_size=3), st.none(), st.just([]))
    files = mostly(st.lists(st.fixed_dictionaries({"fingerprints": fingerprints}), min_size=1, max_size=2),
                   st.none(), st.just([]))
    tag_refs = maybe_null(st.lists(st.fixed_dictionaries({"id": st.integers(1, tag_count + 2).map(str)}), max_size=4))
    scenes = {}
    for number in range(1, draw(st.integers(0, 12)) + 1):
        scenes[str(number)] = {
            "id": str(number),
            "title": draw(st.one_of(st.none(), st.sampled_from(name_pool))),
            "tags": draw(tag_refs),
            "stash_ids": draw(st.lists(stash_id, max_size=4)) or draw(st.lists(stash_id, max_size=2)),
            "files": draw(files),
        }
    return scenes


BY_ID_ANSWERS = ("its own scene", "its own scene", "its own scene", "another scene", "nothing")


def fingerprint_hashes(scene: dict) -> set[str]:
    """Every way a scene's fingerprint values may be written as a hash."""
    values = [fp.get("value") for file in scene.get("files") or () for fp in file.get("fingerprints") or ()]
    hashes = {str(v) for v in values if v is not None}
    return hashes | {format(v & (2**64 - 1), "x") for v in values if isinstance(v, int)}


@st.composite
def stashdb_sides(draw, name_pool: list[str], scenes: dict[str, dict], endpoint: str):
    """StashDB's scenes and its answers: mostly each local scene's own StashDB scene (so
    tags do get written), with strangers, duplicates, deleted scenes, and by-id answers
    that hold another scene or nothing."""
    tag = st.fixed_dictionaries({"id": st.sampled_from(STASHDB_TAG_IDS), "name": st.sampled_from(name_pool)})

    def stashdb_scene(scene_id: str) -> dict:
        return {"id": scene_id, "deleted": draw(one_in(5)), "tags": draw(st.lists(tag, max_size=6))}

    pool = [stashdb_scene(draw(st.sampled_from(STASHDB_IDS))) for _ in range(draw(st.integers(0, 2)))]
    by_hash: dict[str, list[int]] = {}
    by_id: dict[str, int] = {}
    for scene in scenes.values():
        own_ids = [s["stash_id"] for s in scene["stash_ids"] if s["endpoint"] == endpoint]
        if not own_ids:
            continue
        pool.append(stashdb_scene(draw(st.sampled_from(own_ids))))
        index = len(pool) - 1
        answer = draw(st.sampled_from(BY_ID_ANSWERS))
        if answer != "nothing":
            by_id[pool[index]["id"]] = index if answer == "its own scene" else draw(st.integers(0, index))
        for fingerprint_hash in sorted(fingerprint_hashes(scene)):
            if not draw(one_in(3)):
                others = draw(st.lists(st.integers(0, index), max_size=2))
                by_hash.setdefault(fingerprint_hash, []).extend(others + [index])
    return pool, by_hash, by_id


@st.composite
def hostile_worlds(draw) -> HostileWorld:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    name_pool = draw(name_pools())
    local_tags = draw(local_tag_lists(name_pool, endpoint))
    scenes = draw(local_scene_maps(name_pool, endpoint, len(local_tags)))
    stashdb_scenes, by_hash, by_id = draw(stashdb_sides(name_pool, scenes, endpoint))
    vanished = draw(st.sets(st.sampled_from(sorted(scenes)), max_size=2)) if scenes else set()
    sync_settings = SyncSettings(
        endpoint=endpoint, dry_run=draw(one_in(4)),
        exclude_patterns=tuple(draw(st.lists(st.sampled_from(EXCLUDE_PATTERNS), max_size=2))
                               if draw(one_in(4)) else ()),
        batch_size=draw(st.integers(1, 5)), outage_seconds=draw(st.sampled_from([0.0, 120.0])),
    )
    return HostileWorld(endpoint, local_tags, scenes, vanished, stashdb_scenes, by_hash, by_id, sync_settings)


# -- the library the sync writes to, and what it may add --------------------------------

class SceneTagStore:
    """Every scene's tag ids, changed only by writes; records each write and its mode."""

    def __init__(self, world: HostileWorld):
        self.known_tags = {tag["id"] for tag in world.local_tags}
        self.tags = {scene_id: tag_id_list(scene) for scene_id, scene in world.scenes.items()}
        self.writes: list[tuple[str, str, list[str]]] = []  # scene id, mode, tag ids
        self.lock = threading.Lock()

    def write(self, scene_id: str, mode: str, tag_ids: list[str]) -> str | None:
        with self.lock:
            self.writes.append((scene_id, mode, list(tag_ids)))
            unknown = [t for t in tag_ids if t not in self.known_tags]
            if scene_id not in self.tags or unknown:
                return f"FOREIGN KEY constraint failed (scene {scene_id}, tag {unknown[:1]})"
            current = self.tags[scene_id]
            if mode == "ADD":
                self.tags[scene_id] = current + [t for t in tag_ids if t not in current]
            elif mode == "REMOVE":
                self.tags[scene_id] = [t for t in current if t not in tag_ids]
            else:  # SET, or anything else Stash would treat as a replacement
                self.tags[scene_id] = list(tag_ids)
            return None

    def scene(self, world: HostileWorld, scene_id: str) -> dict:
        with self.lock:
            scene = copy.deepcopy(world.scenes[scene_id])
            scene["tags"] = [{"id": t} for t in self.tags[scene_id]]
            return scene


def tag_id_list(scene: dict) -> list[str]:
    return list(dict.fromkeys(str(t["id"]) for t in scene.get("tags") or ()))


def tags_a_scene_may_gain(world: HostileWorld, cache: TagCache, scene: dict) -> set[str]:
    """Local tags matched from live (not deleted) StashDB scenes whose id is one of this
    scene's StashIDs: a deleted scene's id is a stale StashID, whichever request finds it."""
    own_ids = {s["stash_id"] for s in scene["stash_ids"] if s["endpoint"] == world.endpoint}
    return {match_stashdb_tag_to_local(tag, cache, world.endpoint)
            for stashdb_scene in world.stashdb_scenes if stashdb_scene["id"] in own_ids and not stashdb_scene["deleted"]
            for tag in stashdb_scene["tags"]} - {None}


# -- the in-memory collaborators --------------------------------------------------------

class InMemoryLocalStash:
    """LocalStash's methods over a HostileWorld; writes are server-side ADDs."""

    def __init__(self, world: HostileWorld, store: SceneTagStore):
        self.world, self.store = world, store

    def all_tags(self) -> list[dict]:
        return copy.deepcopy(self.world.local_tags)

    def scene_ids_with_stash_id(self, endpoint: str) -> list[str]:
        assert endpoint == self.world.endpoint
        return self.world.snapshot()

    def stash_id_endpoint_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for scene in self.world.scenes.values():
            for endpoint in {sid.get("endpoint") for sid in scene.get("stash_ids") or [] if isinstance(sid, dict)}:
                counts[str(endpoint)] = counts.get(str(endpoint), 0) + 1
        return counts

    def scenes_by_ids(self, scene_ids) -> list[dict]:
        present = [i for i in scene_ids if i in self.world.scenes and i not in self.world.vanished]
        return [self.store.scene(self.world, i) for i in present]

    def add_tags_to_scenes(self, additions) -> dict[str, str | None]:
        return {scene_id: self.store.write(scene_id, "ADD", tag_ids) for scene_id, tag_ids in additions}


class InMemoryStashDB:
    """StashDBClient's methods over a HostileWorld: shapes the real client lets through."""

    def __init__(self, world: HostileWorld):
        self.world = world

    def find_scenes_by_fingerprints(self, fingerprint_batches) -> list[list[dict]]:
        return [[copy.deepcopy(self.world.stashdb_scenes[i]) for query in batch
                 for i in self.world.by_hash.get(query["hash"], ())] for batch in fingerprint_batches]

    def find_scenes_by_ids(self, scene_ids) -> list[dict | None]:
        return [copy.deepcopy(self.world.stashdb_scenes[self.world.by_id[i]]) if i in self.world.by_id else None
                for i in scene_ids]


# -- the checks every example must pass -------------------------------------------------

def run_sync_logging_to(world: HostileWorld, local, stashdb) -> tuple:
    stderr = io.StringIO()
    configure_logging(StashLogHandler(stderr), SecretRedactor())
    stats = sync_scene_tags(local, stashdb, world.settings)
    return stats, stderr.getvalue()


def check_outcome(world: HostileWorld, store: SceneTagStore, stats, stderr: str) -> None:
    assert stats.scenes_total == len(world.snapshot())
    assert stats.scenes_processed + stats.scenes_not_processed == stats.scenes_total
    assert stats.aborted or stats.scenes_not_processed == 0, "scenes left unprocessed by a run that did not stop"
    assert all(mode == "ADD" for _, mode, _ in store.writes)
    if world.settings.dry_run:
        assert store.writes == []
    grown, cache = {}, TagCache.from_tags(world.local_tags)
    for scene_id, scene in world.scenes.items():
        before, after = set(tag_id_list(scene)), set(store.tags[scene_id])
        assert before <= after, f"scene {scene_id} lost tags {before - after}"
        gained = after - before
        may_gain = tags_a_scene_may_gain(world, cache, scene)
        assert gained <= may_gain, f"scene {scene_id} gained {gained - may_gain} from a wrong StashDB scene"
        if gained:
            grown[scene_id] = len(gained)
    assert stats.as_dict()["outcomes"]["updated"] == len(grown)
    assert stats.tags_added == sum(grown.values())
    observed.update({"scenes": len(world.scenes), "scenes that gained tags": len(grown),
                     "runs that wrote": bool(store.writes), "runs stopped early": bool(stats.aborted),
                     "scenes failed": stats.outcomes[Outcome.ERROR], "found by fingerprint": stats.found_by_fingerprint,
                     "found by id": stats.found_by_id})
    check_stash_log_protocol(stderr.encode("utf-8"))


def check_stash_log_protocol(stderr: bytes) -> None:
    """Every stderr line carries a level prefix (a name with a line break in it cannot
    forge an unprefixed line) and stays under the 64 KiB Stash's reader can take."""
    lines = stderr.rstrip(b"\n").split(b"\n") if stderr else []
    unprefixed = [line[:80] for line in lines if not STASH_PREFIX.match(line)]
    assert not unprefixed, f"stderr lines without Stash's level prefix: {unprefixed[:3]}"
    too_long = stderr_lines_over(stderr, STASH_LINE_LIMIT)
    assert not too_long, f"{len(too_long)} stderr lines of {max(too_long):,} bytes or more"


@settings(HYPOTHESIS_SETTINGS, max_examples=IN_MEMORY_EXAMPLES)
@given(world=hostile_worlds())
def sync_survives_hostile_data_in_memory(world: HostileWorld) -> None:
    examples_tried["in memory"] += 1
    store = SceneTagStore(world)
    stats, stderr = run_sync_logging_to(world, InMemoryLocalStash(world, store), InMemoryStashDB(world))
    check_outcome(world, store, stats, stderr)


def test_hostile_data_never_crashes_the_sync_or_removes_a_tag(capsys, reliability_figures):
    observed.clear()
    sync_survives_hostile_data_in_memory()
    assert capsys.readouterr().out == ""  # the sync never prints
    assert examples_tried["in memory"] >= IN_MEMORY_EXAMPLES
    reliability_figures.add(FIGURES_SECTION, {
        "property": "hostile local data and StashDB answers; the real sync with in-memory clients",
        "examples tried": examples_tried["in memory"], **dict(observed)})
    assert observed["scenes that gained tags"] >= IN_MEMORY_EXAMPLES // 2, observed  # the examples do write


# -- over HTTP: the real clients, with answers broken on the wire ------------------------

STASH_URL = "http://stash.invalid/graphql"
STASHDB_URL = "http://stashdb.invalid/graphql"
OPERATION = re.compile(r"\b(?:query|mutation)\s+(\w+)")
WIRE_FAULTS = (
    "none", "none", "none", "none", "http_500", "http_502_html", "http_503", "http_429", "not_json",
    "json_list", "data_null", "errors_only", "not_authorized", "errors_with_data", "root_missing",
    "wrong_length", "extra_list", "null_item", "null_scene", "scene_without_tags", "scene_without_deleted",
    "deleted_null", "tag_name_null", "tag_id_number", "tag_null", "huge_error_message",
)


def broken_answer(fault: str, data: dict) -> tuple[int, dict, str]:
    """HTTP status, headers and body of a StashDB answer after `fault` hit it."""
    statuses = {"http_500": (500, "oops"), "http_502_html": (502, "<html><h1>502 Bad Gateway</h1></html>"),
                "http_503": (503, ""), "http_429": (429, "")}
    if fault in statuses:
        status, body = statuses[fault]
        return status, {"Retry-After": "1"} if status == 429 else {}, body
    bodies = {"not_json": "<html>not json", "json_list": "[]", "data_null": json.dumps({"data": None})}
    if fault in bodies:
        return 200, {}, bodies[fault]
    payload = {"data": copy.deepcopy(data)}
    errors = {"errors_only": [{"message": "boom"}], "not_authorized": [{"message": "Not authorized"}],
              "errors_with_data": [{"message": "partial", "path": ["s0"]}],
              "huge_error_message": [{"message": "💥" * 70_000}]}
    if fault in errors:
        payload["errors"] = errors[fault]
        if fault == "errors_only":
            payload["data"] = None
    else:
        corrupt_data(fault, payload["data"])
    return 200, {}, json.dumps(payload)


def corrupt_data(fault: str, data: dict) -> None:
    """Break one thing in a findScenesBySceneFingerprints or aliased findScene answer."""
    key = next(iter(data), None)
    if key is None:
        return
    value = data[key]
    lists = value if isinstance(value, list) else [[value]]
    scenes = [s for inner in lists if isinstance(inner, list) for s in inner if isinstance(s, dict)]
    tags = [t for s in scenes for t in s["tags"]]
    if fault == "root_missing":
        del data[key]
    elif fault == "wrong_length" and isinstance(value, list) and value:
        value.pop()
    elif fault == "extra_list" and isinstance(value, list):
        value.append([])
    elif fault == "null_item":
        if isinstance(value, list) and value:
            value[0] = None
        else:
            data[key] = None
    elif fault == "null_scene" and isinstance(value, list) and value and value[0]:
        value[0][0] = None
    elif scenes and fault in ("scene_without_tags", "scene_without_deleted", "deleted_null"):
        field_name = "tags" if fault == "scene_without_tags" else "deleted"
        if fault == "deleted_null":
            scenes[0]["deleted"] = None
        else:
            del scenes[0][field_name]
    elif tags and fault == "tag_name_null":
        tags[0]["name"] = None
    elif tags and fault == "tag_id_number":
        tags[0]["id"] = 7
    elif tags and fault == "tag_null":
        scenes[0]["tags"][0] = None


class WireServers:
    """The Stash and StashDB GraphQL endpoints as `responses` callbacks over a world."""

    def __init__(self, world: HostileWorld, store: SceneTagStore, wire_faults: list[str]):
        self.world, self.store, self.wire_faults = world, store, list(wire_faults)
        self.stashdb = InMemoryStashDB(world)

    def stash(self, request) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        operation, variables = OPERATION.search(body["query"]).group(1), body.get("variables") or {}
        if operation == "TagManagerFindTags":
            data = {"findTags": {"count": len(self.world.local_tags), "tags": copy.deepcopy(self.world.local_tags)}}
        elif operation == "TagManagerSceneIds":
            snapshot = self.world.snapshot()
            data = {"findScenes": {"count": len(snapshot), "scenes": [{"id": i} for i in snapshot]}}
        elif operation == "TagManagerStashIdEndpoints":
            counts = InMemoryLocalStash(self.world, self.store).stash_id_endpoint_counts()
            scenes = [{"stash_ids": [{"endpoint": endpoint}]} for endpoint, count in counts.items() for _ in range(count)]
            data = {"findScenes": {"scenes": scenes}}
        elif operation == "TagManagerScenesByIds":
            scenes = InMemoryLocalStash(self.world, self.store).scenes_by_ids(variables["ids"])
            data = {"findScenes": {"scenes": scenes}}
        else:
            return 200, {}, json.dumps(self.write(variables))
        return 200, {}, json.dumps({"data": data})

    def write(self, variables: dict) -> dict:
        data, errors = {}, []
        for index, (name, update) in enumerate(sorted(variables.items(), key=lambda item: int(item[0][5:]))):
            (scene_id,) = update["ids"]
            error = self.store.write(scene_id, update["tag_ids"]["mode"], update["tag_ids"]["ids"])
            data[f"s{index}"] = None if error else [{"id": scene_id}]
            if error:
                errors.append({"message": error, "path": [f"s{index}"]})
        return {"data": data, **({"errors": errors} if errors else {})}

    def stashdb_answer(self, request) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        variables = body["variables"]
        if body["operationName"] == "TagManagerFindScenesByFingerprints":
            lists = self.stashdb.find_scenes_by_fingerprints(variables["fingerprints"])
            data = {"findScenesBySceneFingerprints": lists}
        else:
            ids = [variables[f"id{i}"] for i in range(len(variables))]
            data = {f"s{i}": scene for i, scene in enumerate(self.stashdb.find_scenes_by_ids(ids))}
        fault = self.wire_faults.pop(0) if self.wire_faults else "none"
        return broken_answer(fault, data)


@settings(HYPOTHESIS_SETTINGS, max_examples=HTTP_EXAMPLES)
@given(world=hostile_worlds(), wire_faults=st.lists(st.sampled_from(WIRE_FAULTS), max_size=8))
def sync_survives_hostile_answers_over_http(world: HostileWorld, wire_faults: list[str]) -> None:
    examples_tried["over HTTP"] += 1
    store = SceneTagStore(world)
    servers = WireServers(world, store, wire_faults)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, STASH_URL, callback=servers.stash)
        mock.add_callback(responses.POST, STASHDB_URL, callback=servers.stashdb_answer)
        local = LocalStash(requests.Session(), STASH_URL, timeout=5)
        stashdb = StashDBClient(STASHDB_URL, "hostile-test-key", requests_per_second=1e6, timeout=5,
                                sleep=lambda seconds: None)
        stats, stderr = run_sync_logging_to(world, local, stashdb)
    check_outcome(world, store, stats, stderr)


def test_hostile_answers_over_http_never_crash_the_sync_or_remove_a_tag(capsys, reliability_figures):
    observed.clear()
    sync_survives_hostile_answers_over_http()
    assert capsys.readouterr().out == ""
    assert examples_tried["over HTTP"] >= HTTP_EXAMPLES
    reliability_figures.add(FIGURES_SECTION, {
        "property": "the same through the real LocalStash and StashDBClient over HTTP, answers also broken on the wire",
        "examples tried": examples_tried["over HTTP"], **dict(observed)})
    covered = ("scenes that gained tags", "runs stopped early", "scenes failed")
    assert all(observed[what] for what in covered), observed


# -- long lines: the plugin process, Stash's stderr protocol ----------------------------

HUGE = 100_000  # characters


def library_with_huge_names():
    """A small library plus: a 100 KB scene title; a 100 KB local tag matched by name; 300
    matched tags on one scene and 400 unmatched on another; and 21 huge unmatched StashDB
    tag names (one of 100 KB, twenty of 20 KB) on 30 scenes each, so that they fill the
    summary's most-frequent list. All in 4-byte UTF-8 where it hurts most."""
    library = generate_library(200, seed=5)
    found = [o.scene_id for o in library.outcomes.values() if o.category == UPDATED]
    titled, crowded, tagged = found[:3]
    giant_matched = StashDBTag("giant-matched", "Giant " + "名" * HUGE)
    matched = [StashDBTag(f"many-matched-{i}", f"Matched {i:03d} " + "名" * 200) for i in range(300)]
    unmatched = [StashDBTag(f"many-unmatched-{i}", f"Unmatched {i:03d} " + "💥" * 200) for i in range(400)]
    frequent = [StashDBTag("giant-unmatched", "💥" * HUGE)] + [
        StashDBTag(f"big-unmatched-{i}", f"Big {i:02d} " + "💥" * (HUGE // 5)) for i in range(20)]
    extra_tags = {scene_id: list(frequent) for scene_id in found[:30]}
    extra_tags[titled] = extra_tags.get(titled, []) + [giant_matched]
    extra_tags[crowded] = extra_tags.get(crowded, []) + unmatched
    extra_tags[tagged] = extra_tags.get(tagged, []) + matched
    by_stashdb_id = {library.expected_outcome(scene_id).stashdb_id: tags for scene_id, tags in extra_tags.items()}
    stashdb_scenes = [replace(s, tag_ids=s.tag_ids + tuple(t.id for t in by_stashdb_id[s.id]))
                      if s.id in by_stashdb_id else s for s in library.stashdb_scenes]
    next_local_id = max(tag.id for tag in library.local_tags) + 1
    new_local = [LocalTag(next_local_id + i, tag.name) for i, tag in enumerate(matched + [giant_matched])]
    local_scenes = [replace(s, title="🎬" * HUGE) if s.id == titled else s for s in library.local_scenes]
    return replace(library, stashdb_tags=library.stashdb_tags + [giant_matched] + matched + unmatched + frequent,
                   stashdb_scenes=stashdb_scenes, local_tags=library.local_tags + new_local, local_scenes=local_scenes)


@pytest.fixture(scope="module")
def huge_name_runs(tmp_path_factory):
    library = library_with_huge_names()
    folder = tmp_path_factory.mktemp("long-lines")
    with start_simulators(library) as sims:
        dry = run_plugin(sims, folder, settings={"syncEndpoint": "StashDB", "syncDryRun": True}, name="dry")
        live = run_plugin(sims, folder, name="live")
        tags_after = sims.stash.tags_snapshot()
    return {"library": library, "dry": dry, "live": live, "tags_after": tags_after}


@pytest.mark.parametrize("name", ["dry", "live"])
def test_no_stderr_line_reaches_64_kib_whatever_the_names(huge_name_runs, name):
    run = huge_name_runs[name]
    assert run.code == 0, run.stderr[-3000:]
    for giant in ("🎬" * 50, "Giant " + "名" * 50, "💥" * 50):  # each huge name reached the log, shortened
        assert giant.encode("utf-8") in run.stderr_bytes
    check_stash_log_protocol(run.stderr_bytes)


@pytest.mark.parametrize("name", ["dry", "live"])
def test_stdout_is_exactly_one_json_object_whatever_the_names(huge_name_runs, name):
    run = huge_name_runs[name]
    assert run.stdout.endswith("\n") and run.stdout.count("\n") == 1
    result = json.loads(run.stdout)
    assert set(result) == {"output", "error"} and result["error"] is None
    summary = result["output"]
    assert summary["scenes_processed"] + summary["scenes_not_processed"] == summary["scenes_total"]
    assert sum(summary["outcomes"].values()) == summary["scenes_processed"]


@pytest.mark.parametrize("name", ["dry", "live"])
def test_the_summary_line_stays_small_whatever_the_names(huge_name_runs, name):
    """Stash logs a task's output as one line of its own log (internal/manager/task_plugin.go,
    "Plugin returned: %v"): the summary is held to the limit the plugin's log lines keep."""
    stdout = huge_name_runs[name].stdout.encode("utf-8")
    assert len(stdout) < STASH_LINE_LIMIT, f"the summary JSON is {len(stdout):,} bytes"


def test_huge_names_are_matched_and_written_like_any_other(huge_name_runs):
    library, tags_after = huge_name_runs["library"], huge_name_runs["tags_after"]
    for scene_id, tags in tags_after.items():
        assert set(tags) == set(library.expected_tag_ids(scene_id)), f"scene {scene_id}"
    giant = next(t.id for t in library.local_tags if t.name.startswith("Giant "))
    assert any(giant in tags for tags in tags_after.values())
