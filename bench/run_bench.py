"""Throughput and memory benchmark: the real sync against the simulators over real HTTP.

    python3 -m bench.run_bench --profile rate     # 4,000 scenes at the real 2 requests/second
    python3 -m bench.run_bench --profile scale    # 100,000 scenes, rate limit off

Prints a table and one JSON line. `--plugin-root DIR` measures the plugin modules of
another checkout (e.g. an earlier commit in a `git worktree`) with this same harness.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.served import Latency

REPO_ROOT = Path(__file__).resolve().parent.parent
# Pass-2 kinds the generator adds beside "fingerprints unknown": no files 2 %, deleted 2 %,
# unknown id 1 %, fingerprint of another scene 1 %. 0.24 + 0.06 = a 30 % fallback share.
FINGERPRINTS_UNKNOWN_SHARE = 0.24


@dataclass(frozen=True)
class Profile:
    scenes: int
    client_rate: float          # StashDB requests per second the client allows itself
    stashdb_rpm: int | None     # the simulator's own limit (429 above it); None = off
    stashdb_latency: Latency    # time the StashDB simulator takes to answer
    stash_latency: Latency      # time the Stash simulator takes to answer


# The latency model of the `rate` profile: StashDB answers in 150 ms (+5 ms per aliased
# scene lookup). Stash's part is measured against a real Stash v0.30.1 with 100,000 scenes
# (README.md, "Against a real Stash"): about 2 ms a request, 1.2 ms per root field (each
# aliased scene write is its own transaction: 40 aliased ADD writes took 37-54 ms) and 1 ms
# per scene read by ids (a read of 40 took 29-45 ms although it is one root field). The
# first model (10 ms + 5 ms per root field) made writes four times too slow and reads three
# times too fast.
REALISTIC_STASHDB = Latency(per_request=0.15, per_root_field=0.005)
# A real stash-box's own answer times per request kind (bench/stashbox_cost.py, pooled, the
# stash-box tier's 2,192-scene seed, on loopback; medians of 240-265 requests of each kind,
# 2026-12-02, the first of two runs; the second gave 38, 43 and 19 ms): 40 fingerprint lists
# 40 ms, 40 aliased findScene 65 ms, 40 aliased findTag 22 ms. bench/latency_sweep.py adds
# the time the answer spends on its way on top.
STASHBOX_ANSWER_TIMES = Latency(by_root_field=(("findScenesBySceneFingerprints", 0.040),
                                               ("findScene", 0.065 / 40), ("findTag", 0.022 / 40)))
REALISTIC_STASH = Latency(per_request=0.002, per_root_field=0.0012, per_listed_id=0.001,
                          per_answered_scene=0.00004)  # the 100,000-id snapshot: 3.8-4.8 s in a real Stash
NO_LATENCY = Latency()

PROFILES = {
    "rate": Profile(4_000, client_rate=2.0, stashdb_rpm=240, stashdb_latency=REALISTIC_STASHDB,
                    stash_latency=REALISTIC_STASH),
    "scale": Profile(100_000, client_rate=1000.0, stashdb_rpm=None, stashdb_latency=NO_LATENCY,
                     stash_latency=NO_LATENCY),
}


def run(profile: Profile, plugin_root: Path, seed: int, requests_in_flight: int | None = None) -> dict:
    """One sync with its report, as the plugin runs it (the report is what asks the unmatched
    tags' details: their findTag requests are among the StashDB requests counted)."""
    library = generate_library(profile.scenes, seed, fallback_share=FINGERPRINTS_UNKNOWN_SHARE)
    with start_simulators(library, stashdb_rpm=profile.stashdb_rpm) as sims, \
            tempfile.TemporaryDirectory(prefix="tagmanager-bench-report-") as report_dir:
        sims.stashdb.latency = profile.stashdb_latency
        sims.stash.latency = profile.stash_latency
        driver = subprocess.run(
            [sys.executable, "-m", "bench.sync_driver", "--plugin-root", str(plugin_root),
             "--stash-url", sims.stash.url, "--stashdb-url", sims.stashdb.url,
             "--stashdb-api-key", sims.stashdb.api_key, "--rate", str(profile.client_rate),
             "--report-dir", report_dir,
             *(["--requests-in-flight", str(requests_in_flight)] if requests_in_flight else [])],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600, check=False,
        )
        if driver.returncode != 0:
            raise SystemExit(f"sync driver failed ({driver.returncode}):\n{driver.stderr[-4000:]}")
        result = json.loads(driver.stdout.strip().splitlines()[-1])
        stashdb_requests = len(sims.stashdb.request_log)
        tag_requests = len(sims.stashdb.request_log.with_root_field("findTag"))
        stash_requests = len(sims.stash.request_log)
        local_tags = _local_tags(plugin_root, sims.stash.url)
    stats = result["stats"]
    processed = stats["scenes_processed"]
    fallback = stats["found_by_id"] + stats["outcomes"]["stale_stash_id"] + stats["outcomes"]["not_found"]
    floor = stashdb_requests / profile.client_rate
    return {
        "scenes": processed,
        "fallback_share": round(fallback / processed, 3),
        "stashdb_requests": stashdb_requests,
        "stashdb_requests_per_scene": round(stashdb_requests / processed, 4),
        "stashdb_tag_detail_requests": tag_requests,
        "stash_requests": stash_requests,
        "stash_requests_per_scene": round(stash_requests / processed, 4),
        "wall_seconds": round(result["wall_seconds"], 2),
        "floor_seconds": round(floor, 2),
        "wall_over_floor": round(result["wall_seconds"] / floor, 3),
        "tag_matches_per_second": round(_matches_per_second(plugin_root, local_tags, library)),
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "errors": stats["outcomes"]["error"],
    }


def _local_tags(plugin_root: Path, stash_url: str) -> list[dict]:
    sys.path.insert(0, str(plugin_root))
    import requests
    from stash_local import LocalStash

    return LocalStash(requests.Session(), stash_url).all_tags()


def _matches_per_second(plugin_root: Path, local_tags: list[dict], library) -> float:
    """Stash's matching rules over every StashDB tag of every scene, timed in-process."""
    sys.path.insert(0, str(plugin_root))
    from tag_matching import TagCache, match_stashdb_tag_to_local

    cache = TagCache.from_tags(local_tags)
    names = {tag.id: tag.name for tag in library.stashdb_tags}
    queries = [{"id": tag_id, "name": names[tag_id]} for scene in library.stashdb_scenes[:20_000]
               for tag_id in scene.tag_ids]
    endpoint = library.endpoint
    started = time.perf_counter()
    repeats = max(1, 1_000_000 // max(1, len(queries)))
    for _ in range(repeats):
        for query in queries:
            match_stashdb_tag_to_local(query, cache, endpoint)
    return repeats * len(queries) / (time.perf_counter() - started)


def print_table(profile_name: str, figures: dict) -> None:
    print(f"profile: {profile_name}")
    width = max(len(key) for key in figures)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value}")
    print(json.dumps({"profile": profile_name, **figures}))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.run_bench")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="rate")
    parser.add_argument("--plugin-root", type=Path, default=REPO_ROOT)
    parser.add_argument("--scenes", type=int, help="override the profile's scene count")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    profile = PROFILES[options.profile]
    if options.scenes:
        profile = Profile(options.scenes, profile.client_rate, profile.stashdb_rpm,
                          profile.stashdb_latency, profile.stash_latency)
    print_table(options.profile, run(profile, options.plugin_root.resolve(), options.seed))


if __name__ == "__main__":
    main()
