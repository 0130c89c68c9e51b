"""What the user asked is what runs: a task argument or a setting that is unknown, empty or
garbled is refused before StashDB is asked anything (or, for syncDryRun, means a dry run);
it never widens a run into "every scene, live".

Each case runs the real plugin (stdin JSON in, one JSON answer out) with syncDryRun off, so
a case that slipped through would write to every scene of the library.
"""
from __future__ import annotations

import pytest

from tests.unit.plugin_harness import FakeServers, assert_stash_protocol, run_plugin

SYNC = {"mode": "sync_scene_tags"}


@pytest.mark.parametrize("extra, refusal", [
    ({"scene_ids": ","}, "scene_ids"),
    ({"scene_ids": []}, "scene_ids"),
    ({"scene_ids": " ; "}, "scene_ids"),
    ({"scene_ids": ""}, "scene_ids"),
    ({"scene_ids": None}, "scene_ids"),
    ({"limit": ""}, "limit"),
    ({"scene_id": "201"}, "unknown argument(s) 'scene_id'"),
    ({"dry_run": "true"}, "unknown argument(s) 'dry_run'"),
    ({"full_dry_run": "maybe"}, "full_dry_run"),
    ({"full_dry_run": ""}, "full_dry_run"),
    ({"full_dry_run": 2}, "full_dry_run"),
])
def test_a_task_argument_never_widens_a_live_run(extra, refusal, tmp_path):
    servers = FakeServers(scene_count=3)
    code, stdout, stderr = run_plugin(servers, tmp_path, args={**SYNC, **extra})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and refusal in result["error"]
    assert servers.mutations == [] and servers.stashdb_ops == []
    assert not (tmp_path / "plugin_data").exists()  # not even a report folder


def test_an_unknown_task_argument_is_refused_naming_the_accepted_ones(tmp_path):
    code, stdout, stderr = run_plugin(FakeServers(), tmp_path, args={**SYNC, "scene_id": "201"})
    error = assert_stash_protocol(stdout, stderr)["error"]
    assert error == ("sync_scene_tags: unknown argument(s) 'scene_id'; it takes scene_ids, limit, "
                     "full_dry_run")


@pytest.mark.parametrize("word", ["true", "TRUE", "Yes", "1", "on", " On "])
def test_every_true_word_turns_the_full_dry_run_on(word, tmp_path):
    servers = FakeServers()
    code, stdout, stderr = run_plugin(servers, tmp_path, args={**SYNC, "full_dry_run": word})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["dry_run"] is True and servers.mutations == []


@pytest.mark.parametrize("word", ["false", "No", "0", "OFF"])
def test_every_false_word_leaves_the_run_to_the_setting(word, tmp_path):
    servers = FakeServers()
    code, stdout, stderr = run_plugin(servers, tmp_path, args={**SYNC, "full_dry_run": word})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["dry_run"] is False and len(servers.mutations) == 2


def test_one_rule_for_every_yes_or_no():
    from run_config import ConfigError, boolean_value, parse_boolean

    for value in (True, "true", "TRUE", "yes", "1", 1, "on", "On"):
        assert parse_boolean(value) is True, value
    for value in (False, "false", "No", "0", 0, "off", "OFF"):
        assert parse_boolean(value) is False, value
    for value in ("maybe", "", None, [], {}, 0.0, 1.0, 2, "2", "tru"):
        assert parse_boolean(value) is None, value
        with pytest.raises(ConfigError, match="full_dry_run must be one of true/yes/1/on or false/no/0/off"):
            boolean_value("full_dry_run", value)


@pytest.mark.parametrize("value, dry_run, said", [
    (None, True, "has never been set"),
    (True, True, "is on"),
    ("on", True, "is on"),
    ("TRUE", True, "is on"),
    (1, True, "is on"),
    (False, False, "is off"),
    ("off", False, "is off"),
    (0, False, "is off"),
    ([], True, "is not a yes or no"),
    ({}, True, "is not a yes or no"),
    (0.0, True, "is not a yes or no"),
    ("maybe", True, "is not a yes or no"),
])
def test_the_run_mode_is_dry_unless_the_setting_really_says_off(value, dry_run, said):
    from run_config import run_mode_from_settings

    settings = {} if value is None else {"syncDryRun": value}
    mode = run_mode_from_settings(settings)
    assert mode.dry_run is dry_run and said in mode.reason
    assert mode.as_dict()["label"] == ("Dry run" if dry_run else "Live")


@pytest.mark.parametrize("value", [[], {}, 0.0, "maybe"])
def test_a_dry_run_setting_that_is_not_a_yes_or_no_runs_dry(value, tmp_path):
    servers = FakeServers(settings={"syncDryRun": value})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["dry_run"] is True and servers.mutations == []
    assert "is not a yes or no" in stderr


@pytest.mark.parametrize("setting", ["syncCreateMissing", "syncSkipOrganized"])
def test_a_garbled_switch_setting_is_refused_before_stashdb_is_asked(setting, tmp_path):
    servers = FakeServers(settings={"syncDryRun": False, setting: "sometimes"})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and setting in result["error"] and "'sometimes'" in result["error"]
    assert servers.mutations == [] and servers.stashdb_ops == []


def test_a_garbled_endpoint_setting_is_refused(tmp_path):
    servers = FakeServers(settings={"syncDryRun": False, "syncEndpoint": ["StashDB"]})
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 1 and "syncEndpoint" in result["error"]
    assert servers.mutations == [] and servers.stashdb_ops == []


@pytest.mark.parametrize("value", ["maybe", "", 2, [], "on "])
def test_an_operation_boolean_follows_the_same_rule(value, tmp_path):
    args = {"mode": "link_tag", "stashdb_id": "t-anal", "tag_id": "1", "add_alias": value}
    code, stdout, stderr = run_plugin(FakeServers(), tmp_path, args=args)
    result = assert_stash_protocol(stdout, stderr)
    if value == "on ":
        assert "must be one of" not in (result["error"] or "")
    else:
        assert code == 1 and "add_alias must be one of true/yes/1/on or false/no/0/off" in result["error"]


def test_the_run_mode_operation_answers_what_a_run_would_do(tmp_path):
    servers = FakeServers(settings={"syncDryRun": "on"})
    code, stdout, stderr = run_plugin(servers, tmp_path, args={"mode": "run_mode"})
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["output"]["dry_run"] is True and result["output"]["label"] == "Dry run"
    assert result["output"]["setting"] == "on" and "syncDryRun is on" in result["output"]["reason"]
    assert servers.stashdb_ops == [] and servers.mutations == []


def test_a_stashdb_answer_that_does_not_decode_defers_its_scenes_and_fails_none(tmp_path):
    from stashdb_api import FIND_SCENES_BY_FINGERPRINTS_OPERATION

    def nested_fingerprint_answer(body):
        if body.get("operationName") == FIND_SCENES_BY_FINGERPRINTS_OPERATION:
            return 200, {}, "[" * 200_000
        return None

    servers = FakeServers(stashdb_fault=nested_fingerprint_answer)
    code, stdout, stderr = run_plugin(servers, tmp_path)
    result = assert_stash_protocol(stdout, stderr)
    assert code == 0 and result["error"] is None
    assert result["output"]["outcomes"]["updated"] == 2 and result["output"]["outcomes"]["error"] == 0
    assert "RecursionError" not in stderr and "answer is not JSON" in stderr
