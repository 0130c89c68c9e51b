"""How long `unmatched_tags` takes on a 100,000-scene report, run as Stash runs it.

    python3 -m bench.unmatched_tags_bench [--scenes 100000] [--seed 1]

The simulated Stash holds a generated library's local tags (the real StashDB vocabulary
when ../shared is there: about 1,700 local tags). A report of `--scenes` scenes is written
with the plugin's own RunReport into Stash's config folder: each scene lacks 0 to 8 of
the library's unmatched StashDB tags, drawn with the same popularity skew as scene tags.
Then `tag_manager.py` runs the operation from stdin JSON, as runPluginOperation starts it,
and the wall time is measured from process start to its answer. In-process timings of
the two halves (reading the report, suggesting) follow, and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from plugin_operations import OperationContext, unmatched_tags
from report_reader import choose_report, read_unmatched
from run_report import RunReport
from scene_tag_plan import UnmatchedTag
from stash_local import LocalStash
from stashdb_tag import StashDBTag
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.library_tags import MISSING, NEAR_MISS

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_report(reports: Path, endpoint: str, library, scenes: int, rng: random.Random) -> Path:
    by_id = {tag.id: tag for tag in library.stashdb_tags}
    unmatched = [tag.id for tag in library.stashdb_tags if library.tag_link_kinds[tag.id] in (MISSING, NEAR_MISS)]
    details = {i: StashDBTag(i, by_id[i].name, by_id[i].description, by_id[i].aliases, by_id[i].category)
               for i in unmatched}
    report = RunReport(reports, label="sync", run_info={"endpoint": endpoint, "dry_run": False, "targeted": False})
    for scene_id in range(1, scenes + 1):
        count = rng.randint(0, 8)
        chosen = {unmatched[int(len(unmatched) * rng.random() ** 1.5)] for _ in range(count)}
        report.scene(str(scene_id), f"Scene {scene_id:06d}", f"sdb-{scene_id}", "updated", ["Some Tag"], "",
                     [UnmatchedTag(details[i].name, i, details[i]) for i in sorted(chosen)])
        if scene_id % 40 == 0:
            report.flush()
    report.finish({"endpoint": endpoint, "scenes_total": scenes}, [])
    return report.folder


def run_operation(sims, stash_dir: Path) -> tuple[float, dict]:
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": {"mode": "unmatched_tags"}}
    sims.stash.set_plugin_settings("tagManager", {"syncEndpoint": "StashDB"})
    started = time.perf_counter()
    process = subprocess.run([sys.executable, str(REPO_ROOT / "tag_manager.py")], input=json.dumps(stdin),
                             capture_output=True, text=True, cwd=stash_dir, timeout=600, check=False)
    if process.returncode != 0:
        raise SystemExit(f"unmatched_tags failed: {process.stdout[-2000:]}")
    return time.perf_counter() - started, json.loads(process.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.unmatched_tags_bench")
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    library = generate_library(300, options.seed, near_miss_share=0.3)
    with tempfile.TemporaryDirectory() as temp, start_simulators(library) as sims:
        stash_dir = Path(temp)
        reports = stash_dir / "plugin_data" / "tagManager" / "reports"
        written = time.perf_counter()
        folder = write_report(reports, sims.stashdb.url, library, options.scenes, random.Random(options.seed))
        written = time.perf_counter() - written
        size = sum(path.stat().st_size for path in folder.iterdir())
        wall, answer = run_operation(sims, stash_dir)
        output = answer["output"]

        started = time.perf_counter()
        read_unmatched(choose_report(reports, sims.stashdb.url))
        reading = time.perf_counter() - started

        local = LocalStash(requests.Session(), sims.stash.url)
        context = OperationContext(local, {"scraping": {"excludeTagPatterns": []}}, sims.stashdb.url, reports,
                                   lambda: None)
        started = time.perf_counter()
        unmatched_tags({}, context)
        whole = time.perf_counter() - started
    answer_bytes = len(json.dumps(answer))
    print(f"report: {options.scenes} scenes, {size / 1e6:.1f} MB on disk (written in {written:.1f} s); "
          f"{len(library.local_tags)} local tags")
    print(f"unmatched_tags as Stash runs it: {wall:.2f} s wall (process start to answer), "
          f"{len(output['tags'])} tags listed, answer {answer_bytes / 1e6:.2f} MB, error {answer['error']}")
    print(f"in-process: reading the report {reading:.2f} s; the whole operation without process start "
          f"{whole:.2f} s (reading, local tags, suggestions)")
    print(json.dumps({"scenes": options.scenes, "report_bytes": size, "wall_seconds": round(wall, 3),
                      "read_seconds": round(reading, 3), "operation_seconds": round(whole, 3),
                      "tags_listed": len(output["tags"]), "answer_bytes": answer_bytes,
                      "scene_ids_listed": sum(t["scenes"] for t in output["tags"])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
