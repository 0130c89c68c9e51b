"""Runs the real sync once, in its own process, and prints one JSON line of figures.

Started by bench/run_bench.py so that the sync's peak RSS is its own. The plugin's
modules are imported from `--plugin-root` (default: this checkout), which lets the
benchmark measure an earlier commit checked out elsewhere with the same command.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's own peak RSS. Linux keeps getrusage's ru_maxrss across fork and
    exec, so a child started by a big parent would report the parent's size; the
    high-water mark of /proc/self/status (VmHWM) belongs to this process's memory only."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plugin-root", required=True)
    parser.add_argument("--stash-url", required=True)
    parser.add_argument("--stashdb-url", required=True)
    parser.add_argument("--stashdb-api-key", required=True)
    parser.add_argument("--rate", type=float, required=True, help="StashDB requests per second")
    parser.add_argument("--requests-in-flight", type=int, help="StashDB requests waiting at once (default: the sync's)")
    options = parser.parse_args()
    sys.path.insert(0, options.plugin_root)

    from stash_local import LocalStash
    from stashdb_api import StashDBClient
    from stashdb_scene_sync import SyncSettings, sync_scene_tags
    import requests

    local = LocalStash(requests.Session(), options.stash_url)
    stashdb = StashDBClient(options.stashdb_url, options.stashdb_api_key, requests_per_second=options.rate)
    settings = SyncSettings(endpoint=options.stashdb_url, dry_run=False)
    if options.requests_in_flight:
        settings = SyncSettings(endpoint=options.stashdb_url, dry_run=False, requests_in_flight=options.requests_in_flight)
    started = time.perf_counter()
    stats = sync_scene_tags(local, stashdb, settings)
    wall = time.perf_counter() - started
    print(json.dumps({
        "wall_seconds": wall,
        "peak_rss_mb": peak_rss_mb(),
        "stats": stats.as_dict(),
    }))


if __name__ == "__main__":
    main()
