"""Against a real Stash and a real StashDB, dry run only (nothing is written).

Set STASH_URL, STASH_API_KEY, STASHDB_URL and STASHDB_API_KEY in the environment or in a
`.env` file at the repository root; without them these tests skip, saying which is missing.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from run_config import parse_dotenv, stash_connection_from_url

REQUIRED = ("STASH_URL", "STASH_API_KEY", "STASHDB_URL", "STASHDB_API_KEY")
ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def integration_env() -> dict[str, str]:
    values = parse_dotenv(ENV_FILE.read_text(encoding="utf-8")) if ENV_FILE.is_file() else {}
    values.update({k: v for k, v in os.environ.items() if k in REQUIRED})
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        pytest.skip(f"integration tests need {', '.join(missing)} (environment or .env)")
    return values


@pytest.fixture(scope="module")
def env():
    return integration_env()


def test_stashdb_accepts_the_key(env):
    from stashdb_api import StashDBClient

    assert StashDBClient(env["STASHDB_URL"], env["STASHDB_API_KEY"]).check_access()


def test_dry_run_against_real_servers_changes_nothing(env, monkeypatch):
    from stash_local import LocalStash, connect_stash
    import tag_manager

    local = LocalStash.from_stash_interface(
        connect_stash(stash_connection_from_url(env["STASH_URL"], env["STASH_API_KEY"])))
    scene_ids = local.scene_ids_with_stash_id(env["STASHDB_URL"])[:200]
    before = {s["id"]: sorted(t["id"] for t in s["tags"]) for s in local.scenes_by_ids(scene_ids)}
    for name in REQUIRED:
        monkeypatch.setenv(name, env[name])
    stderr = io.StringIO()
    code = tag_manager.main(["sync", "--dry-run"], stderr=stderr, environ=dict(os.environ))
    after = {s["id"]: sorted(t["id"] for t in s["tags"]) for s in local.scenes_by_ids(scene_ids)}
    assert code in (0, 2), stderr.getvalue()
    assert after == before
    assert "Summary (DRY RUN" in stderr.getvalue()
