"""Parity of tag matching, asked of Stash itself.

A StashDB simulator answers Stash's own stash-box scene scrape with one scene
carrying every tag of the parity design (the real vocabulary plus variants).
Stash matches each tag to a local tag (pkg/match/scraped.go ScrapedTag) and
returns it as `stored_id`; the plugin's `match_stashdb_tag_to_local`, given a
TagCache built from Stash's own `findTags` answer, must name the same tag for
every one. Both ways Stash scrapes a scene are asked: by the scene's
fingerprints (`scene_id`) and by search (`query`, Stash's `searchScene`).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from tag_matching import TagCache, match_stashdb_tag_to_local
from tests.e2e.parity_vocabulary import ParityDesign, design_parity
from tests.e2e.stash_jobs import scan
from tests.e2e.stash_seed import STASH_CONFIGURATION, all_scenes, all_tags, create_tags, fingerprints_of
from tests.e2e.stash_server import RealStash, StashBoxEntry
from tests.e2e.stash_tagger import SCRAPE_SCENE, scrape_scenes
from tests.e2e.video_library import make_videos
from tests.shared_schemas import require_stash_schema
from tests.simulators.records import StashDBFingerprint, StashDBScene
from tests.simulators.stashdb_sim import StashDBSimulator
from tests.simulators.vocabulary import load_vocabulary

BOX_NAME = "Simulated StashDB (parity)"
SCAN_TIMEOUT_SECONDS = 60.0


def test_scrape_query_is_valid_against_stash_schema() -> None:
    assert validate(require_stash_schema(), parse(SCRAPE_SCENE)) == []


@pytest.fixture(scope="module")
def parity_stash(real_stash_binary: Path, ffmpeg_tools: None, stashdb: StashDBSimulator, stashbox_api_key: str,
                 tmp_path_factory: pytest.TempPathFactory):
    library_dir = tmp_path_factory.mktemp("parity-library")
    work_dir = tmp_path_factory.mktemp("stash-parity")
    box = StashBoxEntry(stashdb.url, stashbox_api_key, BOX_NAME)
    with RealStash(real_stash_binary, work_dir, stash_boxes=[box], library_paths=[library_dir]) as server:
        make_videos(library_dir, 1)
        scan(server, [str(library_dir)], generate_phashes=False, timeout=SCAN_TIMEOUT_SECONDS)
        yield server


@pytest.fixture(scope="module")
def design(parity_stash: RealStash, stashdb: StashDBSimulator) -> ParityDesign:
    design = design_parity(stashdb.url)
    create_tags(parity_stash, design.local_inputs)
    return design


@pytest.fixture(scope="module")
def scraped_scene(parity_stash: RealStash, stashdb: StashDBSimulator, design: ParityDesign) -> dict:
    """The local scene, and the StashDB scene that holds its oshash and every parity tag."""
    (scene,) = all_scenes(parity_stash)
    stashdb_scene = StashDBScene(
        id="5a1e0000-0000-4000-8000-00000000e2e0", title="Parity scene",
        tag_ids=tuple(tag.id for tag in design.stashdb_tags),
        fingerprints=(StashDBFingerprint("OSHASH", fingerprints_of(scene)["oshash"]),))
    for tag in design.stashdb_tags:
        stashdb.data.add_tag(tag)
    stashdb.data.add_scene(stashdb_scene)
    return {"local_id": scene["id"], "stashdb_id": stashdb_scene.id}


def scrape(stash: RealStash, endpoint: str, scrape_input: dict) -> list[dict]:
    (scene,) = scrape_scenes(stash, endpoint, scrape_input)
    return scene["tags"]


def describe(tag_id: str | None, names: dict[str, str]) -> str:
    return "no match" if tag_id is None else f"{tag_id} ({names[tag_id]!r})"


def test_no_exclude_patterns_are_configured(parity_stash: RealStash) -> None:
    assert parity_stash.graphql(STASH_CONFIGURATION)["configuration"]["scraping"]["excludeTagPatterns"] == []


@pytest.mark.parametrize("scrape_by", ["scene_id", "query"])
def test_plugin_matches_every_tag_as_stash_does(
        parity_stash: RealStash, stashdb: StashDBSimulator, design: ParityDesign, scraped_scene: dict,
        scrape_by: str) -> None:
    scrape_input = ({"scene_id": scraped_scene["local_id"]} if scrape_by == "scene_id"
                    else {"query": scraped_scene["stashdb_id"]})
    scraped_tags = scrape(parity_stash, stashdb.url, scrape_input)
    local_tags = all_tags(parity_stash)
    cache = TagCache.from_tags(local_tags)
    names = {tag["id"]: tag["name"] for tag in local_tags}

    differences = []
    for scraped in scraped_tags:
        ours = match_stashdb_tag_to_local({"id": scraped["remote_site_id"], "name": scraped["name"]},
                                          cache, stashdb.url)
        if ours != scraped["stored_id"]:
            differences.append(f"{scraped['name']!r} (StashDB id {scraped['remote_site_id']}): "
                               f"Stash {describe(scraped['stored_id'], names)}, plugin {describe(ours, names)}")
    matched = sum(1 for scraped in scraped_tags if scraped["stored_id"] is not None)
    agree = len(scraped_tags) - len(differences)
    print(f"\nparity ({scrape_by}): {agree}/{len(scraped_tags)} StashDB tags matched alike "
          f"({matched} matched by Stash, {len(scraped_tags) - matched} unmatched; {len(local_tags)} local tags)")
    for line in differences:
        print("  DIFFERENT:", line)

    # Every name of the vocabulary in use (the real snapshot, or the synthetic one of a fresh
    # clone) is in the design, with its variants; by design about a sixth find no local tag.
    assert len(scraped_tags) == len(design.stashdb_tags) >= len(load_vocabulary())
    assert differences == []
    assert 0.6 * len(scraped_tags) <= matched <= 0.92 * len(scraped_tags)
