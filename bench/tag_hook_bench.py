"""How long the tag-change hook takes on a 100,000-scene report, run as Stash runs it.

    python3 -m bench.tag_hook_bench [--scenes 100000] [--seed 1] [--rounds 5]

The simulated Stash holds a generated library's local tags (the real StashDB vocabulary
when ../shared is there). A report of `--scenes` scenes is written with the plugin's own
RunReport: each scene remembers 5 to 25 StashDB tags drawn with a popularity skew, so the
vocabulary holds the library's StashDB tags. Then, per round, a fresh local tag is linked
to an unmatched StashDB tag through the simulator's tagUpdate, and `tag_manager.py` runs
the hook from stdin JSON as Stash starts it: the wall time from process start to its
answer, and the hook's own split (importing requests, its requests to Stash, the rest).

For the choice of how the scenes reach the task: what computing the scene ids in the hook
would add (reading scenes.json and selecting the scenes carrying the tag, in process),
which is what the queued re-match task now does instead.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from report_memory import choose_memory, read_memory
from run_report import RunReport
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.library_tags import MISSING

REPO_ROOT = Path(__file__).resolve().parent.parent
SETTINGS = {"syncEndpoint": "StashDB", "syncDryRun": False, "syncFollowTagChanges": True}
TAG_CREATE = "mutation Create($input: TagCreateInput!) { tagCreate(input: $input) { id } }"
TAG_UPDATE = "mutation Update($input: TagUpdateInput!) { tagUpdate(input: $input) { id } }"


def write_report(reports: Path, endpoint: str, library, scenes: int, rng: random.Random) -> Path:
    tags = [{"id": tag.id, "name": tag.name} for tag in library.stashdb_tags]
    report = RunReport(reports, label="sync", run_info={"endpoint": endpoint, "dry_run": False, "targeted": False,
                                                        "covers_library": True})
    for scene_id in range(1, scenes + 1):
        chosen = {int(len(tags) * rng.random() ** 1.5) for _ in range(rng.randint(5, 25))}
        report.scene(str(scene_id), f"Scene {scene_id:06d}", f"sdb-{scene_id}", "updated", ["Some Tag"], "",
                     stashdb_tags=[tags[i] for i in sorted(chosen)], added_tag_ids=["1"])
        if scene_id % 40 == 0:
            report.flush()
    report.finish({"endpoint": endpoint, "scenes_total": scenes}, [])
    return report.folder


def stash_write(sims, document: str, tag_input: dict) -> dict:
    body = requests.post(sims.stash.url, json={"query": document, "variables": {"input": tag_input}},
                         cookies={"session": sims.stash.session_cookie}, timeout=30).json()
    return next(iter(body["data"].values()))


def run_hook(sims, stash_dir: Path, context: dict) -> tuple[float, dict]:
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": {"mode": "follow_tag_change", "hookContext": context}}
    started = time.perf_counter()
    process = subprocess.run([sys.executable, str(REPO_ROOT / "tag_manager.py")], input=json.dumps(stdin),
                             capture_output=True, text=True, cwd=stash_dir, timeout=120, check=False)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"the hook failed: {process.stdout[-2000:]} {process.stderr[-2000:]}")
    return wall, json.loads(process.stdout)["output"]


def link_round(sims, stash_dir: Path, number: int, stashdb_id: str) -> tuple[float, dict]:
    made = stash_write(sims, TAG_CREATE, {"name": f"Bench Followed {number}"})
    link = {"id": made["id"], "stash_ids": [{"endpoint": sims.stashdb.url, "stash_id": stashdb_id}]}
    stash_write(sims, TAG_UPDATE, link)
    return run_hook(sims, stash_dir, {"id": int(made["id"]), "type": "Tag.Update.Post", "input": link,
                                      "inputFields": sorted(link)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.tag_hook_bench")
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args(argv)
    library = generate_library(300, options.seed)
    missing = [tag.id for tag in library.stashdb_tags if library.tag_link_kinds[tag.id] == MISSING]
    with tempfile.TemporaryDirectory() as temp, start_simulators(library, plugin_settings={"tagManager": SETTINGS}) \
            as sims:
        stash_dir = Path(temp)
        reports = stash_dir / "plugin_data" / "tagManager" / "reports"
        folder = write_report(reports, sims.stashdb.url, library, options.scenes, random.Random(options.seed))
        size = sum(path.stat().st_size for path in folder.iterdir())
        rounds = [link_round(sims, stash_dir, number, missing[number % len(missing)])
                  for number in range(options.rounds)]
        queued = len(sims.stash.plugin_tasks)
        started = time.perf_counter()
        memory = read_memory(choose_memory(reports, sims.stashdb.url))
        scenes = memory.scenes_with_tags([missing[0]])
        selecting = time.perf_counter() - started
    walls = [wall * 1000 for wall, _ in rounds]
    decided = [answer["decided_in_ms"] for _, answer in rounds]
    imports = [answer["import_ms"] for _, answer in rounds]
    print(f"report: {options.scenes} scenes, {size / 1e6:.1f} MB, vocabulary {len(memory.vocabulary)} StashDB tags; "
          f"{len(library.local_tags)} local tags")
    print(f"hook as Stash runs it, {options.rounds} links ({queued} jobs queued): wall median "
          f"{statistics.median(walls):.0f} ms (min {min(walls):.0f}); decided in median {statistics.median(decided):.0f} "
          f"ms, of which importing requests {statistics.median(imports):.0f} ms")
    print(f"computing the scene ids in the hook instead would add {selecting * 1000:.0f} ms "
          f"(read scenes.json, select {len(scenes)} scenes carrying one tag): the re-match task does that now")
    print(json.dumps({"scenes": options.scenes, "report_bytes": size, "wall_ms": walls, "decided_ms": decided,
                      "import_ms": imports, "select_scene_ids_ms": round(selecting * 1000, 1),
                      "jobs_queued": queued}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
