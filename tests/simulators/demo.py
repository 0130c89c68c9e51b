"""`python -m tests.simulators demo`: the task, run as Stash runs it, with no Stash needed.

Starts both simulators over a seeded library, then runs `tag_manager.py` twice the way
Stash's Plugin Tasks button does (stdin JSON, Stash's log protocol on stderr): first as
a new user would, with `syncDryRun` never set (a dry run), then with it switched off.
Shows the log as Stash's log page would, the summary, and where the report is.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .launch import start_simulators
from .library import generate_library

REPO_ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"t": "TRACE", "d": "DEBUG", "i": "INFO", "w": "WARN", "e": "ERROR"}


def run_demo(scenes: int, seed: int, output: Path, show_debug: bool = False) -> int:
    library = generate_library(scenes, seed)
    stash_dir = output / "stash-config"
    stash_dir.mkdir(parents=True, exist_ok=True)
    print(f"Demo library: {scenes} scenes, {len(library.local_tags)} local tags, "
          f"{len(library.stashdb_tags)} StashDB tags (seed {seed})")
    with start_simulators(library) as sims:
        print(f"Simulated Stash at {sims.stash.url}, simulated StashDB at {sims.stashdb.url}\n")
        code = 0
        for title, settings in (("1. syncDryRun never set: a dry run", {"syncEndpoint": "StashDB"}),
                                ("2. syncDryRun switched off: a live run", {"syncEndpoint": "StashDB",
                                                                            "syncDryRun": False})):
            print(f"=== {title}")
            sims.stash.set_plugin_settings("tagManager", settings)
            code = max(code, run_task_as_stash(sims, stash_dir, show_debug))
        expected = library.expected_summary
        wrong = [s for s, tags in sims.stash.tags_snapshot().items() if set(tags) != set(library.expected_tag_ids(s))]
        print(f"\nCheck against the library's own expectation: {expected.updated} scenes to update, "
              f"{expected.tags_added} tags to add; scenes not exactly as expected: {len(wrong)}")
    return code


def run_task_as_stash(sims, stash_dir: Path, show_debug: bool) -> int:
    stdin = {"server_connection": sims.server_connection(plugin_dir=str(REPO_ROOT), stash_dir=str(stash_dir)),
             "args": {"mode": "sync_scene_tags"}}
    process = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "tag_manager.py")], cwd=stash_dir, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    process.stdin.write(json.dumps(stdin))
    process.stdin.close()
    progress = ProgressEcho()
    for line in process.stderr:
        show_log_line(line.rstrip("\n"), show_debug, progress)
    output = process.stdout.read()
    code = process.wait()
    result = json.loads(output)
    print(f"--- plugin exit code {code}; its JSON answer's error: {result['error']}")
    print("--- its summary (the JSON 'output'):")
    print(json.dumps(result["output"], indent=2)[:4000])
    print()
    return code


class ProgressEcho:
    """Stash draws a progress bar; here a line at every further 25 %."""

    def __init__(self) -> None:
        self.next_quarter = 0.25

    def __call__(self, fraction: float) -> None:
        if fraction >= self.next_quarter:
            print(f"      (task progress {fraction:.0%})")
            while self.next_quarter <= fraction:
                self.next_quarter += 0.25


def show_log_line(line: str, show_debug: bool, progress: ProgressEcho) -> None:
    if len(line) >= 2 and line[0] == "\x01" and line[2:3] == "\x02":
        level, message = line[1], line[3:]
        if level == "p":
            progress(float(message))
            return
        if level in "td" and not show_debug:
            return
        print(f"{LEVELS.get(level, level):5} {message}")
    else:
        print(f"(unprefixed) {line}")
