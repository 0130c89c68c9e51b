"""The integration test's credential precedence and its refusal to pass having examined nothing."""
from __future__ import annotations

from pathlib import Path

from tests.integration_rules import (
    REPO_ROOT,
    default_env_files,
    load_integration_settings,
    missing_credentials,
    nothing_examined,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_files_are_home_code_then_the_repository(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_env_files() == (tmp_path / "code" / ".env", REPO_ROOT / ".env")


def test_later_sources_win_key_by_key(tmp_path):
    home = write(tmp_path / "home" / "code" / ".env",
                 "STASH_URL=http://home:9999\nSTASH_API_KEY=home-key\nSTASHDB_URL=https://home.example/graphql\n")
    repo = write(tmp_path / "repo" / ".env", "export STASH_API_KEY='repo-key'\nSTASHDB_API_KEY=repo-db-key\n")
    settings = load_integration_settings([home, repo], {"STASHDB_URL": "https://env.example/graphql", "PATH": "/bin"})
    assert settings == {
        "STASH_URL": "http://home:9999",                 # only the home file has it
        "STASH_API_KEY": "repo-key",                     # the repository's file beats the home file
        "STASHDB_URL": "https://env.example/graphql",    # the environment beats both
        "STASHDB_API_KEY": "repo-db-key",
    }
    assert missing_credentials(settings) == []


def test_absent_files_are_skipped_and_unrelated_keys_ignored(tmp_path):
    repo = write(tmp_path / ".env", "STASH_URL=http://repo:9999\nOTHER_SECRET=x\n# STASH_API_KEY=commented\n")
    settings = load_integration_settings([tmp_path / "absent" / ".env", repo], {"HOME": "/root"})
    assert settings == {"STASH_URL": "http://repo:9999"}
    assert missing_credentials(settings) == ["STASH_API_KEY", "STASHDB_URL", "STASHDB_API_KEY"]


def test_an_empty_environment_variable_still_wins(tmp_path):
    repo = write(tmp_path / ".env", "STASH_URL=http://repo:9999\nTAGMANAGER_INTEGRATION_WRITE_SCENE=12\n")
    settings = load_integration_settings([repo], {"STASH_URL": "", "TAGMANAGER_INTEGRATION_WRITE_SCENE": ""})
    assert settings == {"STASH_URL": "", "TAGMANAGER_INTEGRATION_WRITE_SCENE": ""}
    assert "STASH_URL" in missing_credentials(settings)


def test_a_run_that_examined_no_scene_is_a_failure_that_says_why():
    message = nothing_examined({"scenes_total": 0, "scenes_processed": 0}, "https://stashdb.org/graphql/")
    assert message is not None
    assert "examined 0 scenes" in message and "'https://stashdb.org/graphql/'" in message
    assert "trailing slash" in message
    assert nothing_examined({}, "e") is not None
    assert "3 with a StashID" in nothing_examined({"scenes_total": 3, "scenes_processed": 0}, "e")


def test_a_run_that_examined_scenes_is_not_refused():
    assert nothing_examined({"scenes_total": 500, "scenes_processed": 200}, "https://stashdb.org/graphql") is None
    assert nothing_examined({"scenes_total": 1, "scenes_processed": 1}, "e") is None
