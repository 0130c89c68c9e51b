"""Before anything else: can the Python that runs the plugin import what requirements.txt lists?

A first-time user often has Stash run a Python without `requests` or stashapp-tools. Rather
than a traceback, the task's log then says which package is missing and the exact command
that installs it into that Python. This module uses the standard library only (plugin_io is
standard library too), so it works exactly when those packages are absent; tag_manager.py
calls it before any module that imports them.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Sequence

PLUGIN_DIR = Path(__file__).resolve().parent
REQUIREMENTS_FILE = PLUGIN_DIR / "requirements.txt"
PYTHON_SETTING = "Settings > System > Application Paths > Python executable path"

# (module the plugin imports, the package in requirements.txt that provides it)
REQUIREMENTS: tuple[tuple[str, str], ...] = (
    ("requests", "requests"),
    ("stashapi.stashapp", "stashapp-tools"),
)
HOOK_REQUIREMENTS = REQUIREMENTS[:1]   # the tag-change hook talks to Stash with requests alone, when at all


@dataclass(frozen=True)
class RequirementsProblem:
    missing: tuple[str, ...] = ()   # packages not installed at all
    broken: str = ""                # installed, but importing it failed: which, and why


def requirements_problem(requirements: Sequence[tuple[str, str]] = REQUIREMENTS,
                         try_imports: bool = True) -> RequirementsProblem | None:
    """None when every requirement imports; else what is missing (or broken). Without
    `try_imports`, only whether each is installed (a hook that may not need it at all)."""
    missing = tuple(package for module, package in requirements if not _installed(module))
    if missing:
        return RequirementsProblem(missing=missing)
    for module, package in requirements if try_imports else ():
        try:
            importlib.import_module(module)
        except Exception as exc:  # noqa: BLE001 - any failure here is a broken install
            return RequirementsProblem(broken=f"{package} ({type(exc).__name__}: {exc})")
    return None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # the parent package is absent
        return False


def install_command(python: str, requirements_file: Path, windows: bool = os.name == "nt") -> str:
    """The command, ready to paste, that installs requirements.txt into `python`."""
    words = [python, "-m", "pip", "install", "-r", str(requirements_file)]
    return subprocess.list2cmdline(words) if windows else shlex.join(words)


def advice_lines(problem: RequirementsProblem, python: str = sys.executable,
                 requirements_file: Path = REQUIREMENTS_FILE) -> list[str]:
    """What the user reads: what is wrong, the command, and the setting that picks the Python."""
    if problem.missing:
        names = " and ".join(problem.missing)
        noun = "package" if len(problem.missing) == 1 else "packages"
        first = (f"tagManager cannot start: the Python {noun} {names} "
                 f"{'is' if len(problem.missing) == 1 else 'are'} not installed in the Python that runs it ({python}).")
    else:
        first = f"tagManager cannot start: {problem.broken} is installed in {python} but cannot be imported."
    return [
        first,
        f"Install the plugin's requirements into that Python: {install_command(python, requirements_file)}",
        f"Stash runs the Python named in {PYTHON_SETTING} (when empty, the first python3 or python on its PATH).",
        "If pip refuses with \"externally-managed-environment\" (Stash's Docker image and many Linux "
        "distributions), create a virtual environment, install requirements.txt into it, and set that "
        "setting to the environment's python; the README's \"Installing\" section has the steps.",
    ]


def report_requirements_problem(problem: RequirementsProblem, *, plugin_mode: bool,
                                stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> int:
    """Log the advice in the mode's format; in plugin mode also the one JSON answer. Exit code 1."""
    from plugin_io import (ConsoleLogHandler, SecretRedactor, StashLogHandler, configure_logging,
                           write_plugin_result)

    lines = advice_lines(problem)
    handler = StashLogHandler(stderr) if plugin_mode else ConsoleLogHandler(stderr)
    log = configure_logging(handler, SecretRedactor())
    for line in lines:
        log.error("%s", line)
    if plugin_mode:
        try:
            stdin.read()  # Stash writes its JSON and closes stdin; take it, though nothing in it is needed
        except (OSError, ValueError):
            pass
        write_plugin_result(stdout, None, "\n".join(lines), SecretRedactor())
    return 1
