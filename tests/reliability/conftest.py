"""Shared fixtures of the reliability tier: the plugin as its own process, the run's
secrets, and the figures table printed at the end of the session."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests.reliability.figures import FigureTable
from tests.simulators.launch import RunningSimulators, start_simulators
from tests.simulators.library import Library
from tests.plugin_answer import PluginAnswer

REPO_ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT_SECONDS = 240  # a run still going after this did not end on its own
SECRET_WINDOW = 16        # a leak of any 16 consecutive characters of a secret counts
FIGURES_KEY = pytest.StashKey[FigureTable]()


@dataclass(frozen=True)
class Secrets:
    """Distinctive credential values: any of them in an output is a leak."""

    stash_api_key: str = "stash-apikey-3f9c1a7e5d2b8046c1e9a7f3d5b20c84"
    stashdb_api_key: str = "stashdb-apikey-8b2e4d6f0a1c3e5a7b9d1f2e4c6a8b0d"
    session_cookie: str = "session-cookie-c0ffee5a1d9b7e3f2a4c6e8b0d1f3a5c"

    def values(self) -> tuple[str, ...]:
        return self.stash_api_key, self.stashdb_api_key, self.session_cookie


SECRETS = Secrets()


def start_simulators_with_secrets(library: Library) -> RunningSimulators:
    """Both simulators; Stash has an API key (also its configuration's apiKey), a session
    cookie, and the StashDB key as its stash-box key; the plugin is set to a live run."""
    sims = start_simulators(library, stash_api_key=SECRETS.stash_api_key,
                            stashdb_api_key=SECRETS.stashdb_api_key, session_cookie=SECRETS.session_cookie)
    sims.stash.set_plugin_settings("tagManager", {"syncEndpoint": "StashDB", "syncDryRun": False})
    return sims


@dataclass
class PluginRun(PluginAnswer):
    code: int | None  # None: still running at the time limit, and killed
    stdout: str
    stderr: str
    cwd: Path
    seconds: float

    @property
    def ended_on_its_own(self) -> bool:
        return self.code is not None


    def lines(self, level: str) -> list[str]:
        """stderr lines of one Stash log level (e, w, i, d, p), prefix removed."""
        prefix = f"\x01{level}\x02"
        return [line[len(prefix):] for line in self.stderr.splitlines() if line.startswith(prefix)]

    def secret_leaks(self, secrets: tuple[str, ...] = SECRETS.values()) -> list[str]:
        """Where any part of a secret shows: stdout, stderr, the error text, files in cwd."""
        texts = {"stdout": self.stdout, "stderr": self.stderr}
        try:
            texts["error field"] = str(self.result.get("error"))
        except ValueError:
            pass  # stdout is not the JSON object: the protocol tests say so
        for path in sorted(p for p in self.cwd.rglob("*") if p.is_file()):
            texts[str(path.relative_to(self.cwd))] = path.read_text(encoding="utf-8", errors="replace")
        windows = {secret[i:i + SECRET_WINDOW] for secret in secrets
                   for i in range(len(secret) - SECRET_WINDOW + 1)}
        return [f"{where}: {window!r}" for where, text in texts.items() for window in sorted(windows) if window in text]


def run_plugin_process(sims: RunningSimulators, cwd: Path, *, timeout: float = 10.0,
                       stashdb_rate: float = 40.0, outage_seconds: float | None = None) -> PluginRun:
    """The real entry point in its own process, fed Stash's stdin JSON, in `cwd`.
    `outage_seconds`: a shorter outage window than the real 2 minutes."""
    cwd.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON", "TAGMANAGER_TEST"))}
    env.update(PYTHONPATH=str(REPO_ROOT), TAGMANAGER_TEST_STASHDB_RATE=str(stashdb_rate),
               TAGMANAGER_TEST_TIMEOUT=str(timeout))
    if outage_seconds is not None:
        env["TAGMANAGER_TEST_OUTAGE_SECONDS"] = str(outage_seconds)
    stdin = json.dumps(sims.plugin_input({"mode": "sync_scene_tags"}))
    started = time.monotonic()
    try:
        process = subprocess.run([sys.executable, "-m", "tests.reliability.plugin_process"], input=stdin,
                                 capture_output=True, text=True, cwd=cwd, env=env,
                                 timeout=TIME_LIMIT_SECONDS, check=False)
    except subprocess.TimeoutExpired as expired:
        return PluginRun(None, _text(expired.stdout), _text(expired.stderr), cwd, time.monotonic() - started)
    return PluginRun(process.returncode, process.stdout, process.stderr, cwd, time.monotonic() - started)


def _text(output: bytes | str | None) -> str:
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output or ""


# -- figures --------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES_KEY] = FigureTable()


@pytest.fixture(scope="session")
def reliability_figures(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[FigureTable]:
    """The session's figures; written to <pytest tmp>/reliability-figures.json at the end."""
    table = request.config.stash[FIGURES_KEY]
    yield table
    if table:
        table.write_json(tmp_path_factory.getbasetemp() / "reliability-figures.json")


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    table = config.stash.get(FIGURES_KEY, None)
    if not table:
        return
    terminalreporter.write_sep("=", "reliability figures (markdown)")
    for line in table.markdown().splitlines():
        terminalreporter.write_line(line)
    if table.json_path is not None:
        terminalreporter.write_line(f"\nJSON: {table.json_path}")
