"""The refresh against the full sync it replaces: server CPU, StashDB requests, wall time.

    python3 -m bench.refresh_vs_full --part stashbox      # the real stash-box, the tier's seed (2,200 local scenes)
    python3 -m bench.refresh_vs_full --part simulator --scenes 10000

`stashbox`: the stash-box tier's PostgreSQL and stash-box (127.0.0.1 only) seeded with
`generate_library(--scenes, seed 21, md5_only_share 0.25)`, the seed dated two days back on
the server (`scenes.updated_at`), so only the edits below count as changes. The plugin runs
as Stash runs it (`python tag_manager.py`, the Stash simulator holding the local side, the
plugin's own 2 requests/second), through a recording proxy that counts StashDB requests by
operation. A full live sync first (the memory); then for each share (5%, then 50%) of the
library's live StashDB scenes, each is edited on the server (an admin-approved scene edit
adding one tag), and the refresh runs, then the full sync over the same server state (its
report is the next share's memory). Server CPU is utime+stime of stash-box and of PostgreSQL
with its backends (bench/refresh_paging_cost.py's ServerCPU), before and after each run.

`simulator`: the same runs against the StashDB simulator (its scene times old, as StashDB's
are), for the shares given by --sim-shares: requests and wall time at the plugin's 2/s.

It prints a table and one JSON line; nothing is asserted.
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from bench.refresh_paging_cost import ServerCPU
from tests.simulators import generate_library
from tests.simulators.stash_sim import StashBoxConfig, StashSimulator
from tests.stashbox.postgres_server import DebianPostgres, find_postgres_bin_dir
from tests.stashbox.recording_proxy import RecordingProxy
from tests.stashbox.stashbox_binary import find_stashbox_binary, missing_parts_reason
from tests.stashbox.stashbox_changes import edit_scene_tags, live_state
from tests.stashbox.stashbox_seed import seed_library
from tests.stashbox.stashbox_server import RealStashBox
from tests.stashbox.test_plugin_against_stashbox import BOX_NAME, run_plugin

SYNC, REFRESH = "sync_scene_tags", "refresh_scene_tags"
SEED_AGE = "2 days"
SHARES = (0.05, 0.5)
LIVE = {"syncEndpoint": BOX_NAME, "syncDryRun": False}


def requests_by_kind(entries) -> dict[str, int]:
    return dict(Counter((entry.operation_name or "?").removeprefix("TagManager") for entry in entries))


def library_stashdb_ids(library) -> list[str]:
    """The live StashDB scenes the library's local scenes name, in a fixed order."""
    live = {scene.id for scene in library.stashdb_scenes if not scene.deleted}
    return sorted({scene.stash_id_for(library.endpoint) for scene in library.local_scenes} & live)


def chosen(ids: list[str], share: float, seed: int) -> list[str]:
    return random.Random(seed).sample(ids, round(share * len(ids)))


def measured_run(run: Callable[[], Any], entries: list, cpu: ServerCPU | None) -> dict[str, Any]:
    """Run once; its wall time, StashDB requests by kind, server CPU and the plugin's summary."""
    start, cpu_before, wall_start = len(entries), cpu.seconds() if cpu else None, time.monotonic()
    summary = run()
    sent = list(entries)[start:]
    figures = {"wall_s": round(time.monotonic() - wall_start, 1), "requests": requests_by_kind(sent),
               "requests_total": len(sent), "refreshed": "refresh" in summary,
               "refresh": summary.get("refresh")}
    if cpu:
        after = cpu.seconds()
        figures["cpu_s"] = {key: round(after[key] - cpu_before[key], 2) for key in after}
    return figures


# -- the real stash-box ---------------------------------------------------------------------

def edit_on_server(server: RealStashBox, scene_ids: list[str]) -> float:
    """Each scene gains one tag it lacks, by an admin-approved edit; the seconds it took."""
    started = time.monotonic()
    scene_tags, live_tags = live_state(server)
    every_tag = sorted(live_tags)
    for scene_id in scene_ids:
        extra = next(tag_id for tag_id in every_tag if tag_id not in scene_tags[scene_id])
        edit_scene_tags(server, scene_id, [*scene_tags[scene_id], extra])
    return time.monotonic() - started


def plugin_summary(stash: StashSimulator, work_dir: Path, mode: str) -> dict:
    run = run_plugin(stash, work_dir, LIVE, mode=mode)
    if run.code != 0 or run.result["error"] is not None:
        raise RuntimeError(f"{mode} failed: {run.stderr[-1500:]}")
    return run.summary


def stashbox_part(scenes: int, seed: int, shares: tuple[float, ...]) -> dict[str, Any]:
    reason = missing_parts_reason()
    if reason:
        raise SystemExit(reason)
    work_dir = Path(tempfile.mkdtemp(prefix="tagmanager-refresh-vs-full-"))
    try:
        with DebianPostgres(find_postgres_bin_dir()) as postgres, \
                RealStashBox(find_stashbox_binary(), work_dir / "box", postgres.url_for_stashbox()) as server:
            library = seed_library(server, generate_library(scenes, seed=seed, md5_only_share=0.25)).library
            postgres.run_sql("postgres", f"UPDATE scenes SET updated_at = updated_at - interval '{SEED_AGE}'")
            cpu = ServerCPU(server.pid, postgres.pid)
            with RecordingProxy(server.url) as proxy, StashSimulator(
                    library.local_tags, library.local_scenes, stash_boxes=[StashBoxConfig(proxy.url, server.api_key,
                                                                                          BOX_NAME)],
                    endpoint_aliases={library.endpoint: proxy.url}) as stash:
                plugin_dir = work_dir / "stash"
                plugin_dir.mkdir()
                run = lambda mode: measured_run(lambda: plugin_summary(stash, plugin_dir, mode), proxy.entries, cpu)
                result = {"local_scenes": scenes, "library_stashdb_scenes": len(library_stashdb_ids(library)),
                          "first_full": run(SYNC), "shares": []}
                for share in shares:
                    edited = chosen(library_stashdb_ids(library), share, seed)
                    edit_seconds = edit_on_server(server, edited)
                    result["shares"].append({"share": share, "edited": len(edited), "edit_s": round(edit_seconds, 1),
                                             "refresh": run(REFRESH), "full": run(SYNC)})
                return result
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


# -- the simulator ---------------------------------------------------------------------------

def simulator_part(scenes: int, seed: int, shares: tuple[float, ...]) -> dict[str, Any]:
    from tests.sim.test_resolving_against_simulators import SETTINGS, run as run_sim
    from tests.simulators.launch import start_simulators
    from tests.simulators.scene_changes import edit_scene_tags as edit_sim_scene

    library = generate_library(scenes, seed=seed)
    stash_dir = Path(tempfile.mkdtemp(prefix="tagmanager-refresh-vs-full-sim-"))
    settings = {**SETTINGS, "syncDryRun": False}

    def summary_of(mode: str) -> dict:
        code, answer, stderr = run_sim(sims, stash_dir, {"mode": mode}, settings)
        if code != 0 or answer.get("error") is not None:
            raise RuntimeError(f"{mode} failed: {stderr[-1500:]}")
        return answer["output"]

    try:
        with start_simulators(library) as sims:
            log = sims.stashdb.request_log
            run = lambda mode: measured_run(lambda: summary_of(mode), log, None)
            result = {"local_scenes": scenes, "library_stashdb_scenes": len(library_stashdb_ids(library)),
                      "first_full": run(SYNC), "shares": []}
            data = sims.stashdb.data
            extra = library.stashdb_tags[0].id
            for share in shares:
                edited = chosen(library_stashdb_ids(library), share, seed)
                for scene_id in edited:
                    tags = data.scene(scene_id).tag_ids
                    edit_sim_scene(data, sims.stashdb.scene_times, scene_id, (*tags, extra))
                result["shares"].append({"share": share, "edited": len(edited), "refresh": run(REFRESH)})
            return result
    finally:
        shutil.rmtree(stash_dir, ignore_errors=True)


# -- output -------------------------------------------------------------------------------------

def row(name: str, figures: dict) -> str:
    cpu = figures.get("cpu_s")
    cpu_text = f"{sum(cpu.values()):6.2f} s (box {cpu['stashbox']}, pg {cpu['postgres']})" if cpu else "-"
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(figures["requests"].items()))
    ran = "refresh" if figures["refreshed"] else "full sync"
    return f"  {name:22} ran {ran:9} wall {figures['wall_s']:7.1f} s  CPU {cpu_text}  requests {figures['requests_total']}: {kinds}"


def print_table(result: dict[str, Any]) -> None:
    print(f"{result['part']}: {result['local_scenes']} local scenes, {result['library_stashdb_scenes']} live StashDB "
          "scenes named by the library")
    print(row("first full sync", result["first_full"]))
    for share in result["shares"]:
        print(f" {share['share']:.0%} edited ({share['edited']} scenes)")
        print(row("refresh", share["refresh"]))
        if "full" in share:
            print(row("full sync, same state", share["full"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("stashbox", "simulator"), required=True)
    parser.add_argument("--scenes", type=int, default=2200, help="local scenes of the generated library")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--shares", type=float, nargs="+", default=list(SHARES),
                        help="shares of the library's StashDB scenes edited before each refresh")
    args = parser.parse_args()
    part = stashbox_part if args.part == "stashbox" else simulator_part
    result = {"part": args.part, **part(args.scenes, args.seed, tuple(args.shares))}
    print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
