"""The resolving loop inside a real Stash v0.30.1, through Stash's own API only.

A small file-less library (pass 2 finds every scene by its StashDB id): a full dry run by
`runPluginTask`, then `runPluginOperation` for unmatched_tags, link_tag, create_tags (one
StashDB alias collides with a local tag's name) and exclude_tag, then the targeted live
re-run of the affected scenes by `runPluginTask` with `args_map`. Every check reads Stash
back: the tags Stash stored, its exclude patterns, each scene's tags.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from plugin_info import PLUGIN_ID
from tests.e2e.plugin_install import (FULL_DRY_RUN_TASK_NAME, SYNC_TASK_NAME, configure_plugin, run_operation,
                                      stash_with_this_plugin)
from tests.e2e.stash_jobs import watch_job
from tests.e2e.stash_log import log_size, plugin_entries, wait_for_message
from tests.e2e.stash_seed import (CONFIGURE_SCRAPING, FIND_TAG, STASH_CONFIGURATION, all_tags, create_scenes,
                                  create_tags, scene_tag_sets)
from tests.e2e.stash_server import RealStash, StashGraphQLError
from tests.e2e.sync_library import labelled_scene_plans, stable_uuid
from tests.shared_schemas import require_stash_schema
from tests.simulators.records import StashDBTag

BOX_NAME = "Simulated StashDB (resolving)"
RUN_TASK_WITH_ARGS = """
mutation E2ERunPluginTaskWithArgs($plugin_id: ID!, $task_name: String!, $args_map: Map) {
  runPluginTask(plugin_id: $plugin_id, task_name: $task_name, args_map: $args_map)
}
"""
TAG_CREATE = "mutation E2ETagCreate($input: TagCreateInput!) { tagCreate(input: $input) { id } }"
OPERATIONS = (RUN_TASK_WITH_ARGS, FIND_TAG, CONFIGURE_SCRAPING, TAG_CREATE)
OTHER_ENDPOINT = "https://elsewhere.example.org/graphql"
RUN_SECONDS = 120.0

ANAL = StashDBTag(stable_uuid("r:anal"), "Anal", ("Anal Sex",), "Action")
STOCKINGS = StashDBTag(stable_uuid("r:stockings"), "Stockings", (), "Clothing", "Thigh-high hosiery.")
BIG_TITS = StashDBTag(stable_uuid("r:big"), "Big Tits", ("Large Breasts", "Big Boobs"), "Body", "Large breasts.")
WATERMARK = StashDBTag(stable_uuid("r:watermark"), "Watermark (Logo)", (), "Production")
ROPE = StashDBTag(stable_uuid("r:rope"), "Rope", ("Shibari",), "Action")
SCENES = {  # label -> (its StashDB tags, its local tags before the sync)
    "one": ((ANAL, STOCKINGS, ROPE), ("Keep Me",)),
    "two": ((BIG_TITS, WATERMARK), ()),
    "three": ((STOCKINGS, BIG_TITS, ANAL), ("Keep Me",)),
    "four": ((ROPE,), ()),
    "five": ((ANAL,), ()),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_is_valid_against_stash_schema(operation: str) -> None:
    assert validate(require_stash_schema(), parse(operation)) == []


@pytest.fixture(scope="module")
def stash(real_stash_binary: Path, stashdb, stashbox_api_key: str, tmp_path_factory):
    with stash_with_this_plugin(real_stash_binary, tmp_path_factory.mktemp("stash-resolving"), stashdb, stashbox_api_key,
                                BOX_NAME) as server:
        yield server


@pytest.fixture(scope="module")
def library(stash: RealStash, stashdb) -> dict:
    names = ["Anal", "Keep Me", "Stocking", "Large Breasts"]
    inputs = [{"name": "Anal"}, {"name": "Keep Me"},
              {"name": "Stocking", "aliases": ["Nylons"], "stash_ids": [{"endpoint": OTHER_ENDPOINT, "stash_id": "o-1"}]},
              {"name": "Large Breasts"}]
    tag_ids = dict(zip(names, create_tags(stash, inputs)))
    plans = labelled_scene_plans(stashdb, SCENES, tag_ids, key="r", title="Resolving")
    scene_ids = dict(zip(SCENES, create_scenes(stash, plans)))
    stash.graphql(CONFIGURE_SCRAPING, {"input": {"excludeTagPatterns": ["^fansdb only$"]}})
    return {"tag_ids": tag_ids, "scene_ids": scene_ids, "before": scene_tag_sets(stash)}


def run_task(stash: RealStash, task: str, settings: dict, args: dict | None = None) -> list[str]:
    configure_plugin(stash, settings)
    offset = log_size(stash.log_file)
    job = stash.graphql(RUN_TASK_WITH_ARGS, {"plugin_id": PLUGIN_ID, "task_name": task, "args_map": args})
    watch = watch_job(stash, str(job["runPluginTask"]), RUN_SECONDS)
    assert watch.final_status == "FINISHED", watch.final
    entries = wait_for_message(stash.log_file, offset, f"Plugin {PLUGIN_ID} finished", 10.0)
    return [entry.message for entry in plugin_entries(entries, PLUGIN_ID)]


operation = run_operation


@pytest.fixture(scope="module")
def loop(stash: RealStash, library: dict) -> dict:
    settings = {"syncEndpoint": BOX_NAME}
    dry_log = run_task(stash, FULL_DRY_RUN_TASK_NAME, settings)
    after_dry = scene_tag_sets(stash)
    listed = operation(stash, mode="unmatched_tags")
    by_name = {tag["name"]: tag for tag in listed["tags"]}
    linked = operation(stash, mode="link_tag", stashdb_id=STOCKINGS.id, tag_id=by_name["Stockings"]["suggestions"][0]["tag_id"])
    created = operation(stash, mode="create_tags", stashdb_ids=[BIG_TITS.id], parent_from_category=True)
    excluded = operation(stash, mode="exclude_tag", name=WATERMARK.name)
    scenes_of = {name: operation(stash, mode="tag_scenes", stashdb_ids=[by_name[name]["stashdb_id"]])["scene_ids"]
                 for name in by_name}
    resolved = [by_name[name]["stashdb_id"] for name in ("Stockings", "Big Tits", WATERMARK.name)]
    affected = operation(stash, mode="tag_scenes", stashdb_ids=resolved)["scene_ids"]
    live_log = run_task(stash, SYNC_TASK_NAME, {**settings, "syncDryRun": False}, {"scene_ids": ",".join(affected)})
    return {"dry_log": dry_log, "after_dry": after_dry, "listed": listed, "by_name": by_name, "scenes_of": scenes_of,
            "linked": linked,
            "created": created, "excluded": excluded, "affected": affected, "live_log": live_log,
            "after": scene_tag_sets(stash), "relisted": operation(stash, mode="unmatched_tags")}


def test_the_dry_run_wrote_nothing_and_the_listing_names_each_unmatched_tag(loop, library):
    assert loop["after_dry"] == library["before"]
    ids = library["scene_ids"]
    counts = {name: (tag["scenes"], sorted(loop["scenes_of"][name])) for name, tag in loop["by_name"].items()}
    assert counts == {"Stockings": (2, sorted([ids["one"], ids["three"]])),
                      "Big Tits": (2, sorted([ids["two"], ids["three"]])),
                      "Rope": (2, sorted([ids["one"], ids["four"]])),
                      WATERMARK.name: (1, [ids["two"]])}
    big = loop["by_name"]["Big Tits"]
    assert big["description"] == "Large breasts." and big["category"] == "Body" and big["aliases"] == list(BIG_TITS.aliases)
    assert big["suggestions"][0]["tag_id"] == library["tag_ids"]["Large Breasts"]
    assert loop["by_name"]["Stockings"]["suggestions"][0]["tag_id"] == library["tag_ids"]["Stocking"]


def test_stash_kept_the_link_every_alias_and_the_other_stash_id(stash, stashdb, loop, library):
    stocking = stash.graphql(FIND_TAG, {"id": library["tag_ids"]["Stocking"]})["findTag"]
    assert stocking["aliases"] == ["Nylons", "Stockings"]
    assert sorted((s["endpoint"], s["stash_id"]) for s in stocking["stash_ids"]) == sorted(
        [(OTHER_ENDPOINT, "o-1"), (stashdb.url, STOCKINGS.id)])


def test_stash_accepted_the_create_whose_alias_collided(stash, stashdb, loop, library):
    (made,) = loop["created"]["tags"]
    assert made["status"] == "created" and [d["alias"] for d in made["dropped_aliases"]] == ["Large Breasts"]
    tag = stash.graphql(FIND_TAG, {"id": made["tag_id"]})["findTag"]
    assert (tag["name"], tag["description"], tag["aliases"]) == ("Big Tits", "Large breasts.", ["Big Boobs"])
    assert tag["stash_ids"] == [{"endpoint": stashdb.url, "stash_id": BIG_TITS.id}]
    assert [parent["name"] for parent in tag["parents"]] == ["Body"]
    # ... and Stash itself refuses the alias tagManager left out:
    with pytest.raises(StashGraphQLError, match="already exists"):
        stash.graphql(TAG_CREATE, {"input": {"name": "Probe", "aliases": ["Large Breasts"]}})


def test_stash_kept_every_exclude_pattern(stash, loop):
    patterns = stash.graphql(STASH_CONFIGURATION)["configuration"]["scraping"]["excludeTagPatterns"]
    assert patterns == ["^fansdb only$", r"^Watermark \(Logo\)$"] == loop["excluded"]["patterns"]


def test_the_targeted_rerun_gives_each_scene_exactly_its_tags(loop, library):
    ids, tags = library["scene_ids"], library["tag_ids"]
    big_tits = loop["created"]["tags"][0]["tag_id"]
    expected = {
        ids["one"]: {tags["Keep Me"], tags["Anal"], tags["Stocking"]},
        ids["two"]: {big_tits},
        ids["three"]: {tags["Keep Me"], tags["Stocking"], big_tits, tags["Anal"]},
        ids["four"]: set(),        # not affected: untouched
        ids["five"]: set(),        # not affected: untouched, though Anal would match
    }
    assert {scene_id: set(tag_ids) for scene_id, tag_ids in loop["after"].items()} == expected
    assert any(line.startswith("Targeted run: 3 scenes") for line in loop["live_log"])
    assert [t["name"] for t in loop["relisted"]["tags"]] == ["Rope"]


def test_bad_input_fails_the_operation_with_its_reason_and_writes_nothing(stash, loop, library):
    tags_before = all_tags(stash)
    for args, reason in (({"mode": "link_tag", "stashdb_id": ROPE.id}, "missing argument(s) tag_id"),
                         ({"mode": "link_tag", "stashdb_id": ROPE.id, "tag_id": "424242"}, "no tag with id '424242'"),
                         ({"mode": "nonsense"}, "Unknown mode 'nonsense'")):
        with pytest.raises(StashGraphQLError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            operation(stash, **args)
    assert all_tags(stash) == tags_before
