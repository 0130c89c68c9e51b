"""Proof that the end-to-end harness drives a real Stash, v0.30.1 or later.

Needs a Stash binary built by hand (see stash_binary.py). Without one the module
is skipped, or fails when TAGMANAGER_REQUIRE_E2E=1.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from graphql import parse, validate

from tests.e2e.stash_log import LogEntry, wait_for_message
from tests.e2e.stash_server import LOOPBACK_HOST, RealStash, StashBoxEntry
from tests.e2e.stash_versions import MINIMUM_VERSION, StashVersion, release_check_url
from tests.e2e.tier_plan import binary_version
from tests.shared_schemas import require_stash_schema

STASH_BOX = StashBoxEntry(
    endpoint="http://127.0.0.1:9/graphql",
    api_key="e2e-placeholder-key",
    name="StashDB (e2e)",
    max_requests_per_minute=120,
)

VERSION_QUERY = "query { version { version hash } }"

TAG_CREATE = """
mutation CreateTag($input: TagCreateInput!) {
  tagCreate(input: $input) { id name aliases stash_ids { endpoint stash_id } }
}
"""

SCENE_CREATE = """
mutation CreateScene($input: SceneCreateInput!) {
  sceneCreate(input: $input) { id }
}
"""

FIND_SCENES_WITH_STASH_ID = """
query ScenesWithStashId($endpoint: String!) {
  findScenes(
    scene_filter: {stash_id_endpoint: {endpoint: $endpoint, modifier: NOT_NULL}}
    filter: {per_page: -1}
  ) {
    count
    scenes {
      id title
      stash_ids { endpoint stash_id }
      tags { id name aliases stash_ids { endpoint stash_id } }
    }
  }
}
"""

STASH_BOXES_QUERY = """
query { configuration { general { stashBoxes { endpoint api_key name max_requests_per_minute } } } }
"""

RELOAD_PLUGINS = "mutation { reloadPlugins }"

PLUGINS_QUERY = "query { plugins { id name } }"


# The release check Stash runs as it starts (internal/api/check_version.go): GetLatestRelease
# asks GitHub's REST API with a 3 s timeout, through http.ProxyFromEnvironment; which URL
# depends on the build (stash_versions.release_check_url).
VERSION_CHECK_WAIT_SECONDS = 10.0

ALL_OPERATIONS = [VERSION_QUERY, TAG_CREATE, SCENE_CREATE, FIND_SCENES_WITH_STASH_ID,
                  STASH_BOXES_QUERY, RELOAD_PLUGINS, PLUGINS_QUERY]


@pytest.mark.parametrize("operation", ALL_OPERATIONS)
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    work_dir = tmp_path_factory.mktemp("real-stash")
    with RealStash(real_stash_binary, work_dir, stash_boxes=[STASH_BOX]) as server:
        yield server
    assert server.log_file.is_file()


def test_reports_a_version_at_or_after_v0_30_1(stash: RealStash) -> None:
    reported = stash.graphql(VERSION_QUERY)["version"]
    version = StashVersion.parse(reported["version"])
    print(f"\nStash version {version} (git hash {reported['hash'] or 'none'})")
    assert version >= MINIMUM_VERSION


def test_version_flag_names_the_version_graphql_reports(stash: RealStash) -> None:
    # .ci/run decides which binaries the tiers run on from `stash --version`, without starting them.
    assert str(binary_version(stash.binary)) == stash.graphql(VERSION_QUERY)["version"]["version"]


def test_release_check_fails_against_the_closed_loopback_proxy(stash: RealStash) -> None:
    # printLatestVersion logs this at error level when the request fails; through the proxy
    # the failure is "proxyconnect" to the closed port, so GitHub was never reached. A
    # release asks for the latest release, a develop build for the latest develop one.
    reported = stash.graphql(VERSION_QUERY)["version"]
    url = release_check_url(reported["version"], reported["hash"])
    expected = (f"Couldn't retrieve latest version: Github API request failed: Get \"{url}\": "
                f"proxyconnect tcp: dial tcp {LOOPBACK_HOST}:{stash.proxy_port}: connect: connection refused")
    entries = wait_for_message(stash.log_file, 0, expected, VERSION_CHECK_WAIT_SECONDS)
    print(f"\nStash's release check: {expected}")
    assert LogEntry("error", expected) in entries
    assert not any(entry.message.startswith(("Latest version:", "New version available:", "Version "))
                   for entry in entries), "Stash got an answer about releases"


def test_scene_and_tag_with_stash_ids_read_back(stash: RealStash) -> None:
    unique = str(time.time_ns())
    tag_stash_id = f"tag-{unique}"
    scene_stash_id = f"scene-{unique}"
    tag = stash.graphql(TAG_CREATE, {"input": {
        "name": f"Outdoor {unique}",
        "aliases": [f"Outdoors {unique}"],
        "stash_ids": [{"endpoint": STASH_BOX.endpoint, "stash_id": tag_stash_id}],
    }})["tagCreate"]
    scene = stash.graphql(SCENE_CREATE, {"input": {
        "title": f"E2E scene {unique}",
        "tag_ids": [tag["id"]],
        "stash_ids": [{"endpoint": STASH_BOX.endpoint, "stash_id": scene_stash_id}],
    }})["sceneCreate"]

    found = stash.graphql(FIND_SCENES_WITH_STASH_ID, {"endpoint": STASH_BOX.endpoint})
    by_id = {s["id"]: s for s in found["findScenes"]["scenes"]}

    assert found["findScenes"]["count"] == len(by_id)
    read_back = by_id[scene["id"]]
    assert read_back["title"] == f"E2E scene {unique}"
    assert read_back["stash_ids"] == [{"endpoint": STASH_BOX.endpoint, "stash_id": scene_stash_id}]
    assert read_back["tags"] == [{
        "id": tag["id"],
        "name": f"Outdoor {unique}",
        "aliases": [f"Outdoors {unique}"],
        "stash_ids": [{"endpoint": STASH_BOX.endpoint, "stash_id": tag_stash_id}],
    }]


def test_scene_without_stash_id_is_not_found_by_endpoint_filter(stash: RealStash) -> None:
    scene = stash.graphql(SCENE_CREATE, {"input": {"title": "no stash id"}})["sceneCreate"]

    found = stash.graphql(FIND_SCENES_WITH_STASH_ID, {"endpoint": STASH_BOX.endpoint})

    assert scene["id"] not in {s["id"] for s in found["findScenes"]["scenes"]}


def test_configured_stash_box_is_listed(stash: RealStash) -> None:
    boxes = stash.graphql(STASH_BOXES_QUERY)["configuration"]["general"]["stashBoxes"]

    assert [box["endpoint"] for box in boxes] == [STASH_BOX.endpoint]
    assert boxes[0]["name"] == STASH_BOX.name
    assert boxes[0]["max_requests_per_minute"] == STASH_BOX.max_requests_per_minute
    assert boxes[0]["api_key"] == STASH_BOX.api_key


def test_reload_plugins_with_empty_plugins_dir_lists_none(stash: RealStash) -> None:
    assert list(stash.plugins_dir.iterdir()) == []

    assert stash.graphql(RELOAD_PLUGINS)["reloadPlugins"] is True
    # Stash (v0.30.1 and its develop line) answers null, not [], when no plugin is loaded: the resolver
    # returns a nil Go slice (pkg/plugin/plugins.go ListPlugins).
    assert stash.graphql(PLUGINS_QUERY)["plugins"] is None
