"""What `rematch_candidates` costs on a 100,000-scene report, run as Stash runs it.

    python3 -m bench.rematch_offer_bench [--scenes 100000] [--tags-per-scene 20] [--resolved 10] [--seed 1]

The simulated Stash holds a generated library of `--scenes` scenes and its local tags (the
real StashDB vocabulary when ../shared is there). A whole-library report is written with
the plugin's own RunReport: each scene remembers `--tags-per-scene` StashDB tags of the
library (drawn with a popularity skew); those no local tag matches today are its unmatched
ones, as the sync would have found. Then `--resolved` of those unmatched tags, the most
frequent first, are linked to local tags as Stash's tag page does, and a fifth of their
scenes get the local tag by hand (which the offer must leave out). `tag_manager.py` then
answers `rematch_candidates` in its own process, fed stdin JSON as runPluginOperation
starts it; the figures are those of unmatched_tags_bench (wall, peak RSS, answer bytes).
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.unmatched_tags_bench import describe, run_measured
from run_report import RunReport
from scene_tag_plan import UnmatchedTag
from stashdb_tag import StashDBTag
from tag_matching import TagCache, match_stashdb_tag_to_local
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library


def write_report(reports: Path, library, sims, per_scene: int, rng: random.Random) -> tuple[Path, dict]:
    """The whole-library report; and, per scene, the StashDB tags no local tag matched."""
    cache = TagCache.from_tags(sims.stash.tag_view(tag) for tag in sims.stash.local_tags())
    tags, endpoint = library.stashdb_tags, sims.stashdb.url
    matched = {tag.id: match_stashdb_tag_to_local({"id": tag.id, "name": tag.name}, cache, endpoint) for tag in tags}
    report = RunReport(reports, label="sync", run_info={"endpoint": endpoint, "dry_run": False,
                                                       "targeted": False, "covers_library": True})
    lacking: dict[int, list[str]] = {}
    for number, scene in enumerate(library.local_scenes, 1):
        chosen = sorted({int(len(tags) * rng.random() ** 1.5) for _ in range(per_scene)})
        remembered = [{"id": tags[i].id, "name": tags[i].name} for i in chosen]
        unmatched = [UnmatchedTag(tags[i].name, tags[i].id, StashDBTag(tags[i].id, tags[i].name)) for i in chosen
                     if matched[tags[i].id] is None]
        lacking[scene.id] = [tag.stashdb_id for tag in unmatched]
        report.scene(str(scene.id), scene.title, f"sdb-{scene.id}", "updated", [], "", unmatched, remembered, [])
        if number % 40 == 0:
            report.flush()
    report.finish({"endpoint": endpoint, "scenes_total": len(library.local_scenes)}, [])
    return report.folder, lacking


def resolve_elsewhere(sims, lacking: dict[int, list[str]], count: int, rng: random.Random) -> int:
    """Link the `count` most frequent unmatched tags to unlinked local tags (as Stash's tag page
    does); a fifth of their scenes then get every local tag they would gain, by hand. How
    many scenes were tagged by hand."""
    frequency = Counter(stashdb_id for ids in lacking.values() for stashdb_id in ids)
    free = [tag for tag in sims.stash.local_tags() if not tag.stash_ids]
    linked = {}
    for (stashdb_id, _), local in zip(frequency.most_common(count), free):
        sims.stash.edit_tag({"id": str(local.id), "stash_ids": [{"endpoint": sims.stashdb.url, "stash_id": stashdb_id}]})
        linked[stashdb_id] = local.id
    by_hand = 0
    for scene_id, ids in lacking.items():
        gains = [linked[i] for i in ids if i in linked]
        if gains and rng.random() < 0.2:
            sims.stash.add_tags(scene_id, gains)
            by_hand += 1
    return by_hand


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m bench.rematch_offer_bench")
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--tags-per-scene", type=int, default=20)
    parser.add_argument("--resolved", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args(argv)
    rng = random.Random(options.seed)
    library = generate_library(options.scenes, options.seed)
    with tempfile.TemporaryDirectory() as temp, start_simulators(library) as sims:
        sims.stash.set_plugin_settings("tagManager", {"syncEndpoint": "StashDB"})
        stash_dir = Path(temp)
        started = time.perf_counter()
        folder, lacking = write_report(stash_dir / "plugin_data" / "tagManager" / "reports", library, sims,
                                       options.tags_per_scene, rng)
        written = time.perf_counter() - started
        size = sum(path.stat().st_size for path in folder.iterdir())
        by_hand = resolve_elsewhere(sims, lacking, options.resolved, rng)
        reads_before = len(sims.stash.request_log)
        measured = [run_measured(sims, stash_dir, "run_mode (no report read: the floor)", {"mode": "run_mode"}),
                    run_measured(sims, stash_dir, "rematch_candidates", {"mode": "rematch_candidates"})]
        stash_requests = len(sims.stash.request_log) - reads_before
    offer = measured[1].answer.get("output") or {}
    unmatched = len({stashdb_id for ids in lacking.values() for stashdb_id in ids})
    print(f"report: {options.scenes:,} scenes x {options.tags_per_scene} StashDB tags ({unmatched} distinct ones "
          f"unmatched), {size / 1e6:.1f} MB on disk (written in {written:.1f} s); {options.resolved} resolved since; "
          f"{by_hand} of their scenes tagged by hand since")
    print("| operation | wall s | peak RSS MB | answer MB | answered |\n|---|---|---|---|---|")
    print(describe(measured[0]))
    print(f"| {measured[1].label} | {measured[1].wall_seconds:.2f} | {measured[1].peak_rss_mb:.0f} | "
          f"{measured[1].answer_bytes / 1e6:.3f} | {offer.get('total')} scenes of {offer.get('carrying')} carrying a "
          f"resolved tag, {offer.get('checked')} read from Stash, complete: {offer.get('complete')} |")
    print(f"Stash requests of both processes: {stash_requests}")
    print(json.dumps({"scenes": options.scenes, "report_bytes": size, "offer_total": offer.get("total"),
                      "carrying": offer.get("carrying"), "stash_requests": stash_requests,
                      "runs": [{"label": m.label, "wall_seconds": round(m.wall_seconds, 3),
                                "peak_rss_mb": round(m.peak_rss_mb, 1), "answer_bytes": m.answer_bytes}
                               for m in measured]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
