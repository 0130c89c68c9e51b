"""Real virtual environments for tests that need a Python with (or without) some packages."""
from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

VENV_TIMEOUT = 120


def create_venv(folder: Path, *, with_pip: bool) -> Path:
    """`python3 -m venv` (optionally without pip): the new environment's python."""
    command = [sys.executable, "-m", "venv", str(folder)]
    if not with_pip:
        command.append("--without-pip")
    subprocess.run(command, check=True, capture_output=True, timeout=VENV_TIMEOUT)
    return venv_python(folder)


def venv_python(folder: Path) -> Path:
    if os.name == "nt":
        return folder / "Scripts" / "python.exe"
    return folder / "bin" / "python"


def site_packages(python: Path) -> Path:
    found = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           check=True, capture_output=True, text=True, timeout=VENV_TIMEOUT)
    return Path(found.stdout.strip())


def link_installed_distribution(name: str, python: Path) -> list[str]:
    """Install distribution `name` and what it requires (extras aside) into the environment of
    `python` by linking what the Python running the tests has installed: every top-level entry
    of each distribution's files, its .dist-info included. Needs the same Python version.

    Returns the names of the distributions linked.
    """
    target = site_packages(python)
    pending, linked = [name], []
    while pending:
        dist = importlib.metadata.distribution(pending.pop())
        dist_name = dist.metadata["Name"]
        if dist_name in linked:
            continue
        linked.append(dist_name)
        for entry in sorted({Path(str(f)).parts[0] for f in dist.files or ()} - {"..", "__pycache__"}):
            source = Path(str(dist.locate_file(entry)))
            if source.exists() and not (target / entry).exists():
                (target / entry).symlink_to(source, target_is_directory=source.is_dir())
        for requirement in dist.requires or ():
            if "extra ==" not in requirement:
                pending.append(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))
    return linked
