"""What `unmatched_tags` and `tag_scenes` cost on a 100,000-scene report, run as Stash runs them.

    python3 -m bench.unmatched_tags_bench [--scenes 100000] [--tags-per-scene 20] [--seed 1]

The simulated Stash holds a generated library's local tags (the real StashDB vocabulary
when ../shared is there). A report of `--scenes` scenes is written with the plugin's own
RunReport into Stash's config folder: each scene lacks `--tags-per-scene` distinct
unmatched StashDB tags of the library, drawn with a popularity skew, and one scene in a
hundred has a StashID StashDB does not know (a scene to re-match). Then `tag_manager.py`
runs each operation in its own process, fed stdin JSON as runPluginOperation starts it;
per operation: the wall time from process start to its end, the process's peak RSS
(ru_maxrss from os.wait4, by a small launcher: bench/plugin_process.py) and the answer's
bytes. `run_mode`, which reads no report, is the same process doing no work: the floor
of the RSS.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from bench.plugin_process import REPO_ROOT, Measured, run_plugin_process
from run_report import RunReport
from scene_tag_plan import UnmatchedTag
from stashdb_tag import StashDBTag
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library
from tests.simulators.library_tags import MISSING, NEAR_MISS


def unmatched_details(library) -> list[StashDBTag]:
    return [StashDBTag(tag.id, tag.name, tag.description, tag.aliases, tag.category)
            for tag in library.stashdb_tags if library.tag_link_kinds[tag.id] in (MISSING, NEAR_MISS)]


def write_report(reports: Path, endpoint: str, details: list[StashDBTag], scenes: int, per_scene: int,
                 rng: random.Random) -> Path:
    report = RunReport(reports, label="sync", run_info={"endpoint": endpoint, "dry_run": False, "targeted": False})
    for scene_id in range(1, scenes + 1):
        chosen: set[int] = set()
        while len(chosen) < per_scene:
            chosen.add(int(len(details) * rng.random() ** 1.5))
        outcome = "not_found" if scene_id % 100 == 0 else "updated"
        report.scene(str(scene_id), f"Scene {scene_id:06d}", f"sdb-{scene_id}", outcome, ["Some Tag"], "",
                     [UnmatchedTag(details[i].name, details[i].stashdb_id, details[i]) for i in sorted(chosen)])
        if scene_id % 40 == 0:
            report.flush()
    report.finish({"endpoint": endpoint, "scenes_total": scenes}, [])
    return report.folder


def run_measured(sims, stash_dir: Path, label: str, args: dict) -> Measured:
    """One plugin process, as Stash starts it: stdin JSON in, one JSON answer out."""
    connection = sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir))
    return run_plugin_process(connection, stash_dir, label, args)


def measure_all(sims, stash_dir: Path, details: list[StashDBTag]) -> list[Measured]:
    most = details[0].stashdb_id   # the skew makes the first tag the most frequent
    runs = [("run_mode (no report read: the floor)", {"mode": "run_mode"}),
            ("unmatched_tags, the first page", {"mode": "unmatched_tags"}),
            ("unmatched_tags, page 3 (100 a page), filtered by 'a'",
             {"mode": "unmatched_tags", "offset": 200, "limit": 100, "text": "a"}),
            ("tag_scenes, the most frequent tag", {"mode": "tag_scenes", "stashdb_ids": [most]}),
            ("tag_scenes, 20 tags", {"mode": "tag_scenes", "stashdb_ids": [t.stashdb_id for t in details[:20]]})]
    return [run_measured(sims, stash_dir, label, args) for label, args in runs]


def describe(measured: Measured) -> str:
    output, error = measured.answer.get("output") or {}, measured.answer.get("error")
    if error:
        what = f"error: {error[:90]}"
    elif "tags" in output:
        what = (f"{len(output['tags'])} tags of {output.get('total', len(output['tags']))}, "
                f"rematch {len(output.get('rematch_scenes') or [])} of {output.get('rematch_total', '?')}")
    elif "scene_ids" in output:
        what = f"{len(output['scene_ids'])} scene ids of {output['total']}"
    else:
        what = output.get("label", "")
    return (f"| {measured.label} | {measured.wall_seconds:.2f} | {measured.peak_rss_mb:.0f} | "
            f"{measured.answer_bytes / 1e6:.3f} | {what} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.unmatched_tags_bench")
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--tags-per-scene", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    library = generate_library(300, options.seed, near_miss_share=0.3)
    details = unmatched_details(library)
    with tempfile.TemporaryDirectory() as temp, start_simulators(library) as sims:
        sims.stash.set_plugin_settings("tagManager", {"syncEndpoint": "StashDB"})
        stash_dir = Path(temp)
        reports = stash_dir / "plugin_data" / "tagManager" / "reports"
        started = time.perf_counter()
        folder = write_report(reports, sims.stashdb.url, details, options.scenes, options.tags_per_scene,
                              random.Random(options.seed))
        written = time.perf_counter() - started
        size = sum(path.stat().st_size for path in folder.iterdir())
        measured = measure_all(sims, stash_dir, details)
    print(f"report: {options.scenes:,} scenes x {options.tags_per_scene} unmatched tags of {len(details)}, "
          f"{size / 1e6:.1f} MB on disk (written in {written:.1f} s); {len(library.local_tags)} local tags")
    print("| operation | wall s | peak RSS MB | answer MB | answered |\n|---|---|---|---|---|")
    for one in measured:
        print(describe(one))
    print(json.dumps({"scenes": options.scenes, "tags_per_scene": options.tags_per_scene, "report_bytes": size,
                      "runs": [{"label": m.label, "wall_seconds": round(m.wall_seconds, 3),
                                "peak_rss_mb": round(m.peak_rss_mb, 1), "answer_bytes": m.answer_bytes}
                               for m in measured]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
