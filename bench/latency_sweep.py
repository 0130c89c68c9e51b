"""How StashDB's answer time changes the run: the `rate` profile's 4,000 scenes at the real
2 requests/second. The StashDB simulator answers each request in a real stash-box's own
time for its kind (bench/run_bench.py `STASHBOX_ANSWER_TIMES`: 40 ms for 40 fingerprint
lists, 65 ms for 40 aliased findScene, 22 ms for 40 aliased findTag), plus 0, 0.15, 0.5, 1,
2 or 4 s more for every request (the way there and back, a busy server).

    python3 -m bench.latency_sweep                         # the sync as it is (overlapping requests)
    python3 -m bench.latency_sweep --requests-in-flight 1  # one request at a time, for comparison
    python3 -m bench.latency_sweep --latencies 2 4         # only some answer times

A fetcher that waits for each answer before sending the next falls below the rate limit
as soon as an answer takes longer than the 0.5 s between requests; letting a few requests
wait for their answers at once keeps it at the limit. Prints one JSON line per latency
and a table at the end.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from bench.run_bench import PROFILES, REALISTIC_STASH, REPO_ROOT, STASHBOX_ANSWER_TIMES, Profile, run

LATENCIES = (0.0, 0.15, 0.5, 1.0, 2.0, 4.0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.latency_sweep")
    parser.add_argument("--latencies", type=float, nargs="+", default=LATENCIES)
    parser.add_argument("--scenes", type=int, default=PROFILES["rate"].scenes)
    parser.add_argument("--requests-in-flight", type=int, help="default: the sync's own")
    parser.add_argument("--plugin-root", type=Path, default=REPO_ROOT)
    options = parser.parse_args()
    rows = []
    for latency in options.latencies:
        profile = Profile(options.scenes, client_rate=2.0, stashdb_rpm=240,
                          stashdb_latency=replace(STASHBOX_ANSWER_TIMES, per_request=latency),
                          stash_latency=REALISTIC_STASH)
        figures = run(profile, options.plugin_root.resolve(), seed=1, requests_in_flight=options.requests_in_flight)
        rows.append({"stashdb_answer_seconds_added": latency, **figures})
        print(json.dumps(rows[-1]), flush=True)
    print("| added to stash-box's own answer time | StashDB requests (findTag) | wall s | floor s | wall ÷ floor | "
          "peak RSS MB | errors |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['stashdb_answer_seconds_added']:g} s | {row['stashdb_requests']} "
              f"({row['stashdb_tag_detail_requests']}) | {row['wall_seconds']} | "
              f"{row['floor_seconds']} | {row['wall_over_floor']} | {row['peak_rss_mb']} | {row['errors']} |")


if __name__ == "__main__":
    main()
