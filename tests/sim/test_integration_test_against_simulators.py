"""The integration test itself, pointed at the simulators: it can pass, and it can fail.

tests/integration_test_sync.py is run as its own pytest process with its environment
(STASH_URL, STASH_API_KEY, STASHDB_URL, STASHDB_API_KEY, TAGMANAGER_INTEGRATION_WRITE_SCENE)
naming the simulators; HOME is a scratch folder so that no ~/code/.env is read, and every
key it reads is set in the environment, which wins over any .env. The simulators' own logs
say what the test really did.
"""
from __future__ import annotations

import pytest

from tests.integration_process import run_integration_test
from tests.integration_rules import WRITE_SCENE_KEY
from tests.simulators import NO_STASH_ID, generate_library, start_simulators

STASH_KEY = "integration-sim-stash-key-7e1c"
ARRIVAL_JITTER = 0.1  # as in test_plugin_against_simulators.py: arrivals at a server on busy cores


@pytest.fixture(scope="module")
def library():
    return generate_library(120, seed=21)


def a_scene_to_write(library) -> int:
    return next(s.id for s in library.local_scenes if library.expected_outcome(s.id).category != NO_STASH_ID)


def test_the_integration_test_passes_against_the_simulators(library, tmp_path):
    with start_simulators(library, stash_api_key=STASH_KEY) as sims:
        scene_id = a_scene_to_write(library)
        before = sims.stash.tags_snapshot()
        settings = {**sims.env(), WRITE_SCENE_KEY: str(scene_id)}
        code, outcomes, output = run_integration_test(tmp_path, settings)
        after = sims.stash.tags_snapshot()
        writes = sims.stash.mutation_log.applied()
        me_arrivals = [e.monotonic for e in sims.stashdb.request_log.entries() if e.root_fields == ("me",)]
    assert code == 0, output[-4000:]
    assert outcomes == {
        "test_stashdb_accepts_the_key": "passed",
        "test_dry_run_against_real_servers_changes_nothing": "passed",
        "test_stashdb_requests_are_at_least_half_a_second_apart": "passed",
        "test_can_update_scene_tags_on_a_test_scene": "passed",
    }
    assert after == before  # the dry run wrote nothing and the write test undid its one tag
    assert [(w.mode, w.scene_ids, len(w.tag_ids)) for w in writes] == [("ADD", (scene_id,), 1),
                                                                        ("REMOVE", (scene_id,), 1)]
    assert writes[0].tag_ids == writes[1].tag_ids and writes[0].tag_ids[0] not in before[scene_id]
    rate_sample = me_arrivals[-11:]  # the rate test's requests, as StashDB saw them arrive
    assert len(rate_sample) == 11
    assert min(b - a for a, b in zip(rate_sample, rate_sample[1:])) >= 0.5 - ARRIVAL_JITTER
    assert STASH_KEY not in output and sims.stashdb.api_key not in output


def test_a_stashdb_url_no_stash_id_carries_fails_the_dry_run_test(library, tmp_path):
    with start_simulators(library, stash_api_key=STASH_KEY) as sims:
        settings = {**sims.env(), "STASHDB_URL": sims.stashdb.url + "/"}  # the simulator serves it too
        code, outcomes, output = run_integration_test(tmp_path, settings, "-k", "key or dry_run")
        assert sims.stash.mutation_log.applied() == []
    assert code == 1, output[-4000:]
    assert outcomes == {"test_stashdb_accepts_the_key": "passed",
                        "test_dry_run_against_real_servers_changes_nothing": "failed"}
    assert "the run examined 0 scenes" in output and "trailing slash" in output


def test_without_credentials_every_test_skips_and_names_what_is_missing(tmp_path):
    code, outcomes, output = run_integration_test(tmp_path, {"STASH_URL": "http://127.0.0.1:9"}, "-rs")
    assert code == 0, output[-4000:]
    assert set(outcomes.values()) == {"skipped"} and len(outcomes) == 4
    assert "need STASH_API_KEY, STASHDB_URL, STASHDB_API_KEY" in output
