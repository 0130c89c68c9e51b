"""The re-match (`rematch_scene_tags`) in a real Stash, against Stash's own writes alone.

The `rematch` profile of bench/real_stash_bench.py. After the whole-library live sync has
written its report (the plugin's memory) into Stash's config folder, local tags are
created with the names of the StashDB tags that run left unmatched, most scenes first,
until their scene counts add up to REMATCH_SHARE of the scenes the report remembers.
Then the task runs as Stash runs it (bench/plugin_process.py: `tag_manager.py`, stdin
JSON, its own process):

* dry run (syncDryRun on): the task's 200-scene preview;
* live: every scene the report remembers is read fresh from Stash, planned with today's
  tags, and the matching ones written;
* Stash alone, in the same Stash: the same scenes get as many new (padding) tags each as
  the re-match gave them, in the same batches (40 of the report's scenes in the order
  the re-match reads them, each batch's writes one aliased bulkSceneUpdate ADD
  request); once as writes alone, once with each batch read by ids first
  (real_stash_bench.read_then_write);
* live again: nothing is left to add, so this is the reading and planning alone. It
  comes last so that the runs of Stash alone sit between two runs of the plugin on a
  shared machine.

No run may send StashDB a request: the simulator's request log is checked after each.
"""
from __future__ import annotations

import csv
import random
from pathlib import Path

from bench.plugin_process import REPO_ROOT, run_plugin_process
from bench.real_stash_bench import (
    REQUEST_TIMEOUT,
    Meter,
    process_peak_rss_mb,
    _stash_ids_of,
    _Tally,
    add_or_stop,
    probe_client,
    read_then_write,
)
from bench.real_stash_seed import padding_tags
from report_memory import choose_memory, read_memory
from stashdb_scene_sync import BATCH_SIZE
from tag_manager import MODE_REMATCH_SCENE_TAGS, plugin_report_dir
from tests.e2e.plugin_install import configure_plugin
from tests.e2e.stash_seed import create_tags
from tests.e2e.stash_server import RealStash

REMATCH_SHARE = 0.4    # unmatched tags are created until their scene counts reach this share
BOX_NAME = "StashDB"   # the stash-box entry that names the simulator in the bench's Stash

SCENES_WITH_TAGS = """
query BenchScenesWithTags($scene_filter: SceneFilterType, $filter: FindFilterType) {
  findScenes(scene_filter: $scene_filter, filter: $filter) { scenes { id tags { id } } }
}
"""


def measure_rematch(stash: RealStash, sim, library, stash_dir: Path, seed: int) -> dict:
    report_dir = plugin_report_dir({"Dir": str(stash_dir)})
    connection = {"Scheme": "http", "Host": "127.0.0.1", "Port": stash.port, "Dir": str(stash_dir),
                  "PluginDir": str(REPO_ROOT)}
    figures: dict = {}
    order = rematch_order(probe_client(stash), report_dir, sim.url)
    figures["scenes_remembered"] = len(order)
    figures["tags_created"], created = create_unmatched_tags(stash, report_dir, sim.url,
                                                             round(REMATCH_SHARE * len(order)))
    figures["stash_peak_rss_mb_before"] = round(process_peak_rss_mb(stash.pid), 1)
    for label, dry_run in (("dry_run", True), ("live", False)):
        figures[label] = run_rematch(stash, sim, connection, stash_dir, label, dry_run)
    gained = created_tags_per_scene(stash, created)
    figures["scenes_carrying_a_created_tag"] = len(gained)
    figures.update(stash_alone(stash, library, order, gained, seed))
    figures["live_again"] = run_rematch(stash, sim, connection, stash_dir, "live_again", False)
    live, alone = figures["live"]["wall_seconds"], figures["add_writes_alone"]["seconds"]
    figures["ratios"] = {
        "live_over_add_writes_alone": round(live / alone, 3),
        "live_over_reads_and_add_writes_alone": round(live / figures["reads_and_add_writes_alone"]["seconds"], 3),
        "live_less_live_again_over_add_writes_alone": round((live - figures["live_again"]["wall_seconds"]) / alone, 3),
    }
    return figures


def create_unmatched_tags(stash: RealStash, report_dir: Path, endpoint: str, target: int) -> tuple[dict, list[str]]:
    """Local tags named as the report's most frequent unmatched StashDB tags, until their
    scene counts reach `target`; what was created and the new tags' ids."""
    folder = choose_memory(report_dir, endpoint).path   # the sync's report, the re-match's memory
    with open(folder / "unmatched_tags.csv", newline="", encoding="utf-8") as handle:
        ranked = [(row["stashdb_tag_name"], int(row["scenes"])) for row in csv.DictReader(handle)]
    chosen, total = [], 0
    for name, scenes in ranked:
        if total >= target:
            break
        chosen.append((name, scenes))
        total += scenes
    ids = create_tags(stash, [{"name": name} for name, _ in chosen])
    return {"tags": len(chosen), "scene_counts_in_report": total, "names": [name for name, _ in chosen]}, ids


def rematch_order(local, report_dir: Path, endpoint: str) -> list[str]:
    """The scenes the re-match reads, in its order (the sync's snapshot order, the report's
    scenes only)."""
    remembered = set(read_memory(choose_memory(report_dir, endpoint)).scene_ids)
    return [scene_id for scene_id in local.scene_ids_with_stash_id(endpoint) if scene_id in remembered]


def run_rematch(stash: RealStash, sim, connection: dict, stash_dir: Path, label: str, dry_run: bool) -> dict:
    """The task in its own process; its figures, Stash's CPU meanwhile, and the StashDB
    requests the simulator received (there must be none)."""
    configure_plugin(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": dry_run})
    requests_before = len(sim.request_log)
    with Meter(stash) as meter:
        measured = run_plugin_process(connection, stash_dir, label, {"mode": MODE_REMATCH_SCENE_TAGS})
    stashdb_requests = len(sim.request_log) - requests_before
    if measured.answer.get("error") or stashdb_requests:
        raise SystemExit(f"re-match {label}: {measured.answer.get('error')}; {stashdb_requests} StashDB requests")
    stats = measured.answer["output"]
    return {"wall_seconds": round(measured.wall_seconds, 2), "plugin_cpu_seconds": round(measured.cpu_seconds, 2),
            "plugin_peak_rss_mb": round(measured.peak_rss_mb, 1), "scenes_processed": stats["scenes_processed"],
            "scenes_updated": stats["outcomes"].get("updated"), "tags_added": stats["tags_added"],
            "tags_would_add": stats["tags_would_add"], "stashdb_requests": stashdb_requests,
            **{key: value for key, value in meter.figures().items() if key != "wall_seconds"},
            "stash_peak_rss_mb_after": round(process_peak_rss_mb(stash.pid), 1)}


def created_tags_per_scene(stash: RealStash, created: list[str]) -> dict[str, int]:
    """Every scene carrying one of the created tags (only the re-match can have added
    them), with how many of them it carries."""
    wanted = set(created)
    scenes = stash.graphql(SCENES_WITH_TAGS, {"scene_filter": {"tags": {"value": created, "modifier": "INCLUDES"}},
                                              "filter": {"per_page": -1}}, timeout=REQUEST_TIMEOUT)
    return {scene["id"]: len(wanted & {tag["id"] for tag in scene["tags"]})
            for scene in scenes["findScenes"]["scenes"]}


def stash_alone(stash: RealStash, library, order: list[str], gained: dict[str, int], seed: int) -> dict:
    """Stash's part of the re-match without the plugin: the same writes in the same
    batches, alone, then with each batch's reads."""
    local = probe_client(stash)
    padding = _stash_ids_of(stash, [tag.name for tag in padding_tags(library)])
    rng = random.Random(seed + 2)
    halves = (padding[:len(padding) // 2], padding[len(padding) // 2:])   # each probe adds tags new to the scene
    first, second = ({scene_id: rng.sample(half, count) for scene_id, count in gained.items()} for half in halves)
    batches = [[(scene_id, first[scene_id]) for scene_id in order[start:start + BATCH_SIZE] if scene_id in first]
               for start in range(0, len(order), BATCH_SIZE)]
    writes = _Tally(stash)
    with writes:
        for batch in filter(None, batches):
            add_or_stop(local, batch)
    both = _Tally(stash)
    with both:
        read_then_write(local, order, second)
    return {"add_writes_alone": {**writes.figures(len(gained)), "write_requests": sum(map(bool, batches)),
                                 "tags_added": sum(gained.values())},
            "reads_and_add_writes_alone": {**both.figures(len(gained)), "scenes_read": len(order)}}
