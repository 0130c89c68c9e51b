"""The README's first two commands, `python3 dev.py demo` and `python3 dev.py test`, as a
new user runs them: in a fresh copy of the repository, with no ../shared, on the Python this
suite runs on and on the system's own python3 where that one refuses pip (PEP 668).

Like the rest of this tier it lets pip download the requirements (into the copy's .venv).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STOCK_PYTHON = Path("/usr/bin/python3")
TIMEOUT_SECONDS = 900


def externally_managed(python: Path) -> bool:
    probe = ("import sys, sysconfig, pathlib; "
             "sys.exit(0 if (pathlib.Path(sysconfig.get_path('stdlib')) / 'EXTERNALLY-MANAGED').exists() else 1)")
    return python.is_file() and subprocess.run([str(python), "-c", probe], check=False).returncode == 0


def pythons() -> list:
    found = [pytest.param(Path(sys.executable), id="this-python")]
    if externally_managed(STOCK_PYTHON):
        found.append(pytest.param(STOCK_PYTHON, id="stock-externally-managed"))
    return found


def fresh_copy(target: Path) -> Path:
    """The repository's tracked files as a clone has them (plus dev.py as it is now)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (REPO_ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, target / name)
    shutil.copy2(REPO_ROOT / "dev.py", target / "dev.py")
    return target


def user_environment(tmp_path: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "VIRTUAL_ENV", "STASH", "TAGMANAGER"))}
    env["TAGMANAGER_SHARED_DIR"] = str(tmp_path / "no-shared")   # a user who clones has no ../shared
    return env


@pytest.mark.parametrize("python", pythons())
def test_the_demo_command_works_on_a_fresh_copy(python, tmp_path):
    clone = fresh_copy(tmp_path / "tagManager")
    done = subprocess.run([str(python), "dev.py", "demo"], cwd=clone, env=user_environment(tmp_path),
                          capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "scenes not exactly as expected: 0" in done.stdout
    assert (clone / ".venv").is_dir()
    ignored = subprocess.run(["git", "check-ignore", "-q", ".venv/"], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 0, ".venv must be ignored by git"


def test_no_command_prints_the_usage_and_exits_2_without_installing(tmp_path):
    clone = fresh_copy(tmp_path / "tagManager")
    done = subprocess.run([sys.executable, "dev.py"], cwd=clone, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "usage: python3 dev.py demo | test" in done.stderr
    assert not (clone / ".venv").exists()
