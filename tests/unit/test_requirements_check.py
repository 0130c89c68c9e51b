"""A Python without requests or stashapp-tools: the user is told what to install, and where.

The subprocess tests run tag_manager.py with the interpreter of a real virtual environment
that lacks the package, fed Stash's stdin JSON, and read what Stash would read.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from requirements_check import (
    PYTHON_SETTING,
    RequirementsProblem,
    advice_lines,
    install_command,
    requirements_problem,
)
from tests.python_envs import create_venv, link_installed_distribution

REPO_ROOT = Path(__file__).resolve().parents[2]
STASH_PREFIX = re.compile(r"^\x01[tdiwep]\x02")
STASH_STDIN = {
    "server_connection": {"Scheme": "http", "Host": "0.0.0.0", "Port": 9999, "Dir": "/nonexistent-stash-dir",
                          "PluginDir": str(REPO_ROOT), "SessionCookie": {"Name": "session", "Value": "c00k1e-value"}},
    "args": {"mode": "sync_scene_tags"},
}


# -- the rule and the words, in process ----------------------------------------------------

def test_an_absent_module_and_an_absent_parent_package_are_missing():
    problem = requirements_problem((("json", "json"), ("tm_absent_module_1", "absent-one"),
                                    ("tm_absent_parent.stashapp", "absent-two")))
    assert problem == RequirementsProblem(missing=("absent-one", "absent-two"))


def test_an_installed_module_that_fails_to_import_is_broken(tmp_path, monkeypatch):
    (tmp_path / "tm_broken_module.py").write_text("import tm_its_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    problem = requirements_problem((("json", "json"), ("tm_broken_module", "broken-package")))
    assert problem is not None and problem.missing == ()
    assert problem.broken.startswith("broken-package (ModuleNotFoundError: ")
    assert "tm_its_missing_dependency" in problem.broken


def test_without_imports_only_absence_is_a_problem(tmp_path, monkeypatch):
    (tmp_path / "tm_broken_module_2.py").write_text("import tm_its_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert requirements_problem((("tm_broken_module_2", "broken-package"),), try_imports=False) is None
    assert requirements_problem((("tm_absent_module_3", "absent"),), try_imports=False) == RequirementsProblem(
        missing=("absent",))


def test_nothing_to_report_when_everything_imports():
    assert requirements_problem((("json", "json"), ("email.utils", "email"))) is None
    assert requirements_problem() is None  # the Python running the tests has requirements-dev.txt


def test_the_install_command_is_ready_to_paste_on_posix_and_windows():
    posix = install_command("/opt/stash venv/bin/python", Path("/root/.stash/plugins/tagManager/requirements.txt"),
                            windows=False)
    assert posix == "'/opt/stash venv/bin/python' -m pip install -r /root/.stash/plugins/tagManager/requirements.txt"
    assert shlex.split(posix)[0] == "/opt/stash venv/bin/python"
    windows = install_command(r"C:\Program Files\Python312\python.exe", Path("C:/stash/plugins/tagManager/requirements.txt"),
                              windows=True)
    assert windows.startswith('"C:\\Program Files\\Python312\\python.exe" -m pip install -r ')


def test_the_advice_names_the_package_the_command_and_the_setting():
    lines = advice_lines(RequirementsProblem(missing=("stashapp-tools",)), python="/usr/bin/python3",
                         requirements_file=Path("/p/tagManager/requirements.txt"))
    assert "package stashapp-tools is not installed in the Python that runs it (/usr/bin/python3)" in lines[0]
    assert lines[1].endswith(": /usr/bin/python3 -m pip install -r /p/tagManager/requirements.txt")
    assert any("Settings > System > Application Paths > Python executable path" in line for line in lines)
    assert any("externally-managed-environment" in line for line in lines)
    broken = advice_lines(RequirementsProblem(broken="requests (ImportError: x)"), python="/py")
    assert broken[0] == "tagManager cannot start: requests (ImportError: x) is installed in /py but cannot be imported."


# -- the plugin run, as Stash runs it, with a Python that lacks the packages ---------------

@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment with nothing installed (not even pip)."""
    return create_venv(tmp_path_factory.mktemp("venv") / "bare", with_pip=False)


@pytest.fixture(scope="module")
def python_with_requests_only(tmp_path_factory) -> Path:
    python = create_venv(tmp_path_factory.mktemp("venv") / "no-stashapi", with_pip=False)
    assert "requests" in link_installed_distribution("requests", python)
    return python


def run_tag_manager(python: Path, argv=(), stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(REPO_ROOT.parent), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([str(python), str(REPO_ROOT / "tag_manager.py"), *argv], input=stdin,
                          capture_output=True, text=True, env=env, cwd=cwd or REPO_ROOT.parent, timeout=60)


def expected_command(python: Path) -> str:
    return shlex.join([str(python), "-m", "pip", "install", "-r", str(REPO_ROOT / "requirements.txt")])


def assert_told_in_stash_protocol(run: subprocess.CompletedProcess, python: Path, missing: str, present: str | None):
    assert run.returncode == 1
    assert run.stdout.count("\n") == 1
    answer = json.loads(run.stdout)
    assert answer["output"] is None
    error = answer["error"]
    lines = run.stderr.splitlines()
    assert lines and all(line.startswith("\x01e\x02") for line in lines), run.stderr
    log = "\n".join(line[3:] for line in lines)
    for text in (error, log):
        assert f" {missing} " in text.splitlines()[0]
        assert expected_command(python) in text
        assert PYTHON_SETTING in text
        if present:
            assert present not in text.splitlines()[0]
    assert "Traceback" not in run.stderr + run.stdout
    assert "c00k1e-value" not in run.stderr + run.stdout


def test_without_requests_the_task_log_says_what_to_install_and_where(bare_python):
    run = run_tag_manager(bare_python, stdin=json.dumps(STASH_STDIN))
    assert_told_in_stash_protocol(run, bare_python, "requests", present=None)
    assert "stashapp-tools" in json.loads(run.stdout)["error"].splitlines()[0]


def test_without_stashapp_tools_the_task_log_names_only_that_package(python_with_requests_only):
    probe = subprocess.run([str(python_with_requests_only), "-c", "import requests"], capture_output=True, timeout=60)
    assert probe.returncode == 0, probe.stderr  # requests really is importable there
    run = run_tag_manager(python_with_requests_only, stdin=json.dumps(STASH_STDIN))
    assert_told_in_stash_protocol(run, python_with_requests_only, "stashapp-tools", present="requests")


def test_the_command_line_says_the_same_without_a_traceback(bare_python, tmp_path):
    run = run_tag_manager(bare_python, argv=("sync", "--dry-run"), cwd=tmp_path)
    assert run.returncode == 1 and run.stdout == ""
    assert "ERROR" in run.stderr and expected_command(bare_python) in run.stderr
    assert "Traceback" not in run.stderr
    assert not any(STASH_PREFIX.match(line) for line in run.stderr.splitlines())
    assert not (tmp_path / "tagManager-reports").exists()

