"""What the plugin's StashDB requests cost a real stash-box, beside Stash's own Tagger request.

    python3 -m bench.stashbox_cost                          # every request shape, then the whole sync
    python3 -m bench.stashbox_cost --rounds 7 --before-root /tmp/main-checkout
    python3 -m bench.stashbox_cost --rate-run               # also: the sync at 2 requests/s, wall ÷ floor

One PostgreSQL and one stash-box, started and seeded as the stash-box tier does
(tests/stashbox: Debian's PostgreSQL in a temporary folder, the hand-built binary, the
pooled config `postgres: {max_idle_conns: 10}`, exact PHASH matching, 2,200 local scenes
giving about 2,190 StashDB scenes). Then, on that one server:

1. Request shapes, each over the whole library 40 scenes (or tags) a request, one request
   at a time, in `--rounds` rounds taken in turn so that a change of the machine's load
   falls on every shape alike. Per shape: the server's CPU per scene (stash-box's process
   plus its PostgreSQL postmaster and backends, utime + stime from /proc, exited backends
   through the postmaster's cutime + cstime) and each request's answer time.
2. The whole sync: the plugin's own sync (bench/sync_driver.py, with its report, so the
   unmatched tags' details are asked as the plugin asks them) against the seeded server, its
   local side the Stash simulator holding the library's local scenes, the rate limit lifted;
   the server's CPU over the run per scene in scope, against Stash's Tagger request over the
   same scenes. `--before-root` runs the sync of another checkout the same way.
3. `--rate-run`: the sync once more at the plugin's own 2 requests a second; wall ÷ floor
   (floor: the requests it sent ÷ 2 per second).

The server's idle CPU (20 s with nothing asked) is printed too: it is inside every figure
taken over a run, most of all the 2-requests-a-second one.

Prints one JSON line per measurement and the tables docs/stashbox.md shows.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import requests
from graphql import OperationDefinitionNode, parse, print_ast
from graphql.language import FragmentDefinitionNode, FragmentSpreadNode, Visitor, visit

from stashdb_api import (
    FIND_SCENES_BY_FINGERPRINTS_QUERY,
    MAX_SCENES_PER_REQUEST,
    build_find_scenes_by_ids_query,
    build_find_tags_by_ids_query,
    chunks,
    fingerprint_queries_from_files,
    scene_id_variable,
)
from tests.shared_schemas import SCHEMAS_DIR
from tests.simulators import generate_library
from tests.simulators.stash_sim import StashSimulator
from tests.stashbox.conftest import MD5_ONLY_SHARE, TIER_SCENES, TIER_SEED
from tests.stashbox.postgres_server import DebianPostgres, find_postgres_bin_dir
from tests.stashbox.stashbox_binary import find_stashbox_binary, missing_parts_reason
from tests.stashbox.stashbox_seed import seed_library
from tests.stashbox.stashbox_server import RealStashBox

REPO_ROOT = Path(__file__).resolve().parent.parent
STASH_CLIENT_QUERIES = SCHEMAS_DIR / "stash-v0.30.1-stash-box-client-queries.graphql"
TAGGER_OPERATION = "FindScenesBySceneFingerprints"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TIMEOUT_SECONDS = 120.0

# The scene selection the plugin sent before this measurement: every tag with its details.
OLD_TAG_FIELDS = "id name description aliases deleted category { name }"
OLD_FINGERPRINTS_QUERY = FIND_SCENES_BY_FINGERPRINTS_QUERY.replace("tags {\n    id\n    name\n  }",
                                                                   f"tags {{ {OLD_TAG_FIELDS} }}")
FLOOR_FINGERPRINTS_QUERY = FIND_SCENES_BY_FINGERPRINTS_QUERY.replace("  tags {\n    id\n    name\n  }\n", "")


def old_find_scenes_query(count: int) -> str:
    return build_find_scenes_by_ids_query(count).replace("tags {\n    id\n    name\n  }",
                                                         f"tags {{ {OLD_TAG_FIELDS} }}")


# -- server CPU ---------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()   # fields from `state` on (the name may hold spaces)


def _own_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12])          # utime, stime


def _waited_children_ticks(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[13]) + int(fields[14])          # cutime, cstime


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat_fields(int(entry.name))[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


@dataclass
class ServerCPU:
    """stash-box's process, and PostgreSQL's postmaster with every backend it started."""

    stashbox_pid: int
    postmaster_pid: int

    def seconds(self) -> float:
        ticks = _own_ticks(self.stashbox_pid) + _own_ticks(self.postmaster_pid)
        ticks += _waited_children_ticks(self.postmaster_pid)
        for child in _children(self.postmaster_pid):
            try:
                ticks += _own_ticks(child)
            except OSError:       # exited between the listing and the read: counted in cutime next time
                continue
        return ticks / CLOCK_TICKS


# -- request shapes -----------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    query: str
    variables: dict
    operation: str | None
    items: int                      # scenes (or tags) it asks about


@dataclass
class Shape:
    name: str
    requests: list[Request]
    unit: str = "scene"
    cpu_per_item_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(request.items for request in self.requests)


def stash_tagger_query() -> str:
    """Stash v0.30.1's FindScenesBySceneFingerprints with the fragments it uses, from ../shared."""
    document = parse(STASH_CLIENT_QUERIES.read_text(encoding="utf-8"))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions
                     if isinstance(d, OperationDefinitionNode) and d.name and d.name.value == TAGGER_OPERATION)
    needed, pending = {}, [operation]
    while pending:
        node = pending.pop()
        for name in _spread_names(node):
            if name not in needed:
                needed[name] = fragments[name]
                pending.append(fragments[name])
    return "\n".join(print_ast(d) for d in [operation, *needed.values()])


def _spread_names(node) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_):
            names.append(spread.name.value)

    visit(node, Spreads())
    return names


def _stash_fingerprints(scene) -> list[dict]:
    """What Stash sends for one scene: every file's md5, oshash and phash (MD5 included)."""
    names = {"md5": "MD5", "oshash": "OSHASH", "phash": "PHASH"}
    return [{"hash": fp.value, "algorithm": names[fp.type]} for file in scene.files for fp in file.fingerprints
            if fp.type in names]


def _plugin_fingerprints(scene) -> list[dict]:
    return fingerprint_queries_from_files(
        [{"fingerprints": [{"type": fp.type, "value": fp.value} for fp in file.fingerprints]} for file in scene.files])


def _by_ids(build, ids: list[str], operation: str | None = None) -> list[Request]:
    return [Request(build(len(chunk)), {scene_id_variable(i): value for i, value in enumerate(chunk)}, operation,
                    len(chunk)) for chunk in chunks(ids, MAX_SCENES_PER_REQUEST)]


def _by_fingerprints(query: str, sets: list[list[dict]], operation: str | None = None) -> list[Request]:
    return [Request(query, {"fingerprints": list(chunk)}, operation, len(chunk))
            for chunk in chunks(sets, MAX_SCENES_PER_REQUEST)]


def request_shapes(library) -> list[Shape]:
    in_scope = [scene for scene in library.local_scenes if scene.stash_id_for(library.endpoint)]
    plugin_sets = [s for s in map(_plugin_fingerprints, in_scope) if s]
    stash_sets = [s for s in map(_stash_fingerprints, in_scope) if s]
    stash_ids = [scene.stash_id_for(library.endpoint) for scene in in_scope]
    tag_ids = [tag.id for tag in library.stashdb_tags]
    return [
        Shape("plugin: fingerprints x40 (tags { id name })", _by_fingerprints(FIND_SCENES_BY_FINGERPRINTS_QUERY,
                                                                             plugin_sets)),
        Shape("plugin: aliased findScene x40 (tags { id name })", _by_ids(build_find_scenes_by_ids_query, stash_ids)),
        Shape("plugin: aliased findTag x40 (details)", _by_ids(build_find_tags_by_ids_query, tag_ids), unit="tag"),
        Shape("old: fingerprints x40, every tag's details", _by_fingerprints(OLD_FINGERPRINTS_QUERY, plugin_sets)),
        Shape("old: aliased findScene x40, every tag's details", _by_ids(old_find_scenes_query, stash_ids)),
        Shape("floor: fingerprints x40, id and deleted only", _by_fingerprints(FLOOR_FINGERPRINTS_QUERY, plugin_sets)),
        Shape("Stash's Tagger: FindScenesBySceneFingerprints x40", _by_fingerprints(stash_tagger_query(), stash_sets,
                                                                                   TAGGER_OPERATION)),
    ]


def send_all(session: requests.Session, server: RealStashBox, shape: Shape, cpu: ServerCPU) -> None:
    started = cpu.seconds()
    for request in shape.requests:
        body = {"query": request.query, "variables": request.variables}
        if request.operation:
            body["operationName"] = request.operation
        sent = time.perf_counter()
        response = session.post(server.url, json=body, headers={"ApiKey": server.api_key}, timeout=TIMEOUT_SECONDS)
        shape.answer_ms.append((time.perf_counter() - sent) * 1000)
        answer = response.json()
        if response.status_code != 200 or answer.get("errors"):
            raise SystemExit(f"{shape.name}: HTTP {response.status_code} {str(answer)[:300]}")
    shape.cpu_per_item_ms.append((cpu.seconds() - started) * 1000 / shape.items)


# -- the whole sync -----------------------------------------------------------------------

def run_sync(plugin_root: Path, library, server: RealStashBox, cpu: ServerCPU, rate: float,
             in_flight: int | None = None) -> dict:
    """The plugin's sync (with its report) against the seeded server; the server's CPU over it.
    `in_flight`: StashDB requests waiting for answers at once (default: the sync's own, 5)."""
    report_dir = Path(tempfile.mkdtemp(prefix="tagmanager-cost-report-"))
    try:
        with StashSimulator(library.local_tags, library.local_scenes,
                            endpoint_aliases={library.endpoint: server.url}) as stash:
            started = cpu.seconds()
            driver = subprocess.run(
                [sys.executable, "-m", "bench.sync_driver", "--plugin-root", str(plugin_root),
                 "--stash-url", stash.url, "--stashdb-url", server.url, "--stashdb-api-key", server.api_key,
                 "--rate", str(rate), "--report-dir", str(report_dir),
                 *(["--requests-in-flight", str(in_flight)] if in_flight else [])],
                cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False)
            server_cpu = cpu.seconds() - started
    finally:
        shutil.rmtree(report_dir, ignore_errors=True)
    if driver.returncode != 0:
        raise SystemExit(f"sync driver failed ({driver.returncode}):\n{driver.stderr[-3000:]}")
    result = json.loads(driver.stdout.strip().splitlines()[-1])
    stats = result["stats"]
    scenes = stats["scenes_total"]
    return {"scenes": scenes, "stashdb_requests": result["stashdb_requests"],
            "server_cpu_ms_per_scene": round(server_cpu * 1000 / scenes, 4),
            "wall_seconds": round(result["wall_seconds"], 2),
            "floor_seconds": round(result["stashdb_requests"] / rate, 2),
            "wall_over_floor": round(result["wall_seconds"] / (result["stashdb_requests"] / rate), 3),
            "updated": stats["outcomes"]["updated"], "errors": stats["outcomes"]["error"],
            "found_by_fingerprint": stats["found_by_fingerprint"], "found_by_id": stats["found_by_id"]}


def idle_cpu_ms_per_second(cpu: ServerCPU, seconds: float = 20.0) -> float:
    """What the server spends doing nothing asked (PostgreSQL's background processes, Go's
    runtime): counted in every figure over a run, most in the slow rate-limited one."""
    started = cpu.seconds()
    time.sleep(seconds)
    return round((cpu.seconds() - started) * 1000 / seconds, 2)


# -- running it ---------------------------------------------------------------------------

@contextlib.contextmanager
def seeded_server(work_dir: Path) -> Iterator[tuple[RealStashBox, DebianPostgres, object]]:
    reason = missing_parts_reason()
    if reason is not None:
        raise SystemExit(f"cannot measure: {reason}")
    with DebianPostgres(find_postgres_bin_dir()) as postgres:
        with RealStashBox(find_stashbox_binary(), work_dir, postgres.url_for_stashbox(), pooled=True) as server:
            library = generate_library(TIER_SCENES, seed=TIER_SEED, md5_only_share=MD5_ONLY_SHARE)
            started = time.perf_counter()
            seeded = seed_library(server, library)
            print(json.dumps({"seeded_seconds": round(time.perf_counter() - started, 1),
                              "stashdb_scenes": len(seeded.library.stashdb_scenes),
                              "stashdb_tags": len(seeded.library.stashdb_tags)}), flush=True)
            yield server, postgres, seeded.library


def summary(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f}"


def print_shapes(shapes: list[Shape]) -> None:
    print("| request | requests a round | server CPU ms per scene (min / median) | answer ms (min / median) |")
    print("|---|---|---|---|")
    for shape in shapes:
        unit = "" if shape.unit == "scene" else f" (per {shape.unit})"
        print(f"| {shape.name} | {len(shape.requests)} | {summary(shape.cpu_per_item_ms)}{unit} | "
              f"{min(shape.answer_ms):.1f} / {statistics.median(shape.answer_ms):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.stashbox_cost")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sync-rounds", type=int, default=3)
    parser.add_argument("--before-root", type=Path, help="also run the sync of this checkout (e.g. main)")
    parser.add_argument("--rate-run", action="store_true", help="also: the sync at 2 requests/s, wall ÷ floor")
    options = parser.parse_args()
    work_dir = Path(tempfile.mkdtemp(prefix="tagmanager-stashbox-cost-"))
    try:
        with seeded_server(work_dir) as (server, postgres, library):
            measure(options, server, ServerCPU(server.pid, postgres.pid), library)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def measure(options, server: RealStashBox, cpu: ServerCPU, library) -> None:
    shapes = request_shapes(library)
    with requests.Session() as session:
        session.trust_env = False
        for shape in shapes:                 # warm-up: caches and pooled connections, not measured
            send_all(session, server, Shape(shape.name, shape.requests[:3]), cpu)
        for _ in range(options.rounds):
            for shape in shapes:
                send_all(session, server, shape, cpu)
    for shape in shapes:
        print(json.dumps({"shape": shape.name, "requests": len(shape.requests), "items": shape.items,
                          "cpu_ms_per_item": [round(v, 4) for v in shape.cpu_per_item_ms],
                          "answer_ms_min": round(min(shape.answer_ms), 2),
                          "answer_ms_median": round(statistics.median(shape.answer_ms), 2)}), flush=True)
    idle = idle_cpu_ms_per_second(cpu)
    print(json.dumps({"idle_server_cpu_ms_per_second": idle}), flush=True)
    roots = [("this checkout", REPO_ROOT, None), ("this checkout, 1 request in flight", REPO_ROOT, 1)]
    if options.before_root:
        roots.append(("before", options.before_root.resolve(), None))
    syncs: dict[str, list[dict]] = {name: [] for name, _, _ in roots}
    for _ in range(options.sync_rounds):
        for name, root, in_flight in roots:
            syncs[name].append(run_sync(root, library, server, cpu, rate=1000.0, in_flight=in_flight))
            print(json.dumps({"sync": name, **syncs[name][-1]}), flush=True)
    tagger = shapes[-1]
    print_shapes(shapes)
    print()
    print("| whole run | StashDB requests | server CPU ms per scene (min / median) |")
    print("|---|---|---|")
    for name, runs in syncs.items():
        print(f"| the plugin's sync ({name}) | {runs[0]['stashdb_requests']} | "
              f"{summary([r['server_cpu_ms_per_scene'] for r in runs])} |")
    print(f"| Stash's Tagger over the same scenes | {len(tagger.requests)} | {summary(tagger.cpu_per_item_ms)} |")
    if options.rate_run:
        rated = run_sync(REPO_ROOT, library, server, cpu, rate=2.0)
        print(json.dumps({"rate_run": rated}), flush=True)
        print(f"\nAt 2 requests/s: {rated['stashdb_requests']} requests, wall {rated['wall_seconds']} s, floor "
              f"{rated['floor_seconds']} s, wall ÷ floor {rated['wall_over_floor']}")


if __name__ == "__main__":
    main()
