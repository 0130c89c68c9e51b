"""One plugin run as Stash starts it — `tag_manager.py` in its own process, stdin JSON in, one
JSON answer out — with that process's wall time, CPU seconds and peak RSS.

A child inherits its parent's peak RSS through fork and exec (Linux keeps the old memory's
high-water mark in ru_maxrss), and a benchmark's own process is large: each plugin process
is therefore started by a small launcher, which reads its rusage from os.wait4.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    json.dump({"wall_seconds": time.perf_counter() - started, "maxrss_kb": usage.ru_maxrss,
               "cpu_seconds": usage.ru_utime + usage.ru_stime,
               "exit_code": os.waitstatus_to_exitcode(status)}, out)
"""


@dataclass
class Measured:
    label: str
    wall_seconds: float
    peak_rss_mb: float
    answer_bytes: int
    answer: dict
    cpu_seconds: float = 0.0


def run_plugin_process(connection: dict, cwd: Path, label: str, args: dict) -> Measured:
    """`tag_manager.py` fed {"server_connection": connection, "args": args}; its log (stderr)
    is dropped, its answer (stdout) decoded."""
    stdin = {"server_connection": connection, "args": args}
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as answered, \
            tempfile.NamedTemporaryFile(suffix=".json") as figures:
        given.write(json.dumps(stdin).encode("utf-8"))
        given.seek(0)
        subprocess.run([sys.executable, "-c", LAUNCHER, figures.name, sys.executable, str(REPO_ROOT / "tag_manager.py")],
                       stdin=given, stdout=answered, stderr=subprocess.DEVNULL, cwd=cwd, check=True)
        answered.seek(0)
        body = answered.read()
        measured = json.loads(Path(figures.name).read_text())
    return Measured(label, measured["wall_seconds"], measured["maxrss_kb"] / 1024, len(body), json.loads(body),
                    measured["cpu_seconds"])
