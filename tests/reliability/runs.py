"""Live plugin runs for the reliability tier: start one, let it finish or kill it, read it.

A run is `python -m tests.reliability.plugin_process` (the real `tag_manager.main()` with a
faster StashDB rate and shorter timeouts), fed Stash's stdin JSON for the simulators, with
its stdout and stderr going to files (a killed process leaves whatever it had written).
Times are `time.monotonic()` of this process, the clock the simulators' logs use too.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from tests.plugin_answer import PluginAnswer

REPO_ROOT = Path(__file__).resolve().parents[2]
LIVE_SETTINGS = {"syncEndpoint": "StashDB", "syncDryRun": False}
TEST_STASHDB_RATE = 40.0   # requests/second, so a 1,000-scene run takes seconds
TEST_TIMEOUT = 5.0         # seconds, both clients
RUN_TIME_LIMIT = 300.0


@dataclass
class FinishedRun(PluginAnswer):
    code: int
    stdout: str
    stderr_bytes: bytes
    started: float
    ended: float
    killed: bool = False

    @property
    def stderr(self) -> str:
        return self.stderr_bytes.decode("utf-8", errors="replace")



class PluginProcess:
    """One plugin process writing to files in `folder`."""

    def __init__(self, sims, folder: Path, *, settings: dict | None = None, name: str = "run",
                 args: dict | None = None, env: dict[str, str] | None = None):
        """`args`: the plugin's args (default: the sync task); `env`: more environment."""
        sims.stash.set_plugin_settings("tagManager", settings or LIVE_SETTINGS)
        folder.mkdir(parents=True, exist_ok=True)
        self.stdout_path, self.stderr_path = folder / f"{name}.stdout", folder / f"{name}.stderr"
        plugin_input = sims.plugin_input(args or {"mode": "sync_scene_tags"}, plugin_dir=str(REPO_ROOT))
        plugin_input["server_connection"]["Dir"] = str(folder)  # where the run's report goes
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.plugin_process"],
                stdin=subprocess.PIPE, stdout=stdout, stderr=stderr, cwd=REPO_ROOT, env={**plugin_env(), **(env or {})},
            )
        self.process.stdin.write(json.dumps(plugin_input).encode("utf-8"))
        self.process.stdin.close()
        self.killed_at: float | None = None

    def kill_at(self, moment: float) -> bool:
        """SIGKILL (what Stash's Stop does) at `moment`; False if the run had already ended."""
        time.sleep(max(0.0, moment - time.monotonic()))
        return self.kill_now()

    def kill_now(self) -> bool:
        if self.process.poll() is not None:
            return False
        self.killed_at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        return True

    def wait(self, timeout: float = RUN_TIME_LIMIT) -> FinishedRun:
        code = self.process.wait(timeout=timeout)
        ended = time.monotonic() if self.killed_at is None else self.killed_at
        return FinishedRun(code, self.stdout_path.read_text(encoding="utf-8", errors="replace"),
                           self.stderr_path.read_bytes(), self.started, ended, killed=self.killed_at is not None)


def plugin_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON"))}
    env["TAGMANAGER_TEST_STASHDB_RATE"] = str(TEST_STASHDB_RATE)
    env["TAGMANAGER_TEST_TIMEOUT"] = str(TEST_TIMEOUT)
    return env


def run_plugin(sims, folder: Path, *, settings: dict | None = None, name: str = "run") -> FinishedRun:
    return PluginProcess(sims, folder, settings=settings, name=name).wait()


def wait_for_quiet(sims, quiet: float = 0.5, limit: float = 30.0) -> None:
    """Wait until neither simulator has finished a request for `quiet` seconds.

    A killed client's last request is still answered (and a write still applied) by the
    server, as a real Stash does; `quiet` must exceed the longest simulated answer time.
    """
    deadline = time.monotonic() + limit
    counts = None
    while time.monotonic() < deadline:
        now = (len(sims.stash.request_log), len(sims.stashdb.request_log))
        if now == counts:
            return
        counts = now
        time.sleep(quiet)
    raise AssertionError(f"the simulators were still busy {limit:g} s after the run ended")


def stderr_lines_over(stderr_bytes: bytes, limit: int) -> list[int]:
    """Lengths (UTF-8 bytes, newline excluded) of the stderr lines of `limit` bytes or more."""
    return [len(line) for line in stderr_bytes.split(b"\n") if len(line) >= limit]
