"""The StashDB simulator answers as the real stash-box does (differential test).

The simulator is built from the seeded library — the very tags, scenes and ids the real
server holds — and served over HTTP; every request below goes to both, and the normalised
answers (tests/stashbox/differential.py) must be equal. The requests are the plugin's own
documents (stashdb_api) over the whole seeded library, and the edges the plugin relies on:
40 and 41 fingerprint lists, MD5, the algorithm label, hash spellings, malformed, unknown and
deleted ids, no key and a wrong key; and `queryScenes` newest first by `updated`, paged, as
the refresh reads it (the simulator given each scene's times as `findScene` reports them).
A difference fails the test and names the request with both answers.
"""
from __future__ import annotations

import pytest

from stashdb_api import (
    FIND_SCENES_BY_FINGERPRINTS_QUERY,
    ME_QUERY,
    build_find_scenes_by_ids_query,
    build_find_tags_by_ids_query,
    chunks,
    fingerprint_queries_from_files,
    scene_id_variable,
)
from tests.simulators import StashDBData, StashDBSimulator
from tests.stashbox.differential import NO_KEY, WRONG_KEY, Case, differences
from tests.stashbox.scene_paging import copy_scene_times, scenes_by_time_cases

UNKNOWN_ID = "00000000-0000-4000-8000-00000000abcd"
PER_REQUEST = 40


@pytest.fixture(scope="module")
def simulator(seeded, stashbox):
    library = seeded.library
    data = StashDBData(library.stashdb_tags, library.stashdb_scenes)
    with StashDBSimulator(data, api_key=stashbox.api_key, user_name="root") as sim:
        copy_scene_times(stashbox, [scene.id for scene in library.stashdb_scenes], sim.scene_times)
        yield sim


def assert_same_answers(cases, stashbox, simulator):
    found = differences(cases, stashbox.url, simulator.url, stashbox.api_key)
    assert not found, f"{len(found)} of {len(cases)} requests answered differently:\n" + "\n".join(found[:8])


def by_ids_cases(name: str, build_query, ids: list[str], key: str = "admin") -> list[Case]:
    return [Case(f"{name} #{number}", build_query(len(chunk)),
                 {scene_id_variable(i): value for i, value in enumerate(chunk)}, key)
            for number, chunk in enumerate(chunks(ids, PER_REQUEST))]


def fingerprint_case(name: str, sets: list[list[dict]], key: str = "admin") -> Case:
    return Case(name, FIND_SCENES_BY_FINGERPRINTS_QUERY, {"fingerprints": sets}, key)


def local_fingerprint_sets(library) -> list[list[dict]]:
    """What the plugin asks for each local scene with a StashID, files' fingerprints as sent."""
    in_scope = [scene for scene in library.local_scenes if scene.stash_id_for(library.endpoint)]
    return [fingerprint_queries_from_files(
        [{"fingerprints": [{"type": fp.type, "value": fp.value} for fp in file.fingerprints]} for file in scene.files])
        for scene in in_scope]


def test_every_scene_by_fingerprints(seeded, stashbox, simulator):
    sets = [s for s in local_fingerprint_sets(seeded.library) if s]
    cases = [fingerprint_case(f"fingerprints #{n}", list(chunk)) for n, chunk in enumerate(chunks(sets, PER_REQUEST))]
    assert len(sets) > 1500
    assert_same_answers(cases, stashbox, simulator)


def test_every_stashdb_scene_by_its_own_fingerprints(seeded, stashbox, simulator):
    """Each seeded scene's fingerprints, deleted ones too (never answered), one list each."""
    scenes = [scene for scene in seeded.library.stashdb_scenes if scene.fingerprints]
    assert any(scene.deleted for scene in scenes)
    sets = [[{"hash": fp.hash, "algorithm": fp.algorithm} for fp in scene.fingerprints] for scene in scenes]
    cases = [fingerprint_case(f"own fingerprints #{n}", list(chunk)) for n, chunk in enumerate(chunks(sets, PER_REQUEST))]
    assert_same_answers(cases, stashbox, simulator)


def test_every_scene_and_tag_by_id(seeded, stashbox, simulator):
    library = seeded.library
    scene_ids = [scene.id for scene in library.stashdb_scenes]
    scene_ids += [sid for s in library.local_scenes for sid in [s.stash_id_for(library.endpoint)] if sid]
    tag_ids = [tag.id for tag in library.stashdb_tags]
    cases = by_ids_cases("scenes by id", build_find_scenes_by_ids_query, sorted(set(scene_ids)))
    cases += by_ids_cases("tags by id", build_find_tags_by_ids_query, tag_ids)
    assert len(scene_ids) > 2000
    assert_same_answers(cases, stashbox, simulator)


def test_deleted_scenes_by_id(seeded, stashbox, simulator):
    """Merged-away scenes keep their tags; destroyed ones have none; both say deleted."""
    assert seeded.merged and seeded.destroyed
    cases = by_ids_cases("deleted scenes", build_find_scenes_by_ids_query,
                         [*seeded.merged, *seeded.destroyed, *seeded.merged.values()])
    assert_same_answers(cases, stashbox, simulator)


def live_scene_hashes(library, algorithm: str) -> list[str]:
    return [fp.hash for scene in library.stashdb_scenes if not scene.deleted
            for fp in scene.fingerprints if fp.algorithm == algorithm]


def test_fingerprint_edges(seeded, stashbox, simulator):
    library = seeded.library
    oshashes, phashes = live_scene_hashes(library, "OSHASH"), live_scene_hashes(library, "PHASH")
    one = [[{"hash": oshashes[0], "algorithm": "OSHASH"}]]
    md5s = [fp.value for scene in library.local_scenes for file in scene.files for fp in file.fingerprints
            if fp.type == "md5"]
    cases = [
        fingerprint_case("40 lists", one * 40),
        fingerprint_case("41 lists: too many scenes", one * 41),
        fingerprint_case("no lists", []),
        fingerprint_case("an empty list", [[]]),
        fingerprint_case("MD5 only", [[{"hash": md5, "algorithm": "MD5"}] for md5 in md5s[:5]]),
        fingerprint_case("MD5 beside an OSHASH", [[{"hash": md5s[0], "algorithm": "MD5"}, *one[0]]]),
        fingerprint_case("PHASH values sent as OSHASH", [[{"hash": h, "algorithm": "OSHASH"}] for h in phashes[:10]]),
        fingerprint_case("OSHASH values sent as PHASH", [[{"hash": h, "algorithm": "PHASH"}] for h in oshashes[:10]]),
        fingerprint_case("hash spellings", [[{"hash": spelling, "algorithm": "PHASH"}] for h in phashes[:5]
                                            for spelling in (h.upper(), h.rjust(16, "0"), h.lstrip("0") or "0")]),
        fingerprint_case("a hash that is not hex", [[{"hash": "xyz", "algorithm": "OSHASH"}]]),
        fingerprint_case("an empty hash", [[{"hash": "", "algorithm": "OSHASH"}]]),
        fingerprint_case("a 17-digit hash", [[{"hash": "1" + oshashes[0], "algorithm": "OSHASH"}]]),
        fingerprint_case("no key", one, NO_KEY),
        fingerprint_case("a wrong key", one, WRONG_KEY),
    ]
    assert_same_answers(cases, stashbox, simulator)


def test_id_edges(seeded, stashbox, simulator):
    library = seeded.library
    live = next(scene.id for scene in library.stashdb_scenes if not scene.deleted)
    tag = library.stashdb_tags[0].id
    malformed = ["not-a-uuid", "g" * 36, live.upper(), live.replace("-", ""), "{" + live + "}", "urn:uuid:" + live,
                 "", " " + live, live[:-1] + "-"]
    cases = [
        *by_ids_cases("malformed scene ids beside good ones", build_find_scenes_by_ids_query,
                      [live, *malformed, UNKNOWN_ID]),
        *by_ids_cases("malformed tag ids beside good ones", build_find_tags_by_ids_query,
                      [tag, "not-a-uuid", UNKNOWN_ID]),
        *by_ids_cases("scenes with no key", build_find_scenes_by_ids_query, [live, "not-a-uuid", UNKNOWN_ID], NO_KEY),
        *by_ids_cases("scenes with a wrong key", build_find_scenes_by_ids_query, [live], WRONG_KEY),
        Case("me", ME_QUERY, {}),
        Case("me with no key", ME_QUERY, {}, NO_KEY),
        Case("me with a wrong key", ME_QUERY, {}, WRONG_KEY),
        Case("a query naming no such field", "query Broken { nope }", {}),
        Case("a body that is not JSON", "", {}, raw_body=b"{not json"),
    ]
    assert_same_answers(cases, stashbox, simulator)


def test_scenes_by_updated_pages(seeded, stashbox, simulator):
    """queryScenes by UPDATED_AT: live scenes only, paged, ties broken by id; page/per_page edges."""
    live = [scene for scene in seeded.library.stashdb_scenes if not scene.deleted]
    assert len(live) > 2000
    assert_same_answers(scenes_by_time_cases(len(live)), stashbox, simulator)
