"""Runs the real sync once, in its own process, and prints one JSON line of figures.

Started by bench/run_bench.py so that the sync's peak RSS is its own. The plugin's
modules are imported from `--plugin-root` (default: this checkout), which lets the
benchmark measure an earlier commit checked out elsewhere with the same command.

`--split` (bench/real_stash_bench.py) also times where the run goes, by wrapping the two
clients' methods and the planning function from outside, without touching the sync:

* tags: loading the local tags; snapshot: the ordered id snapshot;
* read: Stash scene reads (`scenes_by_ids`); stashdb: both StashDB passes;
* plan: `plan_scene_tags`; write: Stash writes (`add_tags_to_scenes`);
* consumer_wait: the writing thread waiting for the fetcher to hand over a batch.

Reads and StashDB calls run on the fetcher thread while planning and writing run on the
main thread, so the parts add up to more than the wall time; each is busy seconds.

`--report-dir` writes the run's report there, as the plugin does (tag_manager.py
`sync_with_report`): the memory a re-match reads (bench/real_stash_bench.py --profile rematch).
"""
from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit


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


class Split:
    """Busy seconds and calls per part, safe to add to from several threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add(self, part: str, seconds: float) -> None:
        with self._lock:
            self.seconds[part] += seconds
            self.calls[part] += 1

    def timed(self, part: str, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(part, time.perf_counter() - started)
        return wrapper

    def wrap_method(self, owner, name: str, part: str) -> None:
        setattr(owner, name, self.timed(part, getattr(owner, name)))

    def as_dict(self) -> dict:
        return {part: {"seconds": round(self.seconds[part], 3), "calls": self.calls[part]}
                for part in sorted(self.seconds)}


def install_split(split: Split, local, stashdb) -> None:
    """Wrap the clients' methods and the sync's planning and hand-over, from outside."""
    import stashdb_scene_sync

    for name, part in (("all_tags", "tags"), ("scene_ids_with_stash_id", "snapshot"),
                       ("scenes_by_ids", "read"), ("add_tags_to_scenes", "write")):
        split.wrap_method(local, name, part)
    for name in ("find_scenes_by_fingerprints", "find_scenes_by_ids"):
        split.wrap_method(stashdb, name, "stashdb")
    stashdb_scene_sync.plan_scene_tags = split.timed("plan", stashdb_scene_sync.plan_scene_tags)
    handed_over = stashdb_scene_sync.fetched_in_background

    def timed_handover(batches):
        iterator = handed_over(batches)
        while True:
            started = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            finally:
                split.add("consumer_wait", time.perf_counter() - started)
            yield batch

    stashdb_scene_sync.fetched_in_background = timed_handover


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plugin-root", required=True)
    parser.add_argument("--stash-url", required=True)
    parser.add_argument("--stashdb-url", required=True)
    parser.add_argument("--stashdb-api-key", required=True)
    parser.add_argument("--rate", type=float, required=True, help="StashDB requests per second")
    parser.add_argument("--split", action="store_true", help="time the run's parts (see the docstring)")
    parser.add_argument("--requests-in-flight", type=int, help="StashDB requests waiting at once (default: the sync's)")
    parser.add_argument("--report-dir", type=Path, help="write the run's report there, as the plugin does")
    options = parser.parse_args()
    sys.path.insert(0, options.plugin_root)

    import stash_local
    from stash_local import LocalStash
    from stashdb_api import StashDBClient
    from stashdb_scene_sync import SyncSettings, sync_scene_tags
    import requests

    session = requests.Session()
    if hasattr(stash_local, "is_loopback_host"):  # as connect_stash sets it; older --plugin-root trees lack it
        session.trust_env = not stash_local.is_loopback_host(urlsplit(options.stash_url).hostname)
    local = LocalStash(session, options.stash_url)
    stashdb = StashDBClient(options.stashdb_url, options.stashdb_api_key, requests_per_second=options.rate)
    settings = SyncSettings(endpoint=options.stashdb_url, dry_run=False)
    if options.requests_in_flight:
        settings = SyncSettings(endpoint=options.stashdb_url, dry_run=False, requests_in_flight=options.requests_in_flight)
    split = Split()
    if options.split:
        install_split(split, local, stashdb)
    cpu_started = time.process_time()
    started = time.perf_counter()
    if options.report_dir:
        from plugin_io import SecretRedactor
        from tag_manager import Overrides, sync_with_report

        stats = sync_with_report(local, stashdb, settings, None, Overrides(report_dir=options.report_dir),
                                 SecretRedactor())
    else:
        stats = sync_scene_tags(local, stashdb, settings)
    wall = time.perf_counter() - started
    print(json.dumps({
        "wall_seconds": wall,
        "cpu_seconds": time.process_time() - cpu_started,
        "peak_rss_mb": peak_rss_mb(),
        "stash_requests": local.request_count,
        "stashdb_requests": stashdb.request_count,
        "split": split.as_dict(),
        "stats": stats.as_dict(),
    }))


if __name__ == "__main__":
    main()
