"""Start Stash jobs (plugin tasks, scans) and watch them, the way Stash's UI does.

A job's state comes from `findJob`: status READY, RUNNING, FINISHED, STOPPING,
CANCELLED or FAILED, and progress in 0..1 (Stash reports a plugin's
`\\x01p\\x02<fraction>` lines there). Every wait has a deadline.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from tests.e2e.stash_server import RealStash

RUN_PLUGIN_TASK = """
mutation E2ERunPluginTask($plugin_id: ID!, $task_name: String!, $args_map: Map) {
  runPluginTask(plugin_id: $plugin_id, task_name: $task_name, args_map: $args_map)
}
"""

FIND_JOB = """
query E2EFindJob($input: FindJobInput!) {
  findJob(input: $input) { id status progress error description }
}
"""

STOP_JOB = """
mutation E2EStopJob($job_id: ID!) {
  stopJob(job_id: $job_id)
}
"""

METADATA_SCAN = """
mutation E2EScan($input: ScanMetadataInput!) {
  metadataScan(input: $input)
}
"""

ALL_OPERATIONS = (RUN_PLUGIN_TASK, FIND_JOB, STOP_JOB, METADATA_SCAN)

DONE_STATUSES = frozenset({"FINISHED", "CANCELLED", "FAILED"})
POLL_SECONDS = 0.05


class JobTimeout(AssertionError):
    """A job did not end before its deadline."""


@dataclass
class JobWatch:
    """What was seen of one job while it ran."""

    job_id: str
    statuses: list[str] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    final: dict | None = None
    seconds: float = 0.0

    @property
    def final_status(self) -> str | None:
        return None if self.final is None else self.final["status"]

    def intermediate_progress(self) -> list[float]:
        """Progress values strictly between 0 and 1."""
        return [value for value in self.progress if 0.0 < value < 1.0]

    def record(self, job: dict) -> None:
        self.statuses.append(job["status"])
        if job.get("progress") is not None:
            self.progress.append(float(job["progress"]))


def find_job(stash: RealStash, job_id: str) -> dict | None:
    return stash.graphql(FIND_JOB, {"input": {"id": job_id}})["findJob"]


def watch_job(
    stash: RealStash,
    job_id: str,
    timeout: float,
    stop_when: Callable[[JobWatch], bool] | None = None,
) -> JobWatch:
    """Poll the job until it ends, or until `stop_when(watch)` is true; at most `timeout` s."""
    watch = JobWatch(job_id)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        job = find_job(stash, job_id)
        if job is None:
            raise AssertionError(f"Stash no longer knows job {job_id}")
        watch.record(job)
        if job["status"] in DONE_STATUSES:
            watch.final = job
            break
        if stop_when is not None and stop_when(watch):
            break
        time.sleep(POLL_SECONDS)
    else:
        raise JobTimeout(f"job {job_id} still {watch.statuses[-1:]} after {timeout:.0f}s")
    watch.seconds = time.monotonic() - started
    return watch


def run_plugin_task(stash: RealStash, plugin_id: str, task_name: str, args_map: dict | None = None) -> str:
    """Start a plugin task as the Tasks page's button does (with `args_map` over the task's
    defaultArgs, as the page's targeted runs send); returns the job id."""
    variables = {"plugin_id": plugin_id, "task_name": task_name, "args_map": args_map}
    return str(stash.graphql(RUN_PLUGIN_TASK, variables)["runPluginTask"])


def stop_job(stash: RealStash, job_id: str) -> None:
    assert stash.graphql(STOP_JOB, {"job_id": job_id})["stopJob"] is True


def scan(stash: RealStash, paths: list[str], generate_phashes: bool, timeout: float) -> JobWatch:
    """Scan library folders and wait for the scan to end."""
    variables = {"input": {"paths": paths, "scanGeneratePhashes": generate_phashes}}
    job_id = str(stash.graphql(METADATA_SCAN, variables)["metadataScan"])
    watch = watch_job(stash, job_id, timeout)
    assert watch.final_status == "FINISHED", f"scan of {paths} ended {watch.final}"
    return watch
