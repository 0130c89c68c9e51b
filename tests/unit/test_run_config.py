"""Settings and stash-box choice from Stash's configuration."""
from __future__ import annotations

import pytest

from run_config import (
    ConfigError,
    choose_stash_box,
    exclude_patterns,
    parse_dotenv,
    plugin_settings,
    run_mode_from_settings,
    stash_connection_from_url,
)

BOXES = [
    {"endpoint": "https://fansdb.cc/graphql", "api_key": "k-fans", "name": "FansDB", "max_requests_per_minute": 0},
    {"endpoint": "https://stashdb.org/graphql", "api_key": "k-sdb", "name": "StashDB", "max_requests_per_minute": 60},
]


@pytest.mark.parametrize("value, expected", [
    (None, True), (True, True), (False, False), ("false", False), ("true", True),
])
def test_dry_run_is_on_unless_turned_off(value, expected):
    settings = {} if value is None else {"syncDryRun": value}
    assert run_mode_from_settings(settings).dry_run is expected


def test_plugin_settings_of_this_plugin_only():
    configuration = {"plugins": {"tagManager": {"syncDryRun": False}, "other": {"x": 1}}}
    assert plugin_settings(configuration) == {"syncDryRun": False}
    assert plugin_settings({"plugins": None}) == {}


def test_default_stash_box_is_the_one_on_stashdb_org():
    box = choose_stash_box(BOXES, "")
    assert (box.endpoint, box.api_key, box.max_requests_per_minute) == ("https://stashdb.org/graphql", "k-sdb", 60)


@pytest.mark.parametrize("wanted", ["fansdb", "FansDB", "https://fansdb.cc/graphql", "https://fansdb.cc/graphql/"])
def test_stash_box_chosen_by_name_or_url(wanted):
    assert choose_stash_box(BOXES, wanted).name == "FansDB"


def test_missing_stash_box_names_what_is_configured():
    with pytest.raises(ConfigError) as error:
        choose_stash_box(BOXES, "PMVStash")
    assert "FansDB (https://fansdb.cc/graphql)" in str(error.value)
    assert "k-fans" not in str(error.value)


def test_stash_box_without_api_key_is_refused():
    with pytest.raises(ConfigError, match="no API key"):
        choose_stash_box([{"endpoint": "https://stashdb.org/graphql", "api_key": "", "name": "StashDB"}], "")


def test_exclude_patterns_read_from_scraping():
    assert exclude_patterns({"scraping": {"excludeTagPatterns": ["^a", None, "b"]}}) == ("^a", "b")
    assert exclude_patterns({}) == ()


def test_stash_url_becomes_a_server_connection():
    assert stash_connection_from_url("https://stash.local:8443", "key") == {
        "Scheme": "https", "Host": "stash.local", "Port": 8443, "ApiKey": "key"}
    assert stash_connection_from_url("localhost", None) == {"Scheme": "http", "Host": "localhost", "Port": 9999}


def test_dotenv_lines():
    text = "# comment\nexport STASH_URL=http://x:1\nSTASH_API_KEY='abc=def'\n\nBROKEN\n"
    assert parse_dotenv(text) == {"STASH_URL": "http://x:1", "STASH_API_KEY": "abc=def"}


@pytest.mark.parametrize("value, expected", [("-1", None), (-1, None), ("5", 5), (12, 12)])
def test_limit_accepts_positive_numbers_and_minus_one_for_all(value, expected):
    from run_config import parse_limit

    assert parse_limit(value) == expected


@pytest.mark.parametrize("value", ["0", 0, "-2", "x", "2.5", True, "٣", "", " ", None])
def test_limit_refuses_everything_else(value):
    from run_config import ConfigError, parse_limit

    with pytest.raises(ConfigError, match="limit"):
        parse_limit(value)


def test_scene_ids_come_as_a_list_or_text_and_must_be_whole_numbers():
    from run_config import ConfigError, parse_scene_ids

    assert parse_scene_ids("12, 40;7,12") == ("12", "40", "7")
    assert parse_scene_ids([3, "04"]) == ("3", "4")
    for empty in (None, "", ",", " ; ", []):
        with pytest.raises(ConfigError, match="scene_ids"):
            parse_scene_ids(empty)
    with pytest.raises(ConfigError, match="'x1'"):
        parse_scene_ids("5,x1")


@pytest.mark.parametrize("value, on, warned", [
    (None, False, False), (True, True, False), ("on", True, False), ("TRUE", True, False), (1, True, False),
    (False, False, False), ("off", False, False), (0, False, False),
    ("maybe", False, True), ("", False, True), (2, False, True), ([True], False, True), ({"on": 1}, False, True),
])
def test_following_tag_changes_is_on_only_when_set_to_a_yes(value, on, warned):
    from run_config import follow_tag_changes_from_settings

    settings = {} if value is None else {"syncFollowTagChanges": value}
    follow, warning = follow_tag_changes_from_settings(settings)
    assert follow is on and (warning is not None) is warned
    if warned:
        assert "syncFollowTagChanges" in warning and repr(value) in warning
