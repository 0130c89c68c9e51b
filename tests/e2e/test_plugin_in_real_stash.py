"""The plugin inside a real Stash v0.30.1, run the way the Tasks page runs it.

Stash talks to two StashDB simulators over HTTP (one stash-box each, with an
API key): the main library's and the Stop test's. The plugin checkout is
installed into Stash's plugins folder; every run is `runPluginTask`, every
setting goes through `configurePlugin`, every check reads Stash back. For the
dry and live runs a small hook plugin records Stash's `Scene.Update.Post` calls.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from graphql import parse, validate

from plugin_info import PLUGIN_ID, USER_AGENT
from tests.e2e import plugin_install, stash_jobs, stash_seed
from tests.e2e.hook_recorder import HOOK_PLUGIN_ID, HookRecorder
from tests.e2e.plugin_install import SYNC_TASK_NAME, install_checkout, reload_plugins
from tests.e2e.stash_seed import STASH_CONFIGURATION, scene_tag_sets
from tests.e2e.stash_server import RealStash, StashBoxEntry
from tests.e2e.sync_library import ALIAS, LINKED, NAME, ScenePlan
from tests.e2e.sync_seeding import SeededLibrary, seed_main_library, seed_stop_library
from tests.e2e.task_runs import TaskRun, run_task, scenes_in_state
from tests.shared_schemas import require_stash_schema
from tests.simulators.stashdb_sim import StashDBSimulator

MAIN_BOX_NAME = "Simulated StashDB"
STOP_BOX_NAME = "Simulated StashDB (stop test)"
LIVE_RUN_REQUEST_DELAY_SECONDS = 0.5  # the simulator holds each request this long
STOP_SCENES = 400  # ten requests of 40 in pass 2
STOP_REQUEST_DELAY_SECONDS = 1.0
STOP_AT_PROGRESS = 0.15
QUIET_AFTER_STOP_SECONDS = 1.5


@pytest.mark.parametrize("operation", [
    *stash_jobs.ALL_OPERATIONS, *stash_seed.ALL_OPERATIONS, *plugin_install.ALL_OPERATIONS,
    stash_seed.aliased_create_document("tagCreate", "TagCreateInput", 3),
    stash_seed.aliased_create_document("sceneCreate", "SceneCreateInput", 3),
])
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


# -- fixtures: two simulators, one Stash with the plugin, the seeded library -----------

@pytest.fixture(scope="module")
def stop_stashdb(stashbox_api_key: str):
    with StashDBSimulator(api_key=stashbox_api_key) as sim:
        yield sim


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("library")


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, ffmpeg_tools: None, stashdb: StashDBSimulator, stop_stashdb: StashDBSimulator,
          stashbox_api_key: str, library_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    boxes = [StashBoxEntry(stashdb.url, stashbox_api_key, MAIN_BOX_NAME),
             StashBoxEntry(stop_stashdb.url, stashbox_api_key, STOP_BOX_NAME)]
    work_dir = tmp_path_factory.mktemp("stash-with-plugin")
    with RealStash(real_stash_binary, work_dir, stash_boxes=boxes, library_paths=[library_dir],
                   extra_config={"parallel_tasks": 4}) as server:
        install_checkout(server.plugins_dir)
        yield server


@pytest.fixture(scope="module")
def loaded_plugins(stash: RealStash) -> list[dict]:
    plugins = reload_plugins(stash)
    assert [plugin["id"] for plugin in plugins] == [PLUGIN_ID], f"Stash did not load the plugin; see {stash.log_file}"
    return plugins


@pytest.fixture(scope="module")
def library(stash: RealStash, loaded_plugins: list[dict], stashdb: StashDBSimulator,
            library_dir: Path) -> SeededLibrary:
    seeded = seed_main_library(stash, stashdb, library_dir)
    assert scene_tag_sets(stash) == seeded.initial_tags()
    return seeded


@pytest.fixture(scope="module")
def hook_recorder(stash: RealStash, library: SeededLibrary) -> HookRecorder:
    """Loaded once the library is seeded, so only the plugin's runs are recorded."""
    recorder = HookRecorder.install(stash.plugins_dir)
    assert sorted(plugin["id"] for plugin in reload_plugins(stash)) == sorted([PLUGIN_ID, HOOK_PLUGIN_ID])
    return recorder


@pytest.fixture(scope="module")
def dry_run(stash: RealStash, library: SeededLibrary, hook_recorder: HookRecorder) -> TaskRun:
    # syncDryRun never set: absent means dry run.
    return run_task(stash, {"syncEndpoint": MAIN_BOX_NAME}, hooks=hook_recorder)


@pytest.fixture(scope="module")
def live_run(stash: RealStash, stashdb: StashDBSimulator, library: SeededLibrary, dry_run: TaskRun,
             hook_recorder: HookRecorder) -> TaskRun:
    # StashDB answers slowly enough for each pass to be seen in the job's progress.
    stashdb.add_fault("hang", seconds=LIVE_RUN_REQUEST_DELAY_SECONDS)
    try:
        return run_task(stash, {"syncEndpoint": MAIN_BOX_NAME, "syncDryRun": False}, hooks=hook_recorder)
    finally:
        stashdb.clear_faults()


# -- the plugin as Stash sees it ----------------------------------------------------------

def test_stash_lists_the_plugin_its_task_and_settings(loaded_plugins: list[dict]) -> None:
    (plugin,) = loaded_plugins
    assert plugin["enabled"] is True
    assert SYNC_TASK_NAME in [task["name"] for task in plugin["tasks"]]
    settings = {setting["name"]: setting["type"] for setting in plugin["settings"]}
    assert settings["syncDryRun"] == "BOOLEAN"
    assert settings["syncEndpoint"] == "STRING"


def test_seeded_library_covers_every_path(library: SeededLibrary) -> None:
    gained = frozenset().union(*(plan.gains for plan in library.gaining()))
    for kind in (LINKED, NAME, ALIAS):
        kind_tag_ids = {library.tag_ids.by_stashdb_id[d.stashdb.id] for d in library.designs if d.kind == kind}
        assert gained & kind_tag_ids, f"no scene gains a tag matched by {kind}"
    assert len(library.gaining()) >= 25
    assert library.stale is not None and library.unknown is not None
    fingerprinted = [plan for plan in library.plans if plan.stashdb_scene.fingerprints]
    assert {fp.algorithm for plan in fingerprinted for fp in plan.stashdb_scene.fingerprints} == {"PHASH", "OSHASH"}


# -- dry run -----------------------------------------------------------------------------

def test_dry_run_finishes_and_changes_nothing(dry_run: TaskRun) -> None:
    assert dry_run.watch.final_status == "FINISHED", dry_run.watch.final
    assert dry_run.watch.final["error"] is None
    assert dry_run.after == dry_run.before


def test_dry_run_logs_what_each_scene_would_gain(dry_run: TaskRun, library: SeededLibrary) -> None:
    would = [line for line in dry_run.lines("info") if line.startswith("[DRY RUN] Scene ")]
    expected = sorted(f"[DRY RUN] Scene {plan.local_id} ({plan.title}): would add {len(plan.gains)} tags: ["
                      for plan in library.gaining())
    assert sorted(line[:line.index(": [") + 3] for line in would) == expected
    assert any(line.startswith("Summary (DRY RUN - nothing was written)") for line in dry_run.lines("info"))


def test_dry_run_fires_no_scene_update_hook(dry_run: TaskRun) -> None:
    assert dry_run.hook_calls == []


# -- live run ----------------------------------------------------------------------------

def test_live_run_adds_exactly_the_expected_tags(live_run: TaskRun, library: SeededLibrary) -> None:
    assert live_run.watch.final_status == "FINISHED", live_run.watch.final
    assert live_run.watch.final["error"] is None
    expected = library.expected_tags()
    wrong = {scene_id: {"missing": sorted(expected[scene_id] - tags), "extra": sorted(tags - expected[scene_id])}
             for scene_id, tags in live_run.after.items() if tags != expected[scene_id]}
    assert wrong == {}
    assert all(live_run.before[scene_id] <= tags for scene_id, tags in live_run.after.items())


def test_live_run_fires_scene_update_post_once_per_updated_scene(live_run: TaskRun, library: SeededLibrary) -> None:
    # Other plugins rely on this: each scene the sync changed, once; none it left alone.
    fired = Counter(str(call["id"]) for call in live_run.hook_calls)
    print(f"\nScene.Update.Post hook calls in the live run: {sum(fired.values())} for {len(fired)} scenes; "
          f"scenes updated: {len(library.gaining())} of {len(library.plans)}")
    assert fired == Counter(plan.local_id for plan in library.gaining())


def test_each_hook_call_carries_that_scenes_add_only_write(live_run: TaskRun, library: SeededLibrary) -> None:
    # bulkSceneUpdate runs the hook per scene with its own input: one id, mode ADD, the new tags.
    gains = {plan.local_id: plan.gains for plan in library.gaining()}
    assert live_run.hook_calls
    for call in live_run.hook_calls:
        scene_id = str(call["id"])
        assert call["type"] == "Scene.Update.Post"
        assert call["inputFields"] == ["ids", "tag_ids"]
        assert call["input"]["ids"] == [scene_id]
        assert call["input"]["tag_ids"]["mode"] == "ADD"
        assert frozenset(call["input"]["tag_ids"]["ids"]) == gains[scene_id]


def test_live_run_progress_moves(live_run: TaskRun) -> None:
    progress = live_run.watch.progress
    print(f"\nlive run: {live_run.watch.seconds:.1f}s, progress values seen: {sorted(set(progress))}")
    assert live_run.watch.intermediate_progress(), f"no progress between 0 and 1 seen: {progress}"
    assert progress == sorted(progress)
    # Not asserted: a final 1.0. Stash v0.30.1 forwards each progress line with a
    # non-blocking send on an unbuffered channel (pkg/logger/plugin.go handleStderrLine)
    # and stops reading it once the plugin has exited (internal/manager/task_plugin.go),
    # so any progress line, the last one included, can be dropped.


def test_live_run_logs_at_the_right_levels(live_run: TaskRun, library: SeededLibrary) -> None:
    info, warnings = live_run.lines("info"), live_run.lines("warning")
    assert any(line.startswith("Summary (live run) for ") for line in info)
    assert f"updated: {len(library.gaining())}" in info
    for plan in library.gaining():
        assert any(line.startswith(f"Scene {plan.local_id} ({plan.title}): added {len(plan.gains)} tags:")
                   for line in info), plan.label
    assert any(f"Scene {library.stale.local_id} ({library.stale.title})" in line and "deleted or merged" in line
               for line in warnings), warnings
    assert any(f"Scene {library.unknown.local_id} ({library.unknown.title})" in line
               and library.unknown.stashdb_scene.id in line for line in warnings), warnings
    assert live_run.lines("error") == []


def test_no_secret_reaches_the_logs(stash: RealStash, stashdb: StashDBSimulator, live_run: TaskRun,
                                    stashbox_api_key: str) -> None:
    plugin_requests = [entry for entry in stashdb.request_log if entry.user_agent == USER_AGENT]
    assert plugin_requests and all(entry.api_key == stashbox_api_key for entry in plugin_requests)
    configuration = stash.graphql(STASH_CONFIGURATION)["configuration"]
    assert configuration["general"]["apiKey"] == ""  # no credentials: no Stash API key, no session cookie
    for log_file in (stash.log_file, stash.paths.console_log):
        assert stashbox_api_key not in log_file.read_text(encoding="utf-8", errors="replace"), log_file


# -- Stop ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stop_library(stash: RealStash, stop_stashdb: StashDBSimulator, library: SeededLibrary,
                 live_run: TaskRun, hook_recorder: HookRecorder) -> list[ScenePlan]:
    # Unload the recorder first: each of the Stop test's hundreds of writes would start its Python.
    hook_recorder.uninstall()
    assert [plugin["id"] for plugin in reload_plugins(stash)] == [PLUGIN_ID]
    return seed_stop_library(stash, stop_stashdb, library, STOP_SCENES)


def test_stop_leaves_every_scene_whole_and_a_rerun_finishes(
        stash: RealStash, stop_stashdb: StashDBSimulator, stop_library: list[ScenePlan],
        library: SeededLibrary) -> None:
    settings = {"syncEndpoint": STOP_BOX_NAME, "syncDryRun": False}
    stop_stashdb.add_fault("hang", seconds=STOP_REQUEST_DELAY_SECONDS)
    stopped = run_task(stash, settings,
                       stop_when=lambda watch: any(p >= STOP_AT_PROGRESS for p in watch.progress))
    assert stopped.watch.final_status == "CANCELLED", stopped.watch.final
    time.sleep(QUIET_AFTER_STOP_SECONDS)
    assert scene_tag_sets(stash) == stopped.after, "scenes changed after the job was stopped"

    state = scenes_in_state(stop_library, stopped.after)
    print(f"\nStop after {stopped.watch.seconds:.1f}s: {len(state['updated'])} scenes updated, "
          f"{len(state['untouched'])} untouched, {len(state['other'])} otherwise")
    assert state["other"] == []
    assert state["updated"] and state["untouched"], state

    stop_stashdb.clear_faults()
    rerun = run_task(stash, settings)
    assert rerun.watch.final_status == "FINISHED", rerun.watch.final
    assert scenes_in_state(stop_library, rerun.after)["updated"] == [plan.local_id for plan in stop_library]
    main_scenes = library.expected_tags()
    assert {scene_id: rerun.after[scene_id] for scene_id in main_scenes} == main_scenes
