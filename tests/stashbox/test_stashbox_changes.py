"""What an editor's change does to a real stash-box's scenes and tags, and the simulator after it.

A second stash-box (its own database in the tier's PostgreSQL, so the session's seeded
server stays as its library says) is seeded with a small library, and then changed as
StashDB's editors change it (tests/stashbox/stashbox_changes.py): one scene's tags edited,
one tag merged into another, one renamed, one destroyed by an edit, one deleted by the
admin, and one fingerprint submitted for a scene. The first tests record what each change did to the scenes' `updated` (as
`queryScenes` sorted by UPDATED_AT shows it), to `findScene`'s tags and to `findTag` — the
facts the refresh relies on (docs/stashbox.md). The last one makes the same changes to the
StashDB simulator (tests/simulators/scene_changes.py) and holds its answers to the server's.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from stashdb_api import FIND_SCENES_BY_FINGERPRINTS_QUERY, build_find_scenes_by_ids_query, build_find_tags_by_ids_query, chunks, scene_id_variable
from tests.simulators import StashDBData, StashDBFingerprint, StashDBSimulator, generate_library
from tests.simulators import scene_changes
from tests.stashbox import stashbox_changes as change
from tests.stashbox.differential import Case, differences
from tests.stashbox.scene_paging import copy_scene_times, scenes_by_time_cases
from tests.stashbox.stashbox_seed import SeededLibrary, seed_library
from tests.stashbox.stashbox_server import RealStashBox

CHANGES_DATABASE = "changes"
CHANGES_SCENES = 300
CHANGES_SEED = 24
ALL_AT_ONCE = 10_000                 # per_page: every scene of the small library in one page
NEW_FINGERPRINT = StashDBFingerprint("OSHASH", "7e57c0de5ca1ab1e", 1234)   # no seeded scene has it


@dataclass
class Changes:
    """The chosen scene and tags, and what the server answered before and after the changes."""

    edited_scene: str
    new_scene_tags: list[str]
    merge_source: str
    merge_target: str
    merged_aliases: list[str]
    renamed: str
    new_name: str
    destroyed: str
    deleted: str
    fingerprinted_scene: str
    found_by_new_fingerprint: list[str]
    carriers: dict[str, list[str]]          # tag id -> live scenes carrying it before the changes
    updated_before: dict[str, str]
    updated_after: dict[str, str]
    newest_after: list[str]
    tags_before: dict[str, dict | None]
    tags_after: dict[str, dict | None]
    scene_tags_after: dict[str, set[str]]
    tag_edits: list[dict]                   # applied tag edits, newest closed first
    scene_edits: list[dict]                 # applied scene edits (the seed's merges and destroys too)


def find_scenes(server: RealStashBox, scene_ids: list[str]) -> dict[str, dict | None]:
    found = {}
    for chunk in chunks(scene_ids, 40):
        data = server.graphql(build_find_scenes_by_ids_query(len(chunk)),
                              {scene_id_variable(i): v for i, v in enumerate(chunk)})
        found.update(zip(chunk, (data[f"s{i}"] for i in range(len(chunk)))))
    return found


def find_tags(server: RealStashBox, tag_ids: list[str]) -> dict[str, dict | None]:
    data = server.graphql(build_find_tags_by_ids_query(len(tag_ids)),
                          {scene_id_variable(i): v for i, v in enumerate(tag_ids)})
    return dict(zip(tag_ids, (data[f"t{i}"] for i in range(len(tag_ids)))))


def fingerprint_lookup(server: RealStashBox, fingerprint: StashDBFingerprint) -> list[str]:
    """Ids of the scenes the plugin's fingerprint request finds for this one fingerprint."""
    lists = [[{"hash": fingerprint.hash, "algorithm": fingerprint.algorithm}]]
    answer = server.graphql(FIND_SCENES_BY_FINGERPRINTS_QUERY, {"fingerprints": lists})
    return [scene["id"] for scene in answer["findScenesBySceneFingerprints"][0]]


def updated_by_scene(server: RealStashBox) -> tuple[dict[str, str], list[str]]:
    page = change.scenes_by_updated(server, 1, ALL_AT_ONCE)
    assert len(page["scenes"]) == page["count"]
    return {scene["id"]: scene["updated"] for scene in page["scenes"]}, [scene["id"] for scene in page["scenes"]]


@pytest.fixture(scope="module")
def changed_server(stashbox_parts, postgres):
    postgres.create_database(CHANGES_DATABASE)
    work_dir = Path(tempfile.mkdtemp(prefix="tagmanager-stashbox-changes-"))
    try:
        with RealStashBox(stashbox_parts[0], work_dir, postgres.url_for_stashbox(CHANGES_DATABASE)) as server:
            seeded = seed_library(server, generate_library(CHANGES_SCENES, seed=CHANGES_SEED))
            yield server, seeded, make_changes(server, seeded)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def live_carriers(seeded: SeededLibrary) -> dict[str, list[str]]:
    carriers: dict[str, list[str]] = {}
    for scene in seeded.library.stashdb_scenes:
        if not scene.deleted:
            for tag_id in scene.tag_ids:
                carriers.setdefault(tag_id, []).append(scene.id)
    return carriers


def choose(seeded: SeededLibrary) -> dict:
    """An edited scene and five tags with aliases on other scenes, a merge pair sharing a scene."""
    carriers = live_carriers(seeded)
    edited = next(s for s in seeded.library.stashdb_scenes if not s.deleted and len(s.tag_ids) >= 2)
    spare = [t for t, ids in sorted(carriers.items(), key=lambda item: -len(item[1]))
             if len(ids) >= 3 and t not in edited.tag_ids and edited.id not in ids]
    with_aliases = {tag.id for tag in seeded.library.stashdb_tags if tag.aliases}
    spare.sort(key=lambda tag_id: tag_id not in with_aliases)          # tags with aliases first, stable
    source = spare[0]
    target = next(t for t in spare[1:] if set(carriers[t]) & set(carriers[source]))
    others = [t for t in spare if t not in (source, target)]
    added = next(t for t in carriers if t not in edited.tag_ids and t not in (source, target, *others[:3]))
    fingerprinted = next(s.id for s in seeded.library.stashdb_scenes if not s.deleted and s.id != edited.id)
    return {"edited": edited.id, "new_tags": [*edited.tag_ids[1:], added], "fingerprinted": fingerprinted,
            "source": source, "target": target, "renamed": others[0], "destroyed": others[1], "deleted": others[2],
            "carriers": carriers}


def make_changes(server: RealStashBox, seeded: SeededLibrary) -> Changes:
    chosen = choose(seeded)
    tag_ids = [chosen[k] for k in ("source", "target", "renamed", "destroyed", "deleted")]
    updated_before, _ = updated_by_scene(server)
    tags_before = find_tags(server, tag_ids)
    change.edit_scene_tags(server, chosen["edited"], chosen["new_tags"])
    change.merge_tags(server, chosen["target"], [chosen["source"]])
    new_name = tags_before[chosen["renamed"]]["name"] + " (renamed)"
    change.rename_tag(server, chosen["renamed"], new_name)
    change.destroy_tag(server, chosen["destroyed"])
    change.delete_tag(server, chosen["deleted"])
    fingerprinted = chosen["fingerprinted"]
    assert not fingerprint_lookup(server, NEW_FINGERPRINT)
    change.submit_fingerprint(server, fingerprinted, NEW_FINGERPRINT.algorithm, NEW_FINGERPRINT.hash,
                              NEW_FINGERPRINT.duration)
    updated_after, newest = updated_by_scene(server)
    touched = sorted({s for t in tag_ids for s in chosen["carriers"][t]} | {chosen["edited"]})
    after = find_scenes(server, touched)
    return Changes(
        edited_scene=chosen["edited"], new_scene_tags=chosen["new_tags"], merge_source=chosen["source"],
        merge_target=chosen["target"], merged_aliases=change.find_tag(server, chosen["target"])["aliases"],
        renamed=chosen["renamed"], new_name=new_name, destroyed=chosen["destroyed"], deleted=chosen["deleted"],
        fingerprinted_scene=fingerprinted, found_by_new_fingerprint=fingerprint_lookup(server, NEW_FINGERPRINT),
        carriers={t: chosen["carriers"][t] for t in tag_ids}, updated_before=updated_before,
        updated_after=updated_after, newest_after=newest, tags_before=tags_before,
        tags_after=find_tags(server, tag_ids),
        scene_tags_after={s: {tag["id"] for tag in answer["tags"]} for s, answer in after.items()},
        tag_edits=change.applied_edits(server, "TAG", ALL_AT_ONCE),
        scene_edits=change.applied_edits(server, "SCENE", ALL_AT_ONCE))


def test_a_scene_edit_moves_that_scene_alone_to_the_newest(changed_server):
    """The edited scene's `updated` is the edit's time, first by UPDATED_AT DESC, with its new tags;
    no other scene's `updated` moved (the tag merge, rename, destroy and delete and the
    fingerprint submission touched none)."""
    _, _, changes = changed_server
    scene = changes.edited_scene
    assert changes.newest_after[0] == scene
    moved_to = scene_changes.parse_stashbox_time(changes.updated_after[scene])
    assert moved_to > scene_changes.parse_stashbox_time(changes.updated_before[scene])
    assert changes.scene_tags_after[scene] == set(changes.new_scene_tags)
    moved = {s for s, updated in changes.updated_after.items() if changes.updated_before.get(s) != updated}
    assert moved == {scene}


def test_a_tag_merge_moves_the_tag_on_the_scenes_and_keeps_the_source_deleted(changed_server):
    _, _, changes = changed_server
    source, target = changes.merge_source, changes.merge_target
    assert set(changes.carriers[source]) & set(changes.carriers[target]), "a scene with both tags is in the case"
    for scene in changes.carriers[source]:
        assert source not in changes.scene_tags_after[scene] and target in changes.scene_tags_after[scene]
    before, after = changes.tags_before[source], changes.tags_after[source]
    assert before["aliases"], "the case needs a source with aliases"
    assert after["deleted"] is True and before["deleted"] is False
    assert (after["name"], sorted(after["aliases"])) == (before["name"], sorted(before["aliases"]))
    assert before["name"] in changes.tags_after[target]["aliases"]
    assert changes.tags_after[target]["deleted"] is False


def test_a_renamed_tag_keeps_its_id_and_the_scenes_show_the_new_name(changed_server):
    server, _, changes = changed_server
    tag = changes.tags_after[changes.renamed]
    assert changes.tags_before[changes.renamed]["aliases"], "the case needs a tag with aliases"
    assert (tag["name"], tag["deleted"]) == (changes.new_name, False)
    assert sorted(tag["aliases"]) == sorted(changes.tags_before[changes.renamed]["aliases"])
    carrier = changes.carriers[changes.renamed][0]
    names = {t["id"]: t["name"] for t in find_scenes(server, [carrier])[carrier]["tags"]}
    assert names[changes.renamed] == changes.new_name


def test_a_destroyed_tag_is_kept_deleted_without_aliases_and_on_no_scene(changed_server):
    _, _, changes = changed_server
    tag = changes.tags_after[changes.destroyed]
    assert changes.tags_before[changes.destroyed]["aliases"], "the case needs a tag with aliases"
    assert (tag["deleted"], tag["aliases"], tag["name"]) == (True, [], changes.tags_before[changes.destroyed]["name"])
    assert all(changes.destroyed not in changes.scene_tags_after[s] for s in changes.carriers[changes.destroyed])


def test_a_submitted_fingerprint_finds_its_scene_at_once(changed_server):
    """No edit, no vote: the next fingerprint request finds the scene (and its `updated` stays,
    as the first test holds for every scene but the edited one)."""
    _, _, changes = changed_server
    assert changes.found_by_new_fingerprint == [changes.fingerprinted_scene]


def test_a_tag_the_admin_deletes_is_gone_and_on_no_scene(changed_server):
    _, _, changes = changed_server
    assert changes.tags_before[changes.deleted] is not None and changes.tags_after[changes.deleted] is None
    assert all(changes.deleted not in changes.scene_tags_after[s] for s in changes.carriers[changes.deleted])


def test_queryscenes_lists_live_scenes_only(changed_server):
    _, seeded, changes = changed_server
    live = {scene.id for scene in seeded.library.stashdb_scenes if not scene.deleted}
    assert seeded.merged and set(changes.updated_after) == live


def test_a_scene_merge_moves_the_kept_scene_only(changed_server):
    """Seeding merged scenes away: after it, the scenes whose `updated` is past their `created`
    are exactly the merge targets (the merged-away ones are no longer listed at all)."""
    server, seeded, changes = changed_server
    times = scene_changes.SceneTimes()
    copy_scene_times(server, list(changes.updated_before), times)
    moved = {s for s, updated in changes.updated_before.items()
             if scene_changes.parse_stashbox_time(updated) > times.get(s, "created")}
    assert moved == set(seeded.merged.values())


def edit_summary(edit: dict) -> tuple:
    return (edit["operation"], edit["target"]["id"], tuple(sorted(source["id"] for source in edit["merge_sources"])))


def test_applied_edits_list_the_tag_changes_but_not_the_admins_delete(changed_server):
    """queryEdits(target_type: TAG, applied, CLOSED_AT DESC): the DESTROY, the rename and the
    MERGE (naming its source), newest first; the admin's tagDestroy left no edit."""
    _, _, changes = changed_server
    assert [edit_summary(edit) for edit in changes.tag_edits] == [
        ("DESTROY", changes.destroyed, ()), ("MODIFY", changes.renamed, ()),
        ("MERGE", changes.merge_target, (changes.merge_source,))]


def test_applied_edits_name_every_scene_merged_away_or_destroyed(changed_server):
    """queryEdits(target_type: SCENE, ...): the scene edit first, then the seed's merges (kept
    scene as target, merged-away ones as sources) and destroys: the deleted scenes that
    queryScenes never lists."""
    _, seeded, changes = changed_server
    summaries = [edit_summary(edit) for edit in changes.scene_edits]
    assert summaries[0] == ("MODIFY", changes.edited_scene, ())
    merged = {(source, target) for operation, target, sources in summaries if operation == "MERGE"
              for source in sources}
    destroyed = {target for operation, target, _ in summaries if operation == "DESTROY"}
    assert merged == set(seeded.merged.items()) and destroyed == set(seeded.destroyed)
    assert all(edit["applied"] and edit["closed"] for edit in changes.scene_edits)


def simulator_with_the_same_changes(server: RealStashBox, seeded: SeededLibrary, changes: Changes):
    library = seeded.library
    sim = StashDBSimulator(StashDBData(library.stashdb_tags, library.stashdb_scenes), api_key=server.api_key,
                           user_name="root")
    scene_changes.edit_scene_tags(sim.data, sim.scene_times, changes.edited_scene, changes.new_scene_tags)
    scene_changes.merge_tags(sim.data, changes.merge_target, [changes.merge_source], changes.merged_aliases)
    scene_changes.rename_tag(sim.data, changes.renamed, changes.new_name)
    scene_changes.destroy_tag(sim.data, changes.destroyed)
    scene_changes.delete_tag(sim.data, changes.deleted)
    scene_changes.add_fingerprint(sim.data, changes.fingerprinted_scene, NEW_FINGERPRINT)
    copy_scene_times(server, [scene.id for scene in library.stashdb_scenes], sim.scene_times)
    return sim


def test_the_simulator_answers_as_the_changed_server(changed_server):
    """Same changes to the simulator: findTag of each changed tag, findScene of every scene that
    carried one, and queryScenes paged by UPDATED_AT answer as the server does."""
    server, seeded, changes = changed_server
    tag_ids = list(changes.tags_after)
    cases = [Case("changed tags", build_find_tags_by_ids_query(len(tag_ids)),
                  {scene_id_variable(i): v for i, v in enumerate(tag_ids)})]
    scene_ids = sorted(changes.scene_tags_after)
    cases += [Case(f"scenes that carried a changed tag #{n}", build_find_scenes_by_ids_query(len(chunk)),
                   {scene_id_variable(i): v for i, v in enumerate(chunk)}) for n, chunk in enumerate(chunks(scene_ids, 40))]
    cases.append(Case("the submitted fingerprint", FIND_SCENES_BY_FINGERPRINTS_QUERY,
                      {"fingerprints": [[{"hash": NEW_FINGERPRINT.hash, "algorithm": NEW_FINGERPRINT.algorithm}]]}))
    cases += scenes_by_time_cases(len(changes.updated_after))
    with simulator_with_the_same_changes(server, seeded, changes) as sim:
        found = differences(cases, server.url, sim.url, server.api_key)
    assert not found, f"{len(found)} of {len(cases)} requests answered differently:\n" + "\n".join(found[:8])

