"""The sync against a real Stash v0.30.1 and the StashDB simulator: headroom, real rate, probes.

    python3 -m bench.real_stash_bench --profile headroom   # 100,000 scenes, rate limit lifted
    python3 -m bench.real_stash_bench --profile rate       # 20,000 scenes at the real 2 requests/s
    python3 -m bench.real_stash_bench --profile probes     # Stash's own write and read rates only
    python3 -m bench.real_stash_bench --profile rematch    # 100,000 scenes: the re-match against Stash's writes

Each run starts Stash (tests/e2e/stash_server.py: throw-away folder, 127.0.0.1 only, proxy
variables at a closed loopback port) on a fresh copy of a seeded database
(bench/real_stash_seed.py, made on first use), the StashDB simulator on the port that
database's StashIDs name, and the real sync in its own process (bench/sync_driver.py
--split). It prints a table and one JSON line.

* headroom: client rate 1,000/s and no simulator limit or latency, so what is left is the
  plugin's own cost and Stash's. Our batched writes alone are timed once before the sync
  (on 2,000 scenes it does not touch) and, with the probes below, after it, in the same
  Stash: the headroom ratio is given against each and against their mean.
* rate: client rate 2/s, the simulator's 240/minute limit and its StashDB latency model
  (bench/run_bench.py REALISTIC_STASHDB); wall ÷ floor, floor = StashDB requests ÷ 2.
* probes: 4,000 scenes each way, alternating in rounds of 400 so the machine's load
  falls on both alike: one `sceneUpdate` per scene with the full tag list, and our
  aliased `bulkSceneUpdate` ADD batches of 40 (stash_local.LocalStash.add_tags_to_scenes);
  each adds the same number of padding tags a scene does not have. Then reads by ids,
  40 a request (LocalStash.scenes_by_ids).
* rematch: the headroom sync, writing its report as the plugin does, then the re-match
  task and Stash doing its writes alone (bench/real_stash_rematch.py).

Load averages (`/proc/loadavg`) are taken before and after each part: the machine is
shared, and every figure is only as good as the load beside it. `--py-spy FILE` runs
the sync under py-spy (a sampling profiler, all threads) and writes its collapsed
stacks to FILE; bench/profile_summary.py turns those into the top lines.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.real_stash_seed import (
    DEFAULT_WORK_ROOT,
    Snapshot,
    bench_library,
    load_average,
    padding_tags,
    seed_snapshot,
    start_stash_on,
)
from bench.run_bench import REALISTIC_STASHDB
from tag_manager import plugin_report_dir
from tests.e2e.stash_server import RealStash, StashBoxEntry
from tests.simulators.served import Latency
from tests.simulators.stashdb_data import StashDBData
from tests.simulators.stashdb_sim import DEFAULT_API_KEY, StashDBSimulator

REPO_ROOT = Path(__file__).resolve().parent.parent
DRIVER_TIMEOUT_SECONDS = 3 * 3600
PROBE_SCENES = 4_000
PROBE_ROUND = 400
PROBE_NEW_TAGS = 10         # what the sync adds to a scene it updates (headroom run: 914,572 / 87,389)
READ_PROBE_SCENES = 8_000
PROBE_BEFORE_SCENES = 2_000
REQUEST_TIMEOUT = 120.0

# Where a read's cost goes: our read (stash_local.SCENES_BY_IDS_QUERY) less one part each.
READ_VARIANT_FIELDS = {
    "ids_only": "id",
    "no_tags": "id title stash_ids { endpoint stash_id } files { fingerprints { type value } }",
    "no_stash_ids": "id title tags { id } files { fingerprints { type value } }",
    "no_files": "id title tags { id } stash_ids { endpoint stash_id }",
}
READ_VARIANT_SCENES = 4_000


def read_variant_query(fields: str) -> str:
    return ("query BenchReadVariant($ids: [ID!], $filter: FindFilterType) {\n"
            f"  findScenes(ids: $ids, filter: $filter) {{ scenes {{ {fields} }} }}\n}}\n")


SCENE_UPDATE = """
mutation BenchSceneUpdate($input: SceneUpdateInput!) {
  sceneUpdate(input: $input) { id }
}
"""

ALL_SCENE_TAGS = """
query BenchAllSceneTags($filter: FindFilterType) {
  findScenes(filter: $filter) { scenes { id title tags { id } } }
}
"""

ALL_SCENE_IDS = """
query BenchAllSceneIds($filter: FindFilterType) {
  findScenes(filter: $filter) { scenes { id title } }
}
"""

ALL_TAGS = """
query BenchAllTags($filter: FindFilterType) {
  findTags(filter: $filter) { tags { id name } }
}
"""


@dataclass(frozen=True)
class Profile:
    scenes: int
    client_rate: float
    stashdb_rpm: int | None
    stashdb_latency: Latency
    sync: bool = True
    probes: bool = False
    rematch: bool = False


PROFILES = {
    "headroom": Profile(100_000, 1000.0, None, Latency(), probes=True),
    "rate": Profile(20_000, 2.0, 240, REALISTIC_STASHDB),
    "probes": Profile(100_000, 1000.0, None, Latency(), sync=False, probes=True),
    "rematch": Profile(100_000, 1000.0, None, Latency(), rematch=True),
}


# -- what the machine and the processes did ---------------------------------------------

def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (fields 14 and 15 of /proc/<pid>/stat), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Meter:
    """Wall, Stash's CPU, this process's CPU (the StashDB simulator's threads) and the load
    over one part of a run."""

    def __init__(self, stash: RealStash):
        self.pid = stash.pid

    def __enter__(self) -> "Meter":
        self.load_before = load_average()
        self.stash_cpu = process_cpu_seconds(self.pid)
        self.own_cpu = time.process_time()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall = time.perf_counter() - self.started
        self.stash_cpu = process_cpu_seconds(self.pid) - self.stash_cpu
        self.own_cpu = time.process_time() - self.own_cpu
        self.load_after = load_average()

    def figures(self) -> dict:
        return {"wall_seconds": round(self.wall, 2), "stash_cpu_seconds": round(self.stash_cpu, 2),
                "harness_cpu_seconds": round(self.own_cpu, 2),
                "load_before": self.load_before, "load_after": self.load_after}


# -- the sync ---------------------------------------------------------------------------

def run_sync(stash: RealStash, sim: StashDBSimulator, profile: Profile, py_spy: Path | None,
             requests_in_flight: int | None = None, report_dir: Path | None = None) -> dict:
    command = [sys.executable, "-m", "bench.sync_driver", "--plugin-root", str(REPO_ROOT),
               "--stash-url", stash.graphql_url, "--stashdb-url", sim.url, "--stashdb-api-key", sim.api_key,
               "--rate", str(profile.client_rate), "--split"]
    if requests_in_flight:
        command += ["--requests-in-flight", str(requests_in_flight)]
    if report_dir is not None:
        command += ["--report-dir", str(report_dir)]
    if py_spy is not None:
        command = ["py-spy", "record", "--format", "raw", "--rate", "100", "--gil", "--output", str(py_spy),
                   "--nonblocking", "--"] + command
    with Meter(stash) as meter:
        driver = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=DRIVER_TIMEOUT_SECONDS, check=False)
    if driver.returncode != 0:
        raise SystemExit(f"sync driver failed ({driver.returncode}):\n{driver.stderr[-4000:]}")
    # the driver's figures are its last JSON line (py-spy, when used, prints after it)
    result = json.loads([line for line in driver.stdout.splitlines() if line.startswith("{")][-1])
    stats = result["stats"]
    processed = stats["scenes_processed"]
    wall = result["wall_seconds"]
    floor = result["stashdb_requests"] / profile.client_rate
    figures = {
        "scenes": processed,
        "scenes_updated": stats["outcomes"].get("updated"),
        "tags_added": stats.get("tags_added"),
        "errors": stats["outcomes"].get("error"),
        "stashdb_requests": result["stashdb_requests"],
        "stash_requests": result["stash_requests"],
        "wall_seconds": round(wall, 2),
        "scenes_per_second": round(processed / wall, 1),
        "floor_seconds": round(floor, 2),
        "wall_over_floor": round(wall / floor, 4),
        "split_seconds": {part: value["seconds"] for part, value in result["split"].items()},
        "plugin_cpu_seconds": round(result["cpu_seconds"], 2),
        "plugin_peak_rss_mb": round(result["peak_rss_mb"], 1),
        **meter.figures(),
    }
    figures["stash_cpu_per_1000_scenes"] = round(1000 * meter.stash_cpu / processed, 3)
    figures["plugin_cpu_per_1000_scenes"] = round(1000 * result["cpu_seconds"] / processed, 3)
    return figures


def verify(stash: RealStash, library, skip_titles: frozenset[str] = frozenset()) -> dict:
    """Every scene's tags in Stash against the library's independent expectation (but the
    scenes the probe before the sync wrote to: those also carry padding tags)."""
    tags = stash.graphql(ALL_TAGS, {"filter": {"per_page": -1}}, timeout=REQUEST_TIMEOUT)["findTags"]["tags"]
    stash_tag_by_name = {tag["name"]: tag["id"] for tag in tags}
    name_by_library_id = {tag.id: tag.name for tag in library.local_tags}
    scenes = stash.graphql(ALL_SCENE_TAGS, {"filter": {"per_page": -1}}, timeout=600)["findScenes"]["scenes"]
    by_title = {scene["title"]: scene for scene in scenes}
    wrong = checked = 0
    for local in library.local_scenes:
        if local.title in skip_titles:
            continue
        checked += 1
        expected = {stash_tag_by_name[name_by_library_id[tag_id]] for tag_id in library.expected_tag_ids(local.id)}
        actual = {tag["id"] for tag in by_title[local.title]["tags"]}
        wrong += expected != actual
    return {"scenes_checked": checked, "scenes_not_as_expected": wrong}


# -- Stash's own rates ------------------------------------------------------------------

def probe_client(stash: RealStash):
    """The plugin's own Stash client, on a session set as connect_stash sets it for a Stash
    on this machine (the environment's proxy settings not read for every request)."""
    sys.path.insert(0, str(REPO_ROOT))
    import requests
    from stash_local import LocalStash

    session = requests.Session()
    session.trust_env = False
    return LocalStash(session, stash.graphql_url, timeout=REQUEST_TIMEOUT)


def probe_bulk_add_before(stash: RealStash, library, seed: int) -> tuple[dict, frozenset[str]]:
    """Our batched ADD writes alone, before the sync, on scenes it does not touch (no
    StashID for its endpoint), so that the headroom ratio can use the mean of a probe
    before and one after the sync (the load moves in between). Returns the figures and
    the titles of the scenes written."""
    from tests.simulators.library import NO_STASH_ID

    local = probe_client(stash)
    tag_ids = _stash_ids_of(stash, [tag.name for tag in padding_tags(library)])
    rng = random.Random(seed + 1)
    titles = [scene.title for scene in library.local_scenes if library.scene_kinds[scene.id] == NO_STASH_ID]
    count = min(PROBE_BEFORE_SCENES, len(titles) // 40 * 40)
    chosen = frozenset(rng.sample(titles, count))
    scenes = stash.graphql(ALL_SCENE_IDS, {"filter": {"per_page": -1}}, timeout=REQUEST_TIMEOUT)["findScenes"]["scenes"]
    ids = [scene["id"] for scene in scenes if scene["title"] in chosen]
    tally = _Tally(stash)
    with tally:
        add_or_stop(local, [(scene_id, rng.sample(tag_ids, PROBE_NEW_TAGS)) for scene_id in ids])
    return tally.figures(len(ids)), chosen


def probe_stash(stash: RealStash, library, seed: int) -> dict:
    """Writes/s for the two write styles and for the sync's own Stash traffic without the
    plugin (same Stash, alternating rounds), then reads/s."""
    local = probe_client(stash)
    tag_ids = _stash_ids_of(stash, [tag.name for tag in padding_tags(library)])
    rng = random.Random(seed)
    every_id = [scene["id"] for scene in stash.graphql(ALL_SCENE_IDS, {"filter": {"per_page": -1}},
                                                       timeout=REQUEST_TIMEOUT)["findScenes"]["scenes"]]
    probe_scenes = min(PROBE_SCENES, len(every_id) // 3 // PROBE_ROUND * PROBE_ROUND)
    scene_ids = rng.sample(every_id, 3 * probe_scenes)
    one_by_one, batched, read_and_written = (scene_ids[part * probe_scenes:(part + 1) * probe_scenes]
                                             for part in range(3))
    additions = {scene_id: rng.sample(tag_ids, PROBE_NEW_TAGS) for scene_id in scene_ids}
    current = {scene["id"]: [tag["id"] for tag in scene["tags"]]
               for start in range(0, len(one_by_one), 40)
               for scene in local.scenes_by_ids(one_by_one[start:start + 40])}
    timings = {"scene_update": _Tally(stash), "bulk_add_x40": _Tally(stash), "read_and_bulk_add_x40": _Tally(stash)}
    for start in range(0, probe_scenes, PROBE_ROUND):
        with timings["scene_update"]:
            for scene_id in one_by_one[start:start + PROBE_ROUND]:
                stash.graphql(SCENE_UPDATE, {"input": {"id": scene_id,
                                                       "tag_ids": current[scene_id] + additions[scene_id]}},
                              timeout=REQUEST_TIMEOUT)
        with timings["bulk_add_x40"]:
            add_or_stop(local, [(scene_id, additions[scene_id]) for scene_id in batched[start:start + PROBE_ROUND]])
        with timings["read_and_bulk_add_x40"]:
            read_then_write(local, read_and_written[start:start + PROBE_ROUND], additions)
    reads = _Tally(stash)
    read_ids = rng.sample(every_id, min(READ_PROBE_SCENES, len(every_id)))
    with reads:
        for start in range(0, len(read_ids), 40):
            local.scenes_by_ids(read_ids[start:start + 40])
    figures = {name: tally.figures(probe_scenes) for name, tally in timings.items()}
    figures["read_by_ids_x40"] = reads.figures(len(read_ids))
    for name, fields in READ_VARIANT_FIELDS.items():
        variant_ids = rng.sample(every_id, min(READ_VARIANT_SCENES, len(every_id)))
        tally = _Tally(stash)
        with tally:
            for start in range(0, len(variant_ids), 40):
                stash.graphql(read_variant_query(fields), {"ids": variant_ids[start:start + 40],
                                                           "filter": {"per_page": -1}}, timeout=REQUEST_TIMEOUT)
        figures[f"read_x40_{name}"] = tally.figures(len(variant_ids))
    figures["new_tags_per_write"] = PROBE_NEW_TAGS
    return figures


def read_then_write(local, scene_ids: list[str], additions: dict[str, list[str]]) -> None:
    """What the sync asks of Stash, without the plugin's work or StashDB: each batch of 40
    read by ids (SCENES_BY_IDS_QUERY) on a second thread, one batch ahead, as the fetcher
    reads, and its additions (for the scenes that have some) written in one aliased
    bulkSceneUpdate ADD request."""
    handover: queue.Queue = queue.Queue(maxsize=1)

    def read() -> None:
        for start in range(0, len(scene_ids), 40):
            handover.put(local.scenes_by_ids(scene_ids[start:start + 40]))
        handover.put(None)

    reader = threading.Thread(target=read, name="bench-reader", daemon=True)
    reader.start()
    while (scenes := handover.get()) is not None:
        add_or_stop(local, [(scene["id"], additions[scene["id"]]) for scene in scenes if scene["id"] in additions])
    reader.join()


def add_or_stop(local, additions: list[tuple[str, list[str]]]) -> None:
    """Our batched ADD writes (LocalStash.add_tags_to_scenes); the first failure stops the bench."""
    errors = local.add_tags_to_scenes(additions)
    if any(errors.values()):
        raise SystemExit(f"probe write failed: {next(e for e in errors.values() if e)}")


class _Tally:
    """Adds up wall and Stash CPU over several `with` blocks."""

    def __init__(self, stash: RealStash):
        self.pid = stash.pid
        self.wall = self.stash_cpu = 0.0
        self.loads: list[list[float]] = []

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), process_cpu_seconds(self.pid)
        self.loads.append(load_average())
        return self

    def __exit__(self, *exc_info) -> None:
        self.wall += time.perf_counter() - self._wall
        self.stash_cpu += process_cpu_seconds(self.pid) - self._cpu

    def figures(self, scenes: int) -> dict:
        return {"scenes": scenes, "seconds": round(self.wall, 2), "scenes_per_second": round(scenes / self.wall, 1),
                "stash_cpu_seconds": round(self.stash_cpu, 2),
                "stash_cpu_ms_per_scene": round(1000 * self.stash_cpu / scenes, 3),
                "load_1min_first_last": [self.loads[0][0], self.loads[-1][0]]}


def _stash_ids_of(stash: RealStash, names: list[str]) -> list[str]:
    tags = stash.graphql(ALL_TAGS, {"filter": {"per_page": -1}}, timeout=REQUEST_TIMEOUT)["findTags"]["tags"]
    by_name = {tag["name"]: tag["id"] for tag in tags}
    return [by_name[name] for name in names]


# -- one run ----------------------------------------------------------------------------

def run(profile_name: str, work_root: Path, seed: int, py_spy: Path | None, keep: bool,
        scenes: int | None = None, requests_in_flight: int | None = None) -> dict:
    profile = PROFILES[profile_name]
    if scenes:
        profile = replace(profile, scenes=scenes)
    snapshot: Snapshot = seed_snapshot(work_root, profile.scenes, seed)
    library = bench_library(profile.scenes, seed)
    figures: dict = {"profile": profile_name, "snapshot": str(snapshot.folder), "load_at_start": load_average()}
    sim = StashDBSimulator(StashDBData(library.stashdb_tags, library.stashdb_scenes), api_key=DEFAULT_API_KEY,
                           requests_per_minute=profile.stashdb_rpm)
    sim.latency = profile.stashdb_latency
    try:
        sim.start(port=snapshot.stashdb_port)
    except OSError as exc:
        raise SystemExit(f"port {snapshot.stashdb_port}, which the seeded StashIDs name, is taken ({exc}); "
                         f"seed again with: python3 -m bench.real_stash_seed --scenes {profile.scenes} --force")
    work_dir = work_root / f"run-{profile_name}"
    started = time.perf_counter()
    stash = start_stash_on(snapshot, work_dir, stash_boxes=[StashBoxEntry(sim.url, sim.api_key, "StashDB")])
    figures["stash_start_seconds"] = round(time.perf_counter() - started, 1)
    try:
        probed: frozenset[str] = frozenset()
        if profile.sync and profile.probes:
            figures["bulk_add_x40_before_sync"], probed = probe_bulk_add_before(stash, library, seed)
        if profile.sync:
            figures["sync"] = run_sync(stash, sim, profile, py_spy, requests_in_flight,
                                       plugin_report_dir({"Dir": str(work_dir)}) if profile.rematch else None)
            figures["sync"]["requests_in_flight"] = requests_in_flight or "the sync's default"
            figures["stash_peak_rss_mb_after_sync"] = round(process_peak_rss_mb(stash.pid), 1)
            figures["check"] = verify(stash, library, probed)
        if profile.rematch:
            from bench.real_stash_rematch import measure_rematch  # it builds on this module's probes

            figures["rematch"] = measure_rematch(stash, sim, library, work_dir, seed)
        if profile.probes:
            figures["probes"] = probe_stash(stash, library, seed)
            if profile.sync:
                after = figures["probes"]["bulk_add_x40"]["scenes_per_second"]
                before = figures["bulk_add_x40_before_sync"]["scenes_per_second"]
                rate = figures["sync"]["scenes_per_second"]
                figures["headroom_over_bulk_add"] = {
                    "after": round(rate / after, 3), "before": round(rate / before, 3),
                    "mean_of_both": round(rate / ((before + after) / 2), 3)}
                stash_alone = figures["probes"]["read_and_bulk_add_x40"]["scenes_per_second"]
                figures["headroom_over_stash_reads_and_writes_alone"] = round(rate / stash_alone, 3)
        figures["stash_peak_rss_mb_at_end"] = round(process_peak_rss_mb(stash.pid), 1)  # after the check too
    finally:
        stash.stop()
        sim.stop()
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    figures["load_at_end"] = load_average()
    return figures


def print_table(figures: dict, prefix: str = "") -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"{prefix}{key}:")
            print_table(value, prefix + "  ")
        else:
            print(f"{prefix}{key}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.real_stash_bench")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="headroom")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenes", type=int, help="override the profile's scene count (a snapshot each)")
    parser.add_argument("--work-root", type=Path, default=DEFAULT_WORK_ROOT)
    parser.add_argument("--py-spy", type=Path, help="profile the sync with py-spy; collapsed stacks to this file")
    parser.add_argument("--requests-in-flight", type=int,
                        help="StashDB requests waiting at once (bench/sync_driver.py; default: the sync's)")
    parser.add_argument("--keep", action="store_true", help="keep the run's Stash folder (logs, database)")
    options = parser.parse_args()
    figures = run(options.profile, options.work_root, options.seed, options.py_spy, options.keep, options.scenes,
                  options.requests_in_flight)
    print_table(figures)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
