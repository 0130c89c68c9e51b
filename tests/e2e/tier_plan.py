"""Which Stash binaries a real-Stash tier runs on, read from each binary's `--version`.

`python -m tests.e2e.tier_plan server|ui` prints the plan `.ci/run` follows, one
tab-separated line per binary the tier finds (stash_server.stash_binaries):

* `run <path> <version>`: v0.30.1 or later, the tier must run on it and pass;
* `skip <path> <why>`: older than v0.30.1, outside what the tiers support;
* `broken <path> <why>`: it did not say which Stash it is (it failed to run, or printed no
  Stash version), so nothing can be claimed for it and CI fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.stash_server import free_loopback_ports, loopback_proxy_environment, stash_binaries
from tests.e2e.stash_versions import MINIMUM_VERSION, StashVersion, UnreadableVersion, is_supported

VERSION_FLAG_TIMEOUT_SECONDS = 30.0


def version_flag_output(binary: Path) -> str:
    """What `<binary> --version` prints. Stash prints its version line and exits before it
    reads any config (cmd/stash/main.go); it runs in an empty folder, with no STASH_*
    variable and the proxy at a closed loopback port, like every Stash the tiers start."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STASH_")}
    environment.update(loopback_proxy_environment(free_loopback_ports(1)[0]))
    with tempfile.TemporaryDirectory(prefix="stash-version-") as empty_folder:
        finished = subprocess.run([str(binary), "--version"], cwd=empty_folder, env=environment,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=VERSION_FLAG_TIMEOUT_SECONDS)
    if finished.returncode != 0:
        raise UnreadableVersion(f"`{binary} --version` exited with code {finished.returncode}")
    return finished.stdout.strip()


def binary_version(binary: Path) -> StashVersion:
    """The version a Stash binary reports: the first word of its `--version` line
    (`v0.30.1 (b23b0267a) - Unofficial Build - <date>`; a develop build has no hash in
    brackets: `v0.30.1-19-gcf3489efd - Unofficial Build - <date>`)."""
    words = version_flag_output(binary).split()
    return StashVersion.parse(words[0] if words else "")


@dataclass(frozen=True)
class PlannedRun:
    """What a tier does with one binary: `run`, `skip` or `broken`, and the version or why."""

    verdict: str
    binary: Path
    detail: str

    def as_line(self) -> str:
        return f"{self.verdict}\t{self.binary}\t{self.detail}"


def plan_for(binary: Path) -> PlannedRun:
    try:
        version = binary_version(binary)
    except (UnreadableVersion, OSError, subprocess.TimeoutExpired) as problem:
        return PlannedRun("broken", binary, f"cannot tell which Stash this is: {problem}")
    if not is_supported(version):
        return PlannedRun("skip", binary, f"Stash {version} is older than {MINIMUM_VERSION}, "
                                          f"the oldest Stash the tiers support")
    return PlannedRun("run", binary, str(version))


def main(arguments: list[str]) -> int:
    if arguments not in (["server"], ["ui"]):
        print("usage: python -m tests.e2e.tier_plan server|ui", file=sys.stderr)
        return 2
    for binary in stash_binaries(with_ui=arguments == ["ui"]):
        print(plan_for(binary).as_line())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
