"""What the refresh's paging costs a real stash-box, beside what asking every scene costs it.

    python3 -m bench.refresh_paging_cost                      # 2,200 local scenes (the tier's library)
    python3 -m bench.refresh_paging_cost --scenes 20000       # a larger seed (about 2 minutes to seed)

Starts the stash-box tier's PostgreSQL and stash-box (tests/stashbox/: 127.0.0.1 only, the
pooled config docs/stashbox.md states), seeds it with `generate_library(--scenes)` through
its GraphQL, then measures, one request at a time:

* paging: `queryScenes(sort: UPDATED_AT, direction: DESC, page, per_page) { scenes { id
  updated } }` for each `--per-page`, with and without `count`: the first page, the last
  and three between, each asked `--repeats` times (server CPU and answer time by offset),
  then one walk over every page (its total);
* the plugin's scene requests: its fingerprint request (40 scenes' lists, stashdb_api's
  own document, OSHASH and PHASH as the plugin sends them) over every local scene with a
  StashID, its aliased `findScene` (40 a request) over every StashDB scene, and its aliased
  `findTag` (40 a request, the refresh's tag re-check) over every tag;
* beside them, one page of `queryEdits` (applied scene edits, newest closed first, up to
  1,000: the seed's merges and destroys), the way to name deleted scenes.

Server CPU is utime+stime from /proc of the stash-box process and of PostgreSQL (the
postmaster, every process under it, and what its exited children left in its cutime and
cstime), in clock ticks (10 ms): figures are sums over many requests divided by their
number. It prints a table and one JSON line; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import requests

from bench.real_stash_seed import load_average
from stashdb_api import (
    FIND_SCENES_BY_FINGERPRINTS_QUERY,
    build_find_scenes_by_ids_query,
    build_find_tags_by_ids_query,
    chunks,
    fingerprint_queries_from_files,
    scene_id_variable,
)
from tests.simulators import generate_library
from tests.stashbox.postgres_server import DebianPostgres, find_postgres_bin_dir
from tests.stashbox.stashbox_binary import find_stashbox_binary, missing_parts_reason
from tests.stashbox.stashbox_changes import APPLIED_EDITS
from tests.stashbox.stashbox_seed import SeededLibrary, seed_library
from tests.stashbox.stashbox_server import RealStashBox

PER_REQUEST = 40
REQUEST_TIMEOUT_SECONDS = 120.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_QUERY = """
query BenchScenesByUpdated($input: SceneQueryInput!) {
  queryScenes(input: $input) { scenes { id updated } }
}"""
PAGE_QUERY_WITH_COUNT = """
query BenchScenesByUpdatedCounted($input: SceneQueryInput!) {
  queryScenes(input: $input) { count scenes { id updated } }
}"""
OFFSET_FRACTIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


# -- server CPU from /proc ------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()      # fields from the 3rd (state) on


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry))
    return found


def process_cpu_ticks(pid: int, *, with_exited_children: bool = False) -> int:
    fields = _stat_fields(pid)
    if fields is None:
        return 0
    ticks = int(fields[11]) + int(fields[12])                       # utime, stime
    if with_exited_children:
        ticks += int(fields[13]) + int(fields[14])                  # cutime, cstime
    return ticks


@dataclass
class ServerCPU:
    stashbox_pid: int
    postmaster_pid: int

    def seconds(self) -> dict[str, float]:
        box = process_cpu_ticks(self.stashbox_pid)
        database = process_cpu_ticks(self.postmaster_pid, with_exited_children=True)
        database += sum(process_cpu_ticks(child) for child in _children_of(self.postmaster_pid))
        return {"stashbox": box / CLOCK_TICKS, "postgres": database / CLOCK_TICKS}


# -- measured requests ---------------------------------------------------------------

@dataclass
class Measured:
    requests: int = 0
    items: int = 0
    cpu: dict[str, float] = field(default_factory=lambda: {"stashbox": 0.0, "postgres": 0.0})
    walls: list[float] = field(default_factory=list)

    def add(self, cpu_before: dict, cpu_after: dict, wall: float, items: int) -> None:
        for key in self.cpu:
            self.cpu[key] += cpu_after[key] - cpu_before[key]
        self.walls.append(wall)
        self.requests += 1
        self.items += items

    def summary(self) -> dict[str, Any]:
        total = sum(self.cpu.values())
        return {"requests": self.requests, "items": self.items,
                "cpu_ms_per_request": round(1000 * total / max(self.requests, 1), 2),
                "cpu_ms_per_item": round(1000 * total / max(self.items, 1), 4),
                "stashbox_share": round(self.cpu["stashbox"] / total, 2) if total else None,
                "wall_ms_median": round(1000 * statistics.median(self.walls), 1) if self.walls else None}


class Bench:
    def __init__(self, server: RealStashBox, cpu: ServerCPU):
        self.server, self.cpu = server, cpu
        self.session = requests.Session()

    def post(self, query: str, variables: dict) -> dict:
        response = self.session.post(self.server.url, json={"query": query, "variables": variables},
                                     headers={"ApiKey": self.server.api_key}, timeout=REQUEST_TIMEOUT_SECONDS)
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors"):
            raise RuntimeError(f"stash-box answered errors: {answer['errors'][:2]}")
        return answer["data"]

    def timed(self, measured: Measured, query: str, variables: dict, items: int) -> dict:
        before, started = self.cpu.seconds(), time.perf_counter()
        data = self.post(query, variables)
        wall = time.perf_counter() - started
        measured.add(before, self.cpu.seconds(), wall, items)
        return data


# -- paging -------------------------------------------------------------------------------

def page_request(per_page: int, page: int, with_count: bool) -> tuple[str, dict]:
    page_input = {"sort": "UPDATED_AT", "direction": "DESC", "page": page, "per_page": per_page}
    return (PAGE_QUERY_WITH_COUNT if with_count else PAGE_QUERY), {"input": page_input}


def pages_at_offsets(bench: Bench, per_page: int, with_count: bool, live: int, repeats: int) -> dict[str, Any]:
    """The first page, the last, and pages a quarter, half and three quarters in, each `repeats`
    times in turn; then one walk over every page, first to last (its total)."""
    pages = -(-live // per_page)
    chosen = sorted({1 + round(fraction * (pages - 1)) for fraction in OFFSET_FRACTIONS})
    by_page = {page: Measured() for page in chosen}
    for _ in range(repeats):
        for page in chosen:
            data = bench.timed(by_page[page], *page_request(per_page, page, with_count), 0)
            by_page[page].items += len(data["queryScenes"]["scenes"])
    walk = Measured()
    for page in range(1, pages + 1):
        data = bench.timed(walk, *page_request(per_page, page, with_count), 0)
        walk.items += len(data["queryScenes"]["scenes"])
    if walk.items != live:
        raise RuntimeError(f"the walk read {walk.items} scenes of {live}")
    return {"per_page": per_page, "count": with_count, "pages": pages,
            "offsets": [{"offset": (page - 1) * per_page, **by_page[page].summary()} for page in chosen],
            "walk": {"cpu_s": round(sum(walk.cpu.values()), 2), "wall_s": round(sum(walk.walls), 2),
                     **walk.summary()}}


# -- the plugin's scene requests -----------------------------------------------------------

def local_fingerprint_sets(seeded: SeededLibrary) -> list[list[dict]]:
    library = seeded.library
    sets = [fingerprint_queries_from_files(
        [{"fingerprints": [{"type": fp.type, "value": fp.value} for fp in file.fingerprints]} for file in scene.files])
        for scene in library.local_scenes if scene.stash_id_for(library.endpoint)]
    return [fingerprint_set for fingerprint_set in sets if fingerprint_set]


def by_ids(bench: Bench, build: Callable[[int], str], ids: list[str], repeats: int) -> dict[str, Any]:
    measured = Measured()
    for _ in range(repeats):
        for chunk in chunks(ids, PER_REQUEST):
            bench.timed(measured, build(len(chunk)), {scene_id_variable(i): v for i, v in enumerate(chunk)}, len(chunk))
    return measured.summary()


def by_fingerprints(bench: Bench, sets: list[list[dict]], repeats: int) -> dict[str, Any]:
    measured = Measured()
    for _ in range(repeats):
        for chunk in chunks(sets, PER_REQUEST):
            bench.timed(measured, FIND_SCENES_BY_FINGERPRINTS_QUERY, {"fingerprints": list(chunk)}, len(chunk))
    return measured.summary()


def applied_scene_edits(bench: Bench, repeats: int) -> dict[str, Any]:
    """queryEdits of applied scene edits, newest closed first, one page of up to 1,000: what
    naming the scenes merged away or destroyed since the report would cost."""
    measured = Measured()
    edit_input = {"target_type": "SCENE", "applied": True, "sort": "CLOSED_AT", "direction": "DESC",
                  "page": 1, "per_page": 1000}
    for _ in range(repeats):
        data = bench.timed(measured, APPLIED_EDITS, {"input": edit_input}, 0)
        measured.items += len(data["queryEdits"]["edits"])
    return measured.summary()


def plugin_requests(bench: Bench, seeded: SeededLibrary, repeats: int) -> dict[str, Any]:
    library = seeded.library
    return {
        "fingerprints_40": by_fingerprints(bench, local_fingerprint_sets(seeded), repeats),
        "find_scene_40": by_ids(bench, build_find_scenes_by_ids_query, [s.id for s in library.stashdb_scenes], repeats),
        "find_tag_40": by_ids(bench, build_find_tags_by_ids_query, [t.id for t in library.stashdb_tags], repeats),
    }


# -- running ----------------------------------------------------------------------------

def run(scenes: int, seed: int, per_pages: Iterable[int], repeats: int, plugin_repeats: int) -> dict[str, Any]:
    reason = missing_parts_reason()
    if reason:
        raise SystemExit(reason)
    work_dir = Path(tempfile.mkdtemp(prefix="tagmanager-refresh-bench-"))
    try:
        with DebianPostgres(find_postgres_bin_dir()) as postgres, \
                RealStashBox(find_stashbox_binary(), work_dir, postgres.url_for_stashbox()) as server:
            started = time.monotonic()
            seeded = seed_library(server, generate_library(scenes, seed=seed))
            seed_seconds = time.monotonic() - started
            live = sum(1 for scene in seeded.library.stashdb_scenes if not scene.deleted)
            bench = Bench(server, ServerCPU(server.pid, postgres.pid))
            load_before = load_average()
            paging = [pages_at_offsets(bench, per_page, with_count, live, repeats)
                      for per_page in per_pages for with_count in (False, True)]
            plugin = plugin_requests(bench, seeded, plugin_repeats)
            plugin["scene_edits_page"] = applied_scene_edits(bench, repeats)
            return {"local_scenes": scenes, "stashdb_scenes_live": live, "tags": len(seeded.library.stashdb_tags),
                    "seed_seconds": round(seed_seconds, 1), "repeats": repeats, "load_before": load_before,
                    "load_after": load_average(), "paging": paging, "plugin": plugin}
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['stashdb_scenes_live']} live StashDB scenes, {result['tags']} tags; seeded in "
          f"{result['seed_seconds']} s; load {result['load_before']} -> {result['load_after']}")
    print("queryScenes UPDATED_AT DESC {id updated}: server CPU ms per page (stash-box's share) / median answer ms,"
          " by offset; then the whole walk")
    for paging in result["paging"]:
        cells = "  ".join(f"@{o['offset']}: {o['cpu_ms_per_request']} ({o['stashbox_share']}) / {o['wall_ms_median']}"
                          for o in paging["offsets"])
        walk = paging["walk"]
        print(f"  per_page {paging['per_page']:>5} {'with count' if paging['count'] else 'no count  '} "
              f"{paging['pages']:>4} pages  {cells}  | walk {walk['cpu_s']} s CPU, {walk['wall_s']} s")
    print("the plugin's requests: CPU ms per request, per scene/tag, median answer ms")
    for name, figures in result["plugin"].items():
        print(f"  {name:16} {figures['cpu_ms_per_request']:>8} ms  {figures['cpu_ms_per_item']:>8} ms/item  "
              f"{figures['wall_ms_median']} ms  ({figures['requests']} requests)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=2200, help="local scenes of the generated library")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--per-page", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeats", type=int, default=10, help="times each chosen page is asked")
    parser.add_argument("--plugin-repeats", type=int, default=2, help="times each set of plugin requests is sent")
    args = parser.parse_args()
    result = run(args.scenes, args.seed, args.per_page, args.repeats, args.plugin_repeats)
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
