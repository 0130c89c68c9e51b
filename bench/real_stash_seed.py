"""Seed a real Stash v0.30.1 with a generated library, and keep the result for reuse.

    python3 -m bench.real_stash_seed --scenes 100000            # seed (or reuse) a snapshot
    python3 -m bench.real_stash_seed --scenes 2000 --compare    # time the three ways on 2,000

The library is tests/simulators/library.py's (the same generator, seed and shares as
bench/run_bench.py), plus padding tags so that Stash holds about 2,000 tags. Scenes need
files with fingerprints, or pass 1 has nothing to ask. Stash offers three ways in:

* a scan of real video files (files, ffprobe, oshash/md5/phash computed by Stash) — the
  way users' libraries fill, but 100,000 distinct video files would have to be made;
* GraphQL `sceneCreate` in aliased batches (tests/e2e/stash_seed.py) — fast, but Stash's
  API has no way to give a scene a file, so pass 1 would have no work at all;
* Stash's own full import (Settings > Tasks > Import, the `metadataImport` mutation) of
  a metadata folder in the layout its export writes: tags, files with fingerprints, and
  scenes naming their files, tags and StashIDs. Stash's importers create the same rows
  a scan creates (folders, files, video_files, fingerprints, scenes_files), each object
  in its own transaction, through its own repository code.

`--compare` measures all three on a small library; the import is the one used (see
bench/README.md for the figures). Nothing here writes Stash's database behind its back:
the snapshot is the database file of a stopped Stash, copied, and every benchmark run
starts a Stash on a fresh copy of it.

The StashIDs name the StashDB simulator by URL, so the snapshot fixes the simulator's
port (chosen free at seeding time, kept in the manifest); a run whose port is taken
says so and asks for a re-seed.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.stash_import import METADATA_IMPORT, import_exact_library, stash_id_documents, write_import_folder
from tests.e2e.stash_jobs import DONE_STATUSES, find_job, scan
from tests.e2e.stash_seed import create_scenes, create_tags
from tests.e2e.stash_server import RealStash, StashServerError, find_stash_binary, free_loopback_ports
from tests.simulators.library import Library, generate_library
from tests.simulators.records import LocalTag

FINGERPRINTS_UNKNOWN_SHARE = 0.24     # the same 30 % fallback share as bench/run_bench.py
TAG_TARGET = 2_000                    # local tags in Stash, padding included
DEFAULT_WORK_ROOT = Path("/tmp/tagmanager-bench")
IMPORT_TIMEOUT_SECONDS = 3 * 3600.0
START_TIMEOUT_SECONDS = 300.0         # a 100,000-scene database takes longer to open
LOG_LEVEL = "Info"                    # Stash's default; Debug logging would add to its cost

COUNTS_QUERY = """
query BenchCounts($scene_filter: SceneFilterType, $none: FindFilterType) {
  all: findScenes(filter: $none) { count }
  with_files: findScenes(scene_filter: $scene_filter, filter: $none) { count }
  findTags(filter: $none) { count }
}
"""


def load_average() -> list[float]:
    return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]


def wait_for_job(stash: RealStash, job_id: str, timeout: float, poll: float = 1.0) -> dict:
    """The job's final state; polled once a second, so that watching costs Stash nothing
    worth measuring (tests/e2e/stash_jobs.watch_job polls 20 times a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = find_job(stash, job_id)
        if job is None or job["status"] in DONE_STATUSES:
            return job or {"status": "GONE"}
        time.sleep(poll)
    raise SystemExit(f"job {job_id} did not end within {timeout:.0f} s")


def padding_tags(library: Library, target: int = TAG_TARGET) -> list[LocalTag]:
    """Personal tags no StashDB tag names, each with an alias, so that Stash holds `target`
    tags; they are never matched (the probes add them to scenes)."""
    first = len(library.local_tags) + 1
    return [LocalTag(number, f"Bench Shelf {number:04d}", None, (f"Shelf Alias {number:04d}",))
            for number in range(first, max(first, target + 1))]


def stash_config_extra() -> dict[str, Any]:
    return {"loglevel": LOG_LEVEL}


def bench_library(scenes: int, seed: int) -> Library:
    """The generated library with every phash cut to what Stash's import keeps, on both sides alike."""
    return import_exact_library(generate_library(scenes, seed, fallback_share=FINGERPRINTS_UNKNOWN_SHARE))


def write_bench_import_folder(library: Library, metadata: Path, endpoint: str) -> dict[str, int]:
    """Stash's import folder for the library (tests/e2e/stash_import.py), padding tags after its own."""
    return write_import_folder(library, metadata, endpoint, extra_tags=padding_tags(library))


# -- snapshots --------------------------------------------------------------------------

@dataclass(frozen=True)
class Snapshot:
    folder: Path

    @property
    def database(self) -> Path:
        return self.folder / "stash-go.sqlite"

    @property
    def manifest_file(self) -> Path:
        return self.folder / "manifest.json"

    def manifest(self) -> dict:
        return json.loads(self.manifest_file.read_text())

    def exists(self) -> bool:
        return self.database.is_file() and self.manifest_file.is_file()

    @property
    def stashdb_port(self) -> int:
        return int(self.manifest()["stashdb_port"])

    @property
    def endpoint(self) -> str:
        return self.manifest()["endpoint"]


def snapshot_for(work_root: Path, scenes: int, seed: int) -> Snapshot:
    return Snapshot(work_root / f"snapshot-{scenes}-seed{seed}")


def stashdb_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/graphql"


def start_stash_on(snapshot: Snapshot, work_dir: Path, binary: Path | None = None, **options: Any) -> RealStash:
    """A running Stash on a fresh copy of the snapshot's database (the caller stops it)."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    shutil.copyfile(snapshot.database, work_dir / "stash-go.sqlite")
    stash = RealStash(binary or _binary(), work_dir, startup_timeout=START_TIMEOUT_SECONDS,
                      extra_config=stash_config_extra(), **options)
    stash.start()
    return stash


def _binary() -> Path:
    binary = find_stash_binary()
    if binary is None:
        raise SystemExit("no Stash v0.30.1 binary (see tests/e2e/stash_binary.py for where it goes)")
    return binary


def counts(stash: RealStash) -> dict[str, int]:
    data = stash.graphql(COUNTS_QUERY, {"scene_filter": {"file_count": {"value": 0, "modifier": "GREATER_THAN"}},
                                        "none": {"per_page": 0}}, timeout=120)
    return {"scenes": data["all"]["count"], "scenes_with_files": data["with_files"]["count"],
            "tags": data["findTags"]["count"]}


def seed_snapshot(work_root: Path, scenes: int, seed: int, force: bool = False) -> Snapshot:
    """Import the library into a fresh Stash, stop it, keep its database and a manifest."""
    snapshot = snapshot_for(work_root, scenes, seed)
    if snapshot.exists() and not force:
        return snapshot
    port = free_loopback_ports(1)[0]
    endpoint = stashdb_url(port)
    library = bench_library(scenes, seed)
    work_dir = work_root / f"seeding-{scenes}"
    if work_dir.exists():
        shutil.rmtree(work_dir)
    load_before = load_average()
    started = time.perf_counter()
    written = write_bench_import_folder(library, work_dir / "metadata", endpoint)
    folder_seconds = time.perf_counter() - started
    stash = RealStash(_binary(), work_dir, startup_timeout=START_TIMEOUT_SECONDS, extra_config=stash_config_extra())
    stash.start()
    try:
        import_started = time.perf_counter()
        job_id = str(stash.graphql(METADATA_IMPORT)["metadataImport"])
        final = wait_for_job(stash, job_id, IMPORT_TIMEOUT_SECONDS)
        import_seconds = time.perf_counter() - import_started
        found = counts(stash)
    finally:
        stash.stop()
    if final["status"] != "FINISHED" or found["scenes"] != written["scenes"] or found["tags"] != written["tags"]:
        raise SystemExit(f"import incomplete: wrote {written}, Stash has {found} (job {final}); "
                         f"see {stash.log_file}")
    snapshot.folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work_dir / "stash-go.sqlite", snapshot.database)
    manifest = {"scenes": scenes, "seed": seed, "stashdb_port": port, "endpoint": endpoint,
                "written": written, "in_stash": found, "folder_seconds": round(folder_seconds, 1),
                "import_seconds": round(import_seconds, 1),
                "import_scenes_per_second": round(scenes / import_seconds, 1),
                "load_before": load_before, "load_after": load_average(),
                "database_mb": round(snapshot.database.stat().st_size / 1e6, 1)}
    snapshot.manifest_file.write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(work_dir)
    return snapshot


# -- the three ways, timed on a small library -------------------------------------------

def compare_methods(work_root: Path, scenes: int, seed: int, scan_clips: int) -> dict:
    """Seconds per scene for: import (with files), GraphQL sceneCreate (no files), scan."""
    library = bench_library(scenes, seed)
    endpoint = stashdb_url(free_loopback_ports(1)[0])
    figures: dict[str, Any] = {"scenes": scenes, "load_before": load_average()}

    work_dir = work_root / "compare-import"
    shutil.rmtree(work_dir, ignore_errors=True)
    started = time.perf_counter()
    written = write_bench_import_folder(library, work_dir / "metadata", endpoint)
    figures["import_folder_seconds"] = round(time.perf_counter() - started, 2)
    with RealStash(_binary(), work_dir, extra_config=stash_config_extra()) as stash:
        started = time.perf_counter()
        final = wait_for_job(stash, str(stash.graphql(METADATA_IMPORT)["metadataImport"]), IMPORT_TIMEOUT_SECONDS,
                             poll=0.05)
        seconds = time.perf_counter() - started
        figures["import"] = {"status": final["status"], "seconds": round(seconds, 2),
                             "scenes_per_second": round(written["scenes"] / seconds, 1), "in_stash": counts(stash),
                             "sample_phash": _sample_phashes(stash)}

    work_dir = work_root / "compare-graphql"
    shutil.rmtree(work_dir, ignore_errors=True)
    with RealStash(_binary(), work_dir, extra_config=stash_config_extra()) as stash:
        tags = list(library.local_tags) + padding_tags(library)
        started = time.perf_counter()
        create_tags(stash, [_tag_input(tag, endpoint) for tag in tags])
        tag_seconds = time.perf_counter() - started
        started = time.perf_counter()
        create_scenes(stash, [_scene_input(scene, endpoint) for scene in library.local_scenes])
        seconds = time.perf_counter() - started
        figures["graphql_scene_create"] = {"tag_seconds": round(tag_seconds, 2), "seconds": round(seconds, 2),
                                           "scenes_per_second": round(scenes / seconds, 1),
                                           "in_stash": counts(stash)}

    if scan_clips:
        from tests.e2e.video_library import make_videos

        work_dir = work_root / "compare-scan"
        shutil.rmtree(work_dir, ignore_errors=True)
        clips = work_dir / "library"
        started = time.perf_counter()
        make_videos(clips, scan_clips)
        make_seconds = time.perf_counter() - started
        with RealStash(_binary(), work_dir / "stash", library_paths=[clips],
                       extra_config=stash_config_extra()) as stash:
            started = time.perf_counter()
            scan(stash, [str(clips)], generate_phashes=False, timeout=3600)  # the scan's best case
            seconds = time.perf_counter() - started
            figures["scan"] = {"clips": scan_clips, "make_seconds": round(make_seconds, 2),
                               "scan_seconds": round(seconds, 2), "scenes_per_second": round(scan_clips / seconds, 1),
                               "in_stash": counts(stash)}
    figures["load_after"] = load_average()
    return figures


def _sample_phashes(stash: RealStash) -> list[str]:
    query = ("query BenchSample($f: FindFilterType) { findScenes(filter: $f) "
             "{ scenes { files { fingerprints { type value } } } } }")
    scenes = stash.graphql(query, {"f": {"per_page": 3, "sort": "id", "direction": "ASC"}})["findScenes"]["scenes"]
    return [fp["value"] for s in scenes for f in s["files"] for fp in f["fingerprints"] if fp["type"] == "phash"]


def _tag_input(tag: LocalTag, endpoint: str) -> dict:
    document: dict[str, Any] = {"name": tag.name, "aliases": list(tag.aliases)}
    if tag.sort_name:
        document["sort_name"] = tag.sort_name
    if tag.stash_ids:
        document["stash_ids"] = [{"endpoint": e["endpoint"], "stash_id": e["stash_id"]}
                                 for e in stash_id_documents(tag.stash_ids, endpoint)]
    return document


def _scene_input(scene, endpoint: str) -> dict:
    return {"title": scene.title, "tag_ids": [str(tag_id) for tag_id in scene.tag_ids],
            "stash_ids": [{"endpoint": e["endpoint"], "stash_id": e["stash_id"]}
                          for e in stash_id_documents(scene.stash_ids, endpoint)]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 -m bench.real_stash_seed")
    parser.add_argument("--scenes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-root", type=Path, default=DEFAULT_WORK_ROOT)
    parser.add_argument("--force", action="store_true", help="seed again even if the snapshot exists")
    parser.add_argument("--compare", action="store_true", help="time import, sceneCreate and scan instead")
    parser.add_argument("--scan-clips", type=int, default=100,
                        help="clips made and scanned by --compare (at most 110, the sources of "
                             "tests/e2e/video_library.py)")
    options = parser.parse_args()
    try:
        if options.compare:
            print(json.dumps(compare_methods(options.work_root, options.scenes, options.seed, options.scan_clips)))
        else:
            snapshot = seed_snapshot(options.work_root, options.scenes, options.seed, options.force)
            print(json.dumps({"snapshot": str(snapshot.folder), **snapshot.manifest()}))
    except StashServerError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
