"""Install this checkout as a plugin of a real Stash, and talk to Stash about it.

Only the plugin's runtime files are copied (the list the packaging step ships):
Stash loads every `.yml` below its plugins folder as a manifest, so the whole
repository (tests, CI files) must not go there.
"""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from plugin_info import PLUGIN_ID
from plugin_packaging.build_index import find_manifest, read_manifest, runtime_files
from tests.e2e.stash_server import RealStash, StashBoxEntry

REPO_ROOT = Path(__file__).resolve().parents[2]

SYNC_TASK_NAME = "Sync Scene Tags from StashDB"
FULL_DRY_RUN_TASK_NAME = "Sync Scene Tags from StashDB (full dry run report)"

RELOAD_PLUGINS = "mutation E2EReloadPlugins { reloadPlugins }"

LIST_PLUGINS = """
query E2EPlugins {
  plugins { id name version enabled tasks { name } hooks { name hooks } settings { name type } }
}
"""

CONFIGURE_PLUGIN = """
mutation E2EConfigurePlugin($plugin_id: ID!, $input: Map!) {
  configurePlugin(plugin_id: $plugin_id, input: $input)
}
"""

RUN_OPERATION = """
mutation E2ERunPluginOperation($plugin_id: ID!, $args: Map) {
  runPluginOperation(plugin_id: $plugin_id, args: $args)
}
"""

ALL_OPERATIONS = (RELOAD_PLUGINS, LIST_PLUGINS, CONFIGURE_PLUGIN, RUN_OPERATION)
OPERATION_TIMEOUT_SECONDS = 60


def install_checkout(plugins_dir: Path, root: Path = REPO_ROOT) -> Path:
    """Copy the plugin's runtime files into `<plugins_dir>/<plugin id>/`; returns that folder."""
    manifest = read_manifest(find_manifest(root))
    target = plugins_dir / manifest.plugin_id
    target.mkdir(parents=True, exist_ok=True)
    for name in runtime_files(root, manifest):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target / name)
    return target


@contextmanager
def stash_with_this_plugin(binary: Path, folder: Path, stashdb, api_key: str, box_name: str) -> Iterator[RealStash]:
    """A real Stash whose one stash-box is the simulator `stashdb`, with this checkout
    installed as its only plugin."""
    with RealStash(binary, folder, stash_boxes=[StashBoxEntry(stashdb.url, api_key, box_name)]) as server:
        install_checkout(server.plugins_dir)
        assert [plugin["id"] for plugin in reload_plugins(server)] == [PLUGIN_ID]
        yield server


def reload_plugins(stash: RealStash) -> list[dict]:
    """reloadPlugins, then the `plugins` list (empty when Stash loaded none)."""
    assert stash.graphql(RELOAD_PLUGINS)["reloadPlugins"] is True
    return stash.graphql(LIST_PLUGINS)["plugins"] or []


def configure_plugin(stash: RealStash, settings: Mapping[str, Any], plugin_id: str = PLUGIN_ID) -> dict:
    """Save the plugin's settings as Stash's settings page does; returns what Stash stored."""
    return stash.graphql(CONFIGURE_PLUGIN, {"plugin_id": plugin_id, "input": dict(settings)})["configurePlugin"]


def run_operation(stash: RealStash, plugin_id: str = PLUGIN_ID, **args: Any) -> Any:
    """One of the plugin's page operations, as the page calls it (`runPluginOperation`);
    its answer, or StashGraphQLError carrying the operation's refusal."""
    return stash.graphql(RUN_OPERATION, {"plugin_id": plugin_id, "args": args},
                         timeout=OPERATION_TIMEOUT_SECONDS)["runPluginOperation"]
