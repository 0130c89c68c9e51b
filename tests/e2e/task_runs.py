"""Run the plugin's sync task in a real Stash the way the Tasks page does, and read back.

`run_task` saves the settings (`configurePlugin`), starts the task (`runPluginTask`),
watches the job until it ends (or stops it when asked), then collects what the run
left: every scene's tags before and after, the plugin's log lines, and the
`Scene.Update.Post` hook calls recorded meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from plugin_info import PLUGIN_ID
from tests.e2e.hook_recorder import HookRecorder
from tests.e2e.plugin_install import SYNC_TASK_NAME, configure_plugin
from tests.e2e.stash_jobs import JobWatch, run_plugin_task, stop_job, watch_job
from tests.e2e.stash_log import LogEntry, log_size, plugin_entries, wait_for_message
from tests.e2e.stash_seed import scene_tag_sets
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import ScenePlan

RUN_TIMEOUT_SECONDS = 120.0
LOG_WAIT_SECONDS = 10.0


@dataclass
class TaskRun:
    watch: JobWatch
    before: dict[str, frozenset[str]]
    after: dict[str, frozenset[str]]
    log: list[LogEntry]  # the plugin's lines during the run
    hook_calls: list[dict] = field(default_factory=list)  # recorded during the run, when recording

    def lines(self, level: str | None = None) -> list[str]:
        return [entry.message for entry in self.log if level is None or entry.level == level]


def run_task(stash: RealStash, settings: dict, stop_when: Callable[[JobWatch], bool] | None = None,
             hooks: HookRecorder | None = None, args_map: dict | None = None,
             timeout: float = RUN_TIMEOUT_SECONDS, task_name: str = SYNC_TASK_NAME) -> TaskRun:
    """configurePlugin, runPluginTask (the sync task unless named, with `args_map` when given),
    watch the job (optionally stopping it) for at most `timeout` seconds, read back."""
    configure_plugin(stash, settings)
    before = scene_tag_sets(stash)
    offset = log_size(stash.log_file)
    first_hook_call = hooks.call_count() if hooks else 0
    job_id = run_plugin_task(stash, PLUGIN_ID, task_name, args_map)
    watch = watch_job(stash, job_id, timeout, stop_when)
    if watch.final is None:  # stop_when fired
        stop_job(stash, job_id)
        stopped = watch_job(stash, job_id, RUN_TIMEOUT_SECONDS)
        watch.statuses += stopped.statuses
        watch.final = stopped.final
    # Stash logs "finished" once the plugin's stdout is read and it has exited (also after a
    # kill); its stderr lines are logged by another goroutine, so wait for them to settle.
    entries = wait_for_message(stash.log_file, offset, f"Plugin {PLUGIN_ID} finished", LOG_WAIT_SECONDS)
    # Stash runs Scene.Update.Post hooks inside the write request, so they are all done.
    return TaskRun(watch, before, scene_tag_sets(stash), plugin_entries(entries, PLUGIN_ID),
                   hooks.calls(first_hook_call) if hooks else [])


def scenes_in_state(plans: list[ScenePlan], tags: dict[str, frozenset[str]]) -> dict[str, list[str]]:
    """The planned scenes by state: `untouched` (initial tags), `updated` (exactly the
    expected tags) or `other` (anything else: a partial write, a lost tag)."""
    state: dict[str, list[str]] = {"untouched": [], "updated": [], "other": []}
    for plan in plans:
        current = tags[plan.local_id]
        kind = ("untouched" if current == plan.initial_tag_ids
                else "updated" if current == plan.expected_tag_ids else "other")
        state[kind].append(plan.local_id)
    return state
