"""`python tag_manager.py` typed by a person: each mistake gets one line that names the fix.

The plugin runs as a subprocess from a scratch folder (so no .env of the repository is
read), against the simulators over real HTTP where a server is needed.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.simulators import generate_library, start_simulators

TAG_MANAGER = Path(__file__).resolve().parents[2] / "tag_manager.py"
STASH_KEY = "stash-key-for-the-command-line-test"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(args: list[str], cwd: Path, env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "TAGMANAGER"))}
    return subprocess.run([sys.executable, str(TAG_MANAGER), *args], cwd=cwd, env={**clean, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR " in f" {line} " or "Traceback" in line]


@pytest.fixture(scope="module")
def sims():
    with start_simulators(generate_library(5, seed=2), stash_api_key=STASH_KEY) as running:
        yield running


def test_no_command_prints_the_usage_and_exits_2(tmp_path):
    done = run([], tmp_path, {})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: tag_manager.py") and "STASH_URL" in done.stderr


def test_an_unreachable_stash_is_one_line_naming_stash_url_and_the_env_files(tmp_path):
    done = run(["sync", "--dry-run"], tmp_path, {})
    [line] = error_lines(done.stderr)
    assert done.returncode == 1 and "urllib3" not in done.stderr
    assert "Could not reach Stash at http://localhost:9999/graphql" in line
    assert "STASH_URL is not set, so http://localhost:9999 was tried" in line
    assert f"no .env file read (looked for {tmp_path / '.env'})" in line

    url = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / ".env").write_text(f"STASH_URL={url}\n")
    done = run(["sync", "--dry-run"], tmp_path, {})
    [line] = error_lines(done.stderr)
    assert f"Could not reach Stash at {url}/graphql" in line and f"STASH_URL is {url}" in line
    assert f".env files read: {tmp_path / '.env'}" in line


def test_a_rejected_stash_api_key_is_one_line(sims, tmp_path):
    done = run(["sync", "--dry-run"], tmp_path, {"STASH_URL": sims.stash_base_url,
                                                   "STASH_API_KEY": "not-the-key"})
    [line] = error_lines(done.stderr)
    assert done.returncode == 1 and "answered HTTP 401: it rejected the API key" in line
    assert "STASH_API_KEY is set" in line and "not-the-key" not in done.stderr


def test_endpoint_flag_and_stashdb_url_that_disagree_are_refused(sims, tmp_path):
    asked_before = len(sims.stashdb.request_log.entries())
    done = run(["sync", "--dry-run", "--endpoint", "FansDB"], tmp_path, sims.env())
    [line] = error_lines(done.stderr)
    assert done.returncode == 1 and "--endpoint 'FansDB' and STASHDB_URL" in line and "name different" in line
    assert len(sims.stashdb.request_log.entries()) == asked_before

    same = run(["sync", "--dry-run", "--endpoint", sims.stashdb.url + "/"], tmp_path, sims.env())
    assert same.returncode == 0 and error_lines(same.stderr) == []


def test_an_unreachable_stashdb_is_named_by_its_url(sims, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/graphql"
    done = run(["sync", "--dry-run"], tmp_path, {**sims.env(), "STASHDB_URL": url})
    lines = error_lines(done.stderr)
    assert done.returncode == 1 and len(lines) == 1
    assert f"StashDB at {url}: the API key check failed: connection failed" in lines[0]
    assert "TagManager" not in done.stderr
