"""Run tests/integration_test_sync.py as its own pytest process, against the servers named.

The environment holds exactly the integration keys given (every other key of
integration_rules.KEYS set empty, which wins over any .env file) and HOME is a scratch
folder, so no ~/code/.env is read. Used where the integration test is pointed at servers
a tier started: the simulators (tests/sim) and the real Stash and stash-box
(tests/stashbox).
"""
from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from tests.integration_rules import KEYS, REPO_ROOT

INTEGRATION_FILE = REPO_ROOT / "tests" / "integration_test_sync.py"
INTEGRATION_TIMEOUT_SECONDS = 600


def run_integration_test(tmp_path: Path, settings: dict[str, str], *pytest_args: str) -> tuple[int, dict, str]:
    """Exit code, {test name: passed | skipped | failed}, and the output."""
    env = {key: value for key, value in os.environ.items() if key not in KEYS and not key.startswith("PYTEST")}
    env.update({key: "" for key in KEYS})
    env.update(settings)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env["HOME"] = str(home)
    junit = tmp_path / "integration.xml"
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
         f"--basetemp={tmp_path / 'basetemp'}", str(INTEGRATION_FILE), *pytest_args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=INTEGRATION_TIMEOUT_SECONDS, check=False)
    outcomes = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        outcomes[case.get("name")] = ("failed" if kinds & {"failure", "error"} else
                                      "skipped" if "skipped" in kinds else "passed")
    return process.returncode, outcomes, process.stdout + process.stderr
