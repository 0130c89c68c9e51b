"""The README's virtual-environment install, followed literally (Installing > "When pip refuses").

This tier downloads stashapp-tools and requests with pip (from PyPI, or whatever index pip
is configured with): it is not part of `python3 -m pytest`; .ci/run runs it. Everything
else it starts talks only to 127.0.0.1.

The Linux recipe, with `~/.stash` a scratch folder:
1. `python3 -m venv ~/.stash/tagManager-venv`
2. `~/.stash/tagManager-venv/bin/python -m pip install -r ~/.stash/plugins/tagManager/requirements.txt`
3. Stash's Python executable path = that python: here, the interpreter the plugin is run with,
   fed Stash's stdin JSON, against the simulators — a dry run.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugin_packaging.build_index import find_manifest, read_manifest, runtime_files
from tests.python_envs import venv_python
from tests.simulators import generate_library, start_simulators

REPO_ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_SECONDS = 600
RUN_TIMEOUT_SECONDS = 300


def install_plugin_files(plugin_dir: Path) -> None:
    """What a user gets in plugins/tagManager: the plugin's runtime files, no tests."""
    plugin_dir.mkdir(parents=True)
    for name in runtime_files(REPO_ROOT, read_manifest(find_manifest(REPO_ROOT))):
        shutil.copy2(REPO_ROOT / name, plugin_dir / name)


def run(command: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def run_plugin_as_stash_does(python: Path, plugin_dir: Path, stdin: dict, cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON"))}
    env["PYTHONPATH"] = str(plugin_dir.parent)  # Stash puts the plugins folder there
    return run([str(python), str(plugin_dir / "tag_manager.py")], RUN_TIMEOUT_SECONDS,
               input=json.dumps(stdin), cwd=cwd, env=env)


@pytest.fixture
def stash_home(tmp_path) -> Path:
    home = tmp_path / ".stash"
    install_plugin_files(home / "plugins" / "tagManager")
    return home


def test_the_readme_venv_recipe_gives_a_python_that_runs_the_task(stash_home, tmp_path):
    plugin_dir = stash_home / "plugins" / "tagManager"
    venv = stash_home / "tagManager-venv"
    python = venv_python(venv)
    stash_cwd = tmp_path / "stash-cwd"
    stash_cwd.mkdir()
    library = generate_library(150, seed=31)

    # 1. python3 -m venv ~/.stash/tagManager-venv
    created = run([sys.executable, "-m", "venv", str(venv)], PIP_TIMEOUT_SECONDS)
    assert created.returncode == 0, created.stderr
    pip_install = [str(python), "-m", "pip", "install", "-r", str(plugin_dir / "requirements.txt")]

    # The simulated stash-box is not on stashdb.org, so the setting names it, as a user's would.
    with start_simulators(library, plugin_settings={"tagManager": {"syncEndpoint": "StashDB"}}) as sims:
        stdin = {"server_connection": sims.server_connection(plugin_dir=str(plugin_dir), stash_dir=str(stash_home)),
                 "args": {"mode": "sync_scene_tags"}}

        # Before step 2 the task says what is missing and gives step 2's command.
        before = run_plugin_as_stash_does(python, plugin_dir, stdin, stash_cwd)
        assert before.returncode == 1
        assert shlex.join(pip_install) in json.loads(before.stdout)["error"]
        assert "Traceback" not in before.stderr

        # 2. <venv>/bin/python -m pip install -r <plugins>/tagManager/requirements.txt
        installed = run(pip_install, PIP_TIMEOUT_SECONDS)
        assert installed.returncode == 0, (installed.stdout + installed.stderr)[-4000:]
        where = run([str(python), "-c", "import requests, stashapi.stashapp as s; print(requests.__file__, s.__file__)"],
                    60)
        assert where.returncode == 0 and all(Path(p).is_relative_to(venv) for p in where.stdout.split()), where

        # 3. The venv's python runs the task as Stash would: a dry run (syncDryRun unset).
        dry = run_plugin_as_stash_does(python, plugin_dir, stdin, stash_cwd)
        writes = sims.stash.mutation_log.applied()

    assert dry.returncode == 0, dry.stderr[-4000:]
    assert dry.stdout.count("\n") == 1
    answer = json.loads(dry.stdout)
    summary, expected = answer["output"], library.expected_summary
    assert answer["error"] is None and summary["dry_run"] is True
    assert summary["scenes_total"] == expected.scenes_in_scope
    assert summary["scenes_processed"] == min(200, expected.scenes_in_scope)
    assert summary["outcomes"]["would_update"] > 0 and writes == []
    assert all(line[:1] == "\x01" for line in dry.stderr.splitlines())
    assert list((stash_home / "plugin_data" / "tagManager" / "reports").glob("*/summary.json"))
