"""Install tagManager into a real Stash v0.30.1 through its plugin manager, then run it.

The package is built from this checkout (`plugin_packaging.build_index`) and served on
127.0.0.1 (`plugin_packaging.serve_source`). A fresh Stash, whose plugins folder starts
empty, gets the source added as the Settings > Plugins page adds it, lists what the
source offers, installs tagManager from it and reloads its plugins. The installed copy
then runs its dry-run task against the StashDB simulator, so the zip is shown to be a
working plugin, not only files.

Stash v0.30.1 facts this relies on: the install job ends FINISHED even when a package
fails (internal/manager/task/packages.go logs "Error installing package ..." instead), so
the checks read the disk, `installedPackages` and `plugins`; the zip's entries are
written to `<plugins>/<source local_path>/<id>/` beside a `manifest` record of the files
(pkg/pkg/manager.go, pkg/pkg/store.go); plugins are reloaded when the job completes
(internal/api/resolver_mutation_package.go).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from graphql import parse, validate

from plugin_info import PLUGIN_ID, USER_AGENT
from plugin_packaging.build_index import NOT_RUNTIME_MODULES, BuiltPackage, build_package, find_manifest, read_manifest
from plugin_packaging.serve_source import PluginSource
from tests.e2e.plugin_install import LIST_PLUGINS, REPO_ROOT, SYNC_TASK_NAME, configure_plugin
from tests.e2e.stash_jobs import JobWatch, run_plugin_task, watch_job
from tests.e2e.stash_log import LogEntry, log_size, plugin_entries, wait_for_message
from tests.e2e.stash_seed import scene_tag_sets
from tests.e2e.stash_server import RealStash, StashBoxEntry
from tests.e2e.sync_library import ScenePlan, plan_scene
from tests.e2e.sync_seeding import create_planned_scenes, publish_to_stashdb, seed_tags
from tests.shared_schemas import require_stash_schema
from tests.simulators.stashdb_sim import StashDBSimulator

PACKAGE_DATE = "2025-06-07 08:09:10"
PACKAGE_DATE_AS_TIMESTAMP = "2025-06-07T08:09:10Z"
SOURCE_NAME = "tagManager (local build)"
SOURCE_LOCAL_PATH = "tagmanager-local"
STASH_PACKAGE_RECORD = "manifest"  # pkg.ManifestFile: Stash's record of an installed package
FULL_REPORT_TASK_NAME = "Sync Scene Tags from StashDB (full dry run report)"
REMATCH_TASK_NAME = "Re-match scenes from the last sync (no StashDB requests)"
REFRESH_TASK_NAME = "Refresh scene tags from StashDB (changes since the last sync)"
BOX_NAME = "Simulated StashDB (plugin manager test)"
SEEDED_SCENES = 3
INSTALL_TIMEOUT_SECONDS = 60.0
RUN_TIMEOUT_SECONDS = 120.0
LOG_WAIT_SECONDS = 10.0

PLUGIN_SOURCES = """
query E2EPluginSources {
  configuration { general { pluginPackageSources { name url local_path } } }
}
"""

SET_PLUGIN_SOURCES = """
mutation E2ESetPluginSources($sources: [PackageSourceInput!]!) {
  configureGeneral(input: {pluginPackageSources: $sources}) { pluginPackageSources { name url local_path } }
}
"""

AVAILABLE_PLUGINS = """
query E2EAvailablePlugins($source: String!) {
  availablePackages(type: Plugin, source: $source) {
    package_id name version date sourceURL metadata requires { package_id }
  }
}
"""

INSTALL_PLUGINS = """
mutation E2EInstallPlugins($packages: [PackageSpecInput!]!) {
  installPackages(type: Plugin, packages: $packages)
}
"""

INSTALLED_PLUGINS = """
query E2EInstalledPlugins {
  installedPackages(type: Plugin) { package_id name version date sourceURL metadata }
}
"""

ALL_OPERATIONS = (PLUGIN_SOURCES, SET_PLUGIN_SOURCES, AVAILABLE_PLUGINS, INSTALL_PLUGINS, INSTALLED_PLUGINS)


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


# -- fixtures: the built package, its source, a fresh Stash, the install ----------------

@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> BuiltPackage:
    return build_package(REPO_ROOT, tmp_path_factory.mktemp("plugin-dist"), date=PACKAGE_DATE)


@pytest.fixture(scope="module")
def source(package: BuiltPackage):
    with PluginSource(package.index_path.parent) as served:
        yield served


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, stashdb: StashDBSimulator, stashbox_api_key: str,
          tmp_path_factory: pytest.TempPathFactory):
    box = StashBoxEntry(stashdb.url, stashbox_api_key, BOX_NAME)
    with RealStash(real_stash_binary, tmp_path_factory.mktemp("stash-plugin-manager"), stash_boxes=[box]) as server:
        assert list(server.plugins_dir.iterdir()) == [], "the fresh Stash must start without plugins"
        yield server


@pytest.fixture(scope="module")
def saved_sources(stash: RealStash, source: PluginSource) -> list[dict]:
    """Add the local source after whatever sources Stash has; returns what Stash saved."""
    existing = stash.graphql(PLUGIN_SOURCES)["configuration"]["general"]["pluginPackageSources"] or []
    ours = {"name": SOURCE_NAME, "url": source.index_url, "local_path": SOURCE_LOCAL_PATH}
    saved = stash.graphql(SET_PLUGIN_SOURCES, {"sources": [*existing, ours]})
    return saved["configureGeneral"]["pluginPackageSources"]


@pytest.fixture(scope="module")
def available(stash: RealStash, source: PluginSource, saved_sources: list[dict]) -> list[dict]:
    return stash.graphql(AVAILABLE_PLUGINS, {"source": source.index_url})["availablePackages"]


@dataclass
class Install:
    watch: JobWatch
    log: list[LogEntry]  # Stash's log lines from the mutation on


@pytest.fixture(scope="module")
def install(stash: RealStash, source: PluginSource, available: list[dict]) -> Install:
    offset = log_size(stash.log_file)
    packages = [{"id": PLUGIN_ID, "sourceURL": source.index_url}]
    job_id = str(stash.graphql(INSTALL_PLUGINS, {"packages": packages})["installPackages"])
    watch = watch_job(stash, job_id, INSTALL_TIMEOUT_SECONDS)
    entries = wait_for_message(stash.log_file, offset, "Finished installing packages", LOG_WAIT_SECONDS)
    return Install(watch, entries)


@pytest.fixture(scope="module")
def install_dir(stash: RealStash, install: Install) -> Path:
    return stash.plugins_dir / SOURCE_LOCAL_PATH / PLUGIN_ID


@pytest.fixture(scope="module")
def listed_plugins(stash: RealStash, install: Install) -> list[dict]:
    return stash.graphql(LIST_PLUGINS)["plugins"] or []


def checkout_manifest():
    return read_manifest(find_manifest(REPO_ROOT))


# -- the source and what it offers ----------------------------------------------------------

def test_stash_saves_the_local_source(saved_sources: list[dict], source: PluginSource) -> None:
    assert {"name": SOURCE_NAME, "url": source.index_url, "local_path": SOURCE_LOCAL_PATH} in saved_sources


def test_available_packages_lists_the_build(available: list[dict], source: PluginSource) -> None:
    manifest = checkout_manifest()
    (offered,) = available
    assert offered["package_id"] == PLUGIN_ID
    assert offered["name"] == manifest.name
    assert offered["version"] == manifest.version
    assert offered["date"] == PACKAGE_DATE_AS_TIMESTAMP
    assert offered["sourceURL"] == source.index_url
    assert offered["metadata"] == {"description": manifest.description}
    assert offered["requires"] == []


# -- the install ------------------------------------------------------------------------

def test_install_job_finishes_without_an_error_logged(install: Install) -> None:
    assert install.watch.final_status == "FINISHED", install.watch.final
    assert install.watch.final["error"] is None
    errors = [entry.message for entry in install.log if entry.level == "error"]
    assert errors == []


def installed_files(install_dir: Path) -> list[str]:
    """Every file Stash's installer put there (sub-folders included), as the zip names it."""
    return sorted(path.relative_to(install_dir).as_posix() for path in install_dir.rglob("*")
                  if path.is_file() and path.name != STASH_PACKAGE_RECORD)


def test_every_packaged_file_is_on_disk_as_in_the_checkout(install_dir: Path, package: BuiltPackage) -> None:
    modules = sorted(path.name for path in REPO_ROOT.glob("*.py") if path.name not in NOT_RUNTIME_MODULES)
    assert set(modules) | {find_manifest(REPO_ROOT).name} <= set(package.zipped_files)
    on_disk = installed_files(install_dir)
    assert on_disk == sorted(package.zipped_files)
    changed = [name for name in on_disk if (install_dir / name).read_bytes() != (REPO_ROOT / name).read_bytes()]
    assert changed == []


def test_stash_records_the_installed_package(install_dir: Path, source: PluginSource) -> None:
    record = yaml.safe_load((install_dir / STASH_PACKAGE_RECORD).read_text(encoding="utf-8"))
    assert record["id"] == PLUGIN_ID
    assert record["version"] == checkout_manifest().version
    assert record["source_repository"] == source.index_url
    assert sorted(record["files"]) == installed_files(install_dir)


def test_installed_packages_lists_it(stash: RealStash, install: Install, source: PluginSource) -> None:
    installed = stash.graphql(INSTALLED_PLUGINS)["installedPackages"]
    assert [(p["package_id"], p["version"], p["sourceURL"]) for p in installed] == [
        (PLUGIN_ID, checkout_manifest().version, source.index_url)]
    assert installed[0]["date"] == PACKAGE_DATE_AS_TIMESTAMP


def test_stash_loads_the_installed_plugin_with_its_tasks_and_settings(listed_plugins: list[dict]) -> None:
    (plugin,) = listed_plugins
    assert plugin["id"] == PLUGIN_ID
    assert plugin["version"] == checkout_manifest().version
    assert plugin["enabled"] is True
    assert [task["name"] for task in plugin["tasks"]] == [SYNC_TASK_NAME, FULL_REPORT_TASK_NAME, REMATCH_TASK_NAME,
                                                                 REFRESH_TASK_NAME]
    assert [(hook["name"], hook["hooks"]) for hook in plugin["hooks"]] == [
        ("Follow tag changes", ["Tag.Create.Post", "Tag.Update.Post", "Tag.Merge.Post"])]
    settings = {setting["name"]: setting["type"] for setting in plugin["settings"]}
    assert settings == {"syncDryRun": "BOOLEAN", "syncEndpoint": "STRING", "syncCreateMissing": "BOOLEAN",
                        "syncSkipOrganized": "BOOLEAN", "syncFollowTagChanges": "BOOLEAN"}


# -- the installed copy runs -------------------------------------------------------------

@dataclass
class DryRun:
    plans: list[ScenePlan]
    watch: JobWatch
    before: dict[str, frozenset[str]]
    after: dict[str, frozenset[str]]
    info_lines: list[str]
    errors: list[str]  # every error-level line Stash logged during the run


def seed_scenes(stash: RealStash, stashdb: StashDBSimulator) -> list[ScenePlan]:
    """The designed tags, and a few file-less scenes whose StashDB scenes the simulator has."""
    designs, tag_ids = seed_tags(stash, stashdb.url)
    plans = [plan_scene(f"installed {n}", n, designs, tag_ids, stashdb.url, stashdb.url)
             for n in range(SEEDED_SCENES)]
    create_planned_scenes(stash, plans)
    publish_to_stashdb(stashdb, designs, plans)
    return plans


@pytest.fixture(scope="module")
def dry_run(stash: RealStash, stashdb: StashDBSimulator, listed_plugins: list[dict]) -> DryRun:
    assert [plugin["id"] for plugin in listed_plugins] == [PLUGIN_ID], "the installed plugin did not load"
    plans = seed_scenes(stash, stashdb)
    configure_plugin(stash, {"syncEndpoint": BOX_NAME})  # syncDryRun never set: a dry run
    before = scene_tag_sets(stash)
    offset = log_size(stash.log_file)
    watch = watch_job(stash, run_plugin_task(stash, PLUGIN_ID, SYNC_TASK_NAME), RUN_TIMEOUT_SECONDS)
    entries = wait_for_message(stash.log_file, offset, f"Plugin {PLUGIN_ID} finished", LOG_WAIT_SECONDS)
    info = [entry.message for entry in plugin_entries(entries, PLUGIN_ID) if entry.level == "info"]
    errors = [entry.message for entry in entries if entry.level == "error"]
    return DryRun(plans, watch, before, scene_tag_sets(stash), info, errors)


def test_installed_plugin_dry_run_finishes_cleanly_and_changes_nothing(dry_run: DryRun) -> None:
    assert dry_run.watch.final_status == "FINISHED", dry_run.watch.final
    assert dry_run.watch.final["error"] is None
    # A plugin task's job ends FINISHED even when the plugin crashes: Stash only logs
    # "Plugin returned error: ..." (internal/manager/task_plugin.go), so read the log too.
    assert dry_run.errors == []
    assert dry_run.after == dry_run.before


def test_installed_plugin_logs_what_each_scene_would_gain(dry_run: DryRun) -> None:
    gaining = [plan for plan in dry_run.plans if plan.gains]
    assert gaining, "the seeded scenes must gain tags"
    would = sorted(line[:line.index(": [") + 3] for line in dry_run.info_lines if line.startswith("[DRY RUN] Scene "))
    assert would == sorted(f"[DRY RUN] Scene {plan.local_id} ({plan.title}): would add {len(plan.gains)} tags: ["
                           for plan in gaining)
    assert any(line.startswith("Summary (DRY RUN - nothing was written)") for line in dry_run.info_lines)


def test_installed_plugin_asked_the_simulator(dry_run: DryRun, stashdb: StashDBSimulator,
                                              stashbox_api_key: str) -> None:
    from_plugin = [entry for entry in stashdb.request_log if entry.user_agent == USER_AGENT]
    assert from_plugin and all(entry.api_key == stashbox_api_key for entry in from_plugin)


def test_the_run_came_from_the_installed_folder(stash: RealStash, dry_run: DryRun, install_dir: Path) -> None:
    # The only plugin folder is the one the plugin manager wrote; nothing else was copied in.
    manifests = sorted(path.relative_to(stash.plugins_dir) for path in stash.plugins_dir.rglob("*.yml"))
    assert manifests == [install_dir.relative_to(stash.plugins_dir) / find_manifest(REPO_ROOT).name]
