"""A long run against a Stash with a password: the plugin's session cookie expires mid-run.

Stash hands a raw plugin no API key, only a session cookie made when the task starts
(pkg/session/plugin.go MakePluginCookie), signed with a timestamp and refused once it is
older than `max_session_age` (pkg/session/session.go NewStore; default one hour). From
then on every GraphQL request answers 401. With no API key in Stash's configuration the
plugin has nothing to switch to, so it must

* warn at start, when its estimated run time exceeds the session age, with a line that
  says "session" and "API key";
* stop at once on the first 401, exit code 1, with ONE error line naming the session,
  "Settings > Security" and "API key", instead of failing scene after scene.

This Stash has a username and password (set through configureGeneral as Settings >
Security does: Stash stores the bcrypt hash), `max_session_age` of a few seconds, no API
key, and a library that takes far longer than that at 2 StashDB requests a second. The
test's own client logs in through /login and logs in again whenever its cookie expires;
it never generates an API key, because the plugin would switch to it.

Stash is given a `python` that runs this interpreter and writes down each exit code, so
the plugin's exit code is checked as well as what Stash shows.
"""
from __future__ import annotations

import csv
import secrets
import shlex
import sys
from pathlib import Path

import pytest
from graphql import parse, validate

from plugin_info import PLUGIN_ID
from stash_local import MAX_WRITES_PER_REQUEST
from tests.e2e.plugin_install import install_checkout, reload_plugins
from tests.e2e.stash_seed import STASH_CONFIGURATION
from tests.e2e.stash_server import CONFIGURE_CREDENTIALS, RealStash, StashBoxEntry
from tests.e2e.sync_library import ScenePlan, plan_scene
from tests.e2e.sync_seeding import create_planned_scenes, publish_to_stashdb, seed_tags
from tests.e2e.task_runs import TaskRun, run_task, scenes_in_state
from tests.shared_schemas import require_stash_schema
from tests.simulators.stashdb_sim import StashDBSimulator

BOX_NAME = "Simulated StashDB (session expiry)"
SESSION_AGE_SECONDS = 8  # the plugin starts in about a second: several batches are written first
# File-less scenes are asked by StashDB id, 40 to a request, 2 requests a second at most:
# 1,600 scenes need 40 requests, at least 20 s, well past the session.
SCENES = 1600
# At most the write and the read in flight when the cookie expired may fail: two batches.
MAX_FAILED_SCENES = 2 * MAX_WRITES_PER_REQUEST
EXIT_STOPPED = 1
REPORTS = Path("plugin_data") / PLUGIN_ID / "reports"  # beside Stash's config (tag_manager.plugin_report_dir)


def test_credentials_mutation_is_valid_against_stash_schema() -> None:
    assert validate(require_stash_schema(), parse(CONFIGURE_CREDENTIALS)) == []


def exit_code_recording_python(folder: Path) -> tuple[Path, Path]:
    """A `python` for Stash's python_path: runs this interpreter, appends its exit code to a file."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper, codes = folder / "python", folder / "exit_codes"
    wrapper.write_text(f'#!/bin/sh\n{shlex.quote(sys.executable)} "$@"\ncode=$?\n'
                       f'echo "$code" >> {shlex.quote(str(codes))}\nexit "$code"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper, codes


@pytest.fixture(scope="module")
def python_exit_codes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return exit_code_recording_python(tmp_path_factory.mktemp("recording-python"))


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, stashdb: StashDBSimulator, stashbox_api_key: str,
          python_exit_codes: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory):
    python, _ = python_exit_codes
    box = StashBoxEntry(stashdb.url, stashbox_api_key, BOX_NAME)
    with RealStash(real_stash_binary, tmp_path_factory.mktemp("stash-with-password"), stash_boxes=[box],
                   python_path=str(python), extra_config={"max_session_age": SESSION_AGE_SECONDS}) as server:
        server.require_login("e2e-user", "e2e-" + secrets.token_hex(16))
        install_checkout(server.plugins_dir)
        assert [plugin["id"] for plugin in reload_plugins(server)] == [PLUGIN_ID]
        yield server


@pytest.fixture(scope="module")
def plans(stash: RealStash, stashdb: StashDBSimulator) -> list[ScenePlan]:
    designs, tag_ids = seed_tags(stash, stashdb.url)
    planned = [plan_scene(f"session {n:04d}", n, designs, tag_ids, stashdb.url, stashdb.url) for n in range(SCENES)]
    create_planned_scenes(stash, planned)
    publish_to_stashdb(stashdb, designs, planned)
    return planned


@pytest.fixture(scope="module")
def session_run(stash: RealStash, plans: list[ScenePlan], python_exit_codes: tuple[Path, Path]) -> TaskRun:
    general = stash.graphql(STASH_CONFIGURATION)["configuration"]["general"]
    assert general["apiKey"] == "", "with an API key the plugin would not depend on its session cookie"
    _, codes = python_exit_codes
    codes.write_text("", encoding="utf-8")   # seeding tags ran the plugin's tag hooks: count the task's run only
    run = run_task(stash, {"syncEndpoint": BOX_NAME, "syncDryRun": False})
    state = scenes_in_state(plans, run.after)
    print(f"\nsession-expiry run: {run.watch.seconds:.1f}s; {len(state['updated'])} scenes updated, "
          f"{len(state['untouched'])} untouched, {len(state['other'])} otherwise; "
          f"plugin errors: {len(run.lines('error'))}")
    return run


def reported_outcomes(stash: RealStash) -> list[str]:
    """The outcome column of every scene row in the run's report."""
    folders = sorted((stash.paths.root / REPORTS).iterdir())
    assert len(folders) == 1, f"expected one report folder, found {folders}"
    with open(folders[0] / "scenes.csv", newline="", encoding="utf-8") as rows:
        return [row["outcome"] for row in csv.DictReader(rows)]


def test_long_run_without_api_key_warns_at_start(session_run: TaskRun) -> None:
    warned = [index for index, entry in enumerate(session_run.log)
              if entry.level == "warning" and "session" in entry.message.lower() and "API key" in entry.message]
    assert warned, f"no warning about the session and an API key among {session_run.lines('warning')[:5]}"
    first_update = next((index for index, entry in enumerate(session_run.log)
                         if entry.level == "info" and entry.message.startswith("Scene ")), len(session_run.log))
    assert warned[0] < first_update, "the warning must come before the run writes anything"


def test_expired_session_stops_the_run_with_one_error_line(
        session_run: TaskRun, plans: list[ScenePlan], python_exit_codes: tuple[Path, Path]) -> None:
    _, codes = python_exit_codes
    errors = session_run.lines("error")
    assert len(errors) == 1, f"{len(errors)} error lines, the first: {errors[:3]}"
    (error,) = errors
    assert "session" in error.lower() and "Settings > Security" in error and "API key" in error, error
    assert codes.read_text(encoding="utf-8").split() == [str(EXIT_STOPPED)]
    assert session_run.watch.final_status == "FINISHED", session_run.watch.final  # as for any plugin task
    assert scenes_in_state(plans, session_run.after)["untouched"], "the run was meant to outlast the session"


def test_scenes_updated_before_expiry_keep_their_tags(session_run: TaskRun, plans: list[ScenePlan]) -> None:
    state = scenes_in_state(plans, session_run.after)
    assert state["other"] == []
    assert state["updated"], "no scene was written before the session expired"
    assert all(session_run.before[scene_id] <= tags for scene_id, tags in session_run.after.items())


def test_expired_session_fails_few_scenes(stash: RealStash, session_run: TaskRun) -> None:
    failed = reported_outcomes(stash).count("error")
    assert failed <= MAX_FAILED_SCENES, f"{failed} scenes failed after the session expired"
