"""Seed a real Stash and the StashDB simulator with the designed sync library.

Scanned clips give pass 1 real fingerprints (phash for some, oshash for the
rest, read back from Stash and handed to the simulator); file-less scenes and
clips StashDB cannot find by fingerprint go to pass 2. A few scenes must be
left alone: one without a StashID, one whose StashID is for another endpoint,
one whose StashDB scene is deleted, one whose StashDB id is unknown.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from tests.e2e.stash_jobs import scan
from tests.e2e.stash_seed import (
    all_scenes,
    create_scenes,
    create_tags,
    fingerprints_of,
    scenes_by_file_name,
    update_scene,
)
from tests.e2e.stash_server import RealStash
from tests.e2e.sync_library import (
    ENDPOINT_INDEPENDENT_KINDS,
    OTHER_ENDPOINT_URL,
    LocalTagIds,
    ScenePlan,
    TagDesign,
    cyclic_tags,
    design_tags,
    local_ids_from_created,
    plan_scene,
    stable_uuid,
    tag_create_inputs,
)
from tests.e2e.video_library import make_videos
from tests.simulators.records import StashDBFingerprint, StashDBScene
from tests.simulators.stashdb_sim import StashDBSimulator

PHASH_CLIPS = 6
OSHASH_CLIPS = 18
FILELESS_SCENES = 8
SCAN_TIMEOUT_SECONDS = 180.0
# Clips (after the PHASH_CLIPS phash-scanned ones) with a special role.
NO_FINGERPRINT_CLIP, DECOY_CLIP, NO_STASH_ID_CLIP, OTHER_ENDPOINT_CLIP = 20, 21, 22, 23


@dataclass
class SeededLibrary:
    endpoint: str
    designs: list[TagDesign]
    tag_ids: LocalTagIds
    plans: list[ScenePlan] = field(default_factory=list)
    stale: ScenePlan | None = None
    unknown: ScenePlan | None = None

    def expected_tags(self) -> dict[str, frozenset[str]]:
        """local scene id -> the exact tag ids it must have after a live run."""
        return {plan.local_id: plan.expected_tag_ids for plan in self.plans}

    def initial_tags(self) -> dict[str, frozenset[str]]:
        return {plan.local_id: plan.initial_tag_ids for plan in self.plans}

    def gaining(self) -> list[ScenePlan]:
        return [plan for plan in self.plans if plan.gains]


def seed_tags(stash: RealStash, endpoint: str) -> tuple[list[TagDesign], LocalTagIds]:
    designs = design_tags(endpoint)
    created = create_tags(stash, tag_create_inputs(designs))
    return designs, local_ids_from_created(designs, created)


def scan_clips(stash: RealStash, library_dir: Path) -> list[dict]:
    """Make and scan the clips; returns their scenes, clip order (phash clips first)."""
    phash_dir, oshash_dir = library_dir / "phash", library_dir / "oshash"
    clips = make_videos(phash_dir, PHASH_CLIPS) + make_videos(oshash_dir, OSHASH_CLIPS, PHASH_CLIPS)
    scan(stash, [str(phash_dir)], generate_phashes=True, timeout=SCAN_TIMEOUT_SECONDS)
    scan(stash, [str(oshash_dir)], generate_phashes=False, timeout=SCAN_TIMEOUT_SECONDS)
    by_name = scenes_by_file_name(all_scenes(stash))
    return [by_name[clip.name] for clip in clips]


def clip_fingerprint(index: int, scene: dict) -> tuple[StashDBFingerprint, ...]:
    """What StashDB knows of clip `index`: its phash, its oshash, or nothing (pass 2)."""
    values = fingerprints_of(scene)
    if index < PHASH_CLIPS:
        return (StashDBFingerprint("PHASH", values["phash"]),)
    if index in (NO_FINGERPRINT_CLIP, DECOY_CLIP):
        return ()
    return (StashDBFingerprint("OSHASH", values["oshash"]),)


def decoy_scene(designs: Sequence[TagDesign], scene: dict) -> StashDBScene:
    """Another StashDB scene holding the decoy clip's oshash: the sync must not take it."""
    return StashDBScene(
        id=stable_uuid("scene:decoy"), title="StashDB decoy",
        tag_ids=tuple(d.stashdb.id for d in cyclic_tags(designs, 7, 7)),
        fingerprints=(StashDBFingerprint("OSHASH", fingerprints_of(scene)["oshash"]),))


def plan_clip_scenes(stash: RealStash, library: SeededLibrary, clip_scenes: list[dict]) -> list[StashDBScene]:
    """Plans for the scanned clips, written to their scenes; returns the decoy StashDB scene."""
    endpoint = library.endpoint
    for index, scene in enumerate(clip_scenes):
        synced = index not in (NO_STASH_ID_CLIP, OTHER_ENDPOINT_CLIP)
        plan = plan_scene(f"clip {index:02d}", index, library.designs, library.tag_ids, endpoint, endpoint,
                          fingerprints=clip_fingerprint(index, scene), synced=synced)
        if index == NO_STASH_ID_CLIP:
            plan.stash_ids = []
        elif index == OTHER_ENDPOINT_CLIP:
            plan.stash_ids = [{"endpoint": OTHER_ENDPOINT_URL, "stash_id": plan.stashdb_scene.id}]
        plan.local_id = scene["id"]
        update_scene(stash, scene["id"], **plan.scene_input())
        library.plans.append(plan)
    return [decoy_scene(library.designs, clip_scenes[DECOY_CLIP])]


def create_planned_scenes(stash: RealStash, plans: Sequence[ScenePlan]) -> None:
    """File-less scenes for the plans (title, StashID, initial tags)."""
    for plan, scene_id in zip(plans, create_scenes(stash, [plan.scene_input() for plan in plans])):
        plan.local_id = scene_id


def plan_fileless_scenes(stash: RealStash, library: SeededLibrary, first_index: int) -> None:
    """Pass-2 scenes, plus one whose StashDB scene is deleted and one StashDB does not know."""
    endpoint, designs, ids = library.endpoint, library.designs, library.tag_ids
    plans = [plan_scene(f"file-less {n}", first_index + n, designs, ids, endpoint, endpoint)
             for n in range(FILELESS_SCENES)]
    after = first_index + FILELESS_SCENES
    library.stale = plan_scene("stale", after, designs, ids, endpoint, endpoint, deleted=True)
    library.unknown = plan_scene("unknown", after + 1, designs, ids, endpoint, endpoint, synced=False)
    plans += [library.stale, library.unknown]
    create_planned_scenes(stash, plans)
    library.plans.extend(plans)


def publish_to_stashdb(sim: StashDBSimulator, designs: Sequence[TagDesign], plans: Sequence[ScenePlan],
                       extra_scenes: Sequence[StashDBScene] = (), unknown: ScenePlan | None = None) -> None:
    """Give the simulator the tags and every planned StashDB scene but the unknown one."""
    for design in designs:
        sim.data.add_tag(design.stashdb)
    for plan in plans:
        if plan is not unknown:
            sim.data.add_scene(plan.stashdb_scene)
    for scene in extra_scenes:
        sim.data.add_scene(scene)


def seed_main_library(stash: RealStash, sim: StashDBSimulator, library_dir: Path) -> SeededLibrary:
    designs, tag_ids = seed_tags(stash, sim.url)
    library = SeededLibrary(sim.url, designs, tag_ids)
    clip_scenes = scan_clips(stash, library_dir)
    decoys = plan_clip_scenes(stash, library, clip_scenes)
    plan_fileless_scenes(stash, library, first_index=len(clip_scenes))
    publish_to_stashdb(sim, designs, library.plans, decoys, library.unknown)
    return library


def seed_stop_library(stash: RealStash, sim: StashDBSimulator, main: SeededLibrary, count: int) -> list[ScenePlan]:
    """`count` file-less scenes with StashIDs for `sim`, using only tags matched by name or alias."""
    usable = [design for design in main.designs if design.kind in ENDPOINT_INDEPENDENT_KINDS]
    plans = [plan_scene(f"stop {n:03d}", n, usable, main.tag_ids, sim.url, main.endpoint) for n in range(count)]
    create_planned_scenes(stash, plans)
    publish_to_stashdb(sim, usable, plans)
    return plans
