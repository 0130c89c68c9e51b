"""The README's two commands: `python3 dev.py demo` and `python3 dev.py test [pytest args]`.

Both run inside a virtual environment kept in this folder (`.venv`, ignored by git), made
and filled from requirements-dev.txt on first use and again whenever a requirements file
changes. Nothing is installed into the Python that runs this file, so it works where that
Python refuses pip (PEP 668: Debian's and Ubuntu's python3) as well as on a plain one.

Standard library only: this runs before any requirement is installed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENT_FILES = (ROOT / "requirements.txt", ROOT / "requirements-dev.txt")
STAMP = VENV / "tagmanager-requirements.sha256"
COMMANDS = {
    "demo": ["-m", "tests.simulators", "demo"],
    "test": ["-m", "pytest"],
}
USAGE = ("usage: python3 dev.py demo | test [pytest arguments]\n"
         "  demo  runs the sync task against the bundled demo servers (no Stash needed)\n"
         "  test  runs the test suite (python3 dev.py test tests/reliability for a slower tier)")


class SetupError(Exception):
    """The virtual environment could not be made or filled; the text says what to do."""


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_quietly(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def make_venv() -> None:
    """A venv with its own pip; where this Python has no ensurepip (Debian without
    python3-venv), one that borrows the system's pip to install into itself."""
    made = run_quietly([sys.executable, "-m", "venv", str(VENV)])
    if made.returncode == 0:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    borrowed = run_quietly([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(VENV)])
    if borrowed.returncode == 0 and run_quietly([str(venv_python()), "-m", "pip", "--version"]).returncode == 0:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    raise SetupError(f"{sys.executable} cannot make a virtual environment with pip in it "
                     f"({(made.stderr or made.stdout).strip().splitlines()[-1:] or ['no reason given']}). "
                     "On Debian or Ubuntu: sudo apt install python3-venv")


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for path in REQUIREMENT_FILES:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv() -> Path:
    """The venv's python, with requirements-dev.txt installed as the files now say."""
    if not venv_python().exists():
        print(f"dev.py: making a virtual environment in {VENV}", file=sys.stderr)
        make_venv()
    wanted = requirements_digest()
    if not STAMP.is_file() or STAMP.read_text(encoding="utf-8").strip() != wanted:
        print("dev.py: installing requirements-dev.txt into it", file=sys.stderr)
        install = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                   "-r", str(ROOT / "requirements-dev.txt")]
        if subprocess.run(install, cwd=ROOT, check=False).returncode != 0:
            raise SetupError("pip could not install requirements-dev.txt into .venv (its message is above)")
        STAMP.write_text(wanted + "\n", encoding="utf-8")
    return venv_python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        python = ensure_venv()
    except SetupError as exc:
        print(f"dev.py: {exc}", file=sys.stderr)
        return 1
    return subprocess.run([str(python), *COMMANDS[argv[0]], *argv[1:]], cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
