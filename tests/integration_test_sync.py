"""Against a real Stash and a real StashDB.

Credentials: STASH_URL, STASH_API_KEY, STASHDB_URL and STASHDB_API_KEY, read from
`~/code/.env`, then `<repository>/.env`, then the environment, a later source winning key
by key (tests/integration_rules.py). Without all four every test here skips, saying which
are missing.

- The StashDB key is accepted.
- A dry run of the real sync changes no scene, and it must have examined at least one
  scene: a run over 0 scenes (say, a STASHDB_URL with a trailing slash, which no StashID
  carries) fails instead of passing with nothing checked.
- The StashDB requests the real client sends are at least 0.5 s apart (2 a second, under
  StashDB's 240 a minute), observed on the wire by timestamping `requests.Session.send`,
  and StashDB answers every one of them.
- Writing: only with TAGMANAGER_INTEGRATION_WRITE_SCENE=<local scene id>. The plugin's own
  write path adds one tag to that scene; the test then removes exactly that tag, leaving the
  scene's tag list as it was.

tests/sim/test_integration_test_against_simulators.py runs this file against the simulators,
so it is proven able to pass and to fail; tests/stashbox/test_whole_loop_with_real_stash.py
runs it against a real Stash v0.30.1 and a real stash-box, which that tier starts.
"""
from __future__ import annotations

import io
import json
import os
import time

import pytest
import requests

from tests.integration_rules import (
    CREDENTIAL_KEYS,
    REPO_ROOT,
    WRITE_SCENE_KEY,
    default_env_files,
    load_integration_settings,
    missing_credentials,
    nothing_examined,
)

RATE_SAMPLE_REQUESTS = 11      # ten gaps between consecutive requests
MIN_GAP_SECONDS = 0.5          # the client's 2 requests a second
# A request is stamped in Session.send, a moment after the limiter released it; that moment
# varies between requests by the thread's wake-up on a busy machine, so one gap may look
# shorter than the spacing the limiter kept, by at most this much.
SEND_JITTER_SECONDS = 0.05
WRITE_TIMEOUT_SECONDS = 30
REMOVE_TAG_MUTATION = """
mutation TagManagerIntegrationRemoveTag($input: BulkSceneUpdateInput!) {
  bulkSceneUpdate(input: $input) { id }
}
"""


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    settings = load_integration_settings(default_env_files(), os.environ)
    missing = missing_credentials(settings)
    if missing:
        pytest.skip(f"integration tests need {', '.join(missing)} (in ~/code/.env, {REPO_ROOT / '.env'} "
                    "or the environment)")
    return settings


@pytest.fixture(scope="module")
def local(env):
    from run_config import stash_connection_from_url
    from stash_local import LocalStash, connect_stash

    return LocalStash.from_stash_interface(
        connect_stash(stash_connection_from_url(env["STASH_URL"], env["STASH_API_KEY"])))


def scene_tags(local, scene_ids) -> dict[str, list[str]]:
    return {s["id"]: sorted(t["id"] for t in s["tags"]) for s in local.scenes_by_ids(scene_ids)}


def test_stashdb_accepts_the_key(env):
    from stashdb_api import StashDBClient

    assert StashDBClient(env["STASHDB_URL"], env["STASHDB_API_KEY"]).check_access()


def test_dry_run_against_real_servers_changes_nothing(env, local, tmp_path):
    import tag_manager

    scene_ids = local.scene_ids_with_stash_id(env["STASHDB_URL"])[:200]
    before = scene_tags(local, scene_ids)
    stderr = io.StringIO()
    code = tag_manager.main(["sync", "--dry-run", "--report-dir", str(tmp_path)], stderr=stderr,
                            environ={key: env[key] for key in CREDENTIAL_KEYS})
    reports = list(tmp_path.glob("*/summary.json"))
    assert len(reports) == 1, f"expected one report under {tmp_path}, found {reports}"
    summary = json.loads(reports[0].read_text(encoding="utf-8"))
    problem = nothing_examined(summary, env["STASHDB_URL"])
    assert problem is None, problem
    assert code in (0, 2), stderr.getvalue()[-3000:]
    assert scene_tags(local, scene_ids) == before
    assert "Summary (DRY RUN" in stderr.getvalue()


def test_stashdb_requests_are_at_least_half_a_second_apart(env, monkeypatch):
    from run_config import StashBox
    from tag_manager import make_stashdb_client

    sent: list[tuple[float, int]] = []
    real_send = requests.Session.send

    def stamped_send(session, request, **kwargs):
        stamp = time.monotonic()
        response = real_send(session, request, **kwargs)
        sent.append((stamp, response.status_code))
        return response

    monkeypatch.setattr(requests.Session, "send", stamped_send)
    client = make_stashdb_client(StashBox(env["STASHDB_URL"], env["STASHDB_API_KEY"], "StashDB"))
    for _ in range(RATE_SAMPLE_REQUESTS):
        client.check_access()
    stamps = [stamp for stamp, _status in sent]
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:])]
    assert len(sent) >= RATE_SAMPLE_REQUESTS
    assert {status for _stamp, status in sent} == {200}  # StashDB refused none (no 429)
    assert min(gaps) >= MIN_GAP_SECONDS - SEND_JITTER_SECONDS, gaps
    assert stamps[-1] - stamps[0] >= MIN_GAP_SECONDS * len(gaps) - SEND_JITTER_SECONDS, gaps


def test_can_update_scene_tags_on_a_test_scene(env, local):
    scene_id = env.get(WRITE_SCENE_KEY, "").strip()
    if not scene_id:
        pytest.skip(f"writes to a real scene only when {WRITE_SCENE_KEY}=<local scene id> is set")
    original = scene_tags(local, [scene_id])[scene_id]
    candidates = sorted((tag["id"] for tag in local.all_tags() if tag["id"] not in original), key=int)
    assert candidates, f"scene {scene_id} already has every local tag; pick another {WRITE_SCENE_KEY}"
    added = candidates[0]
    try:
        assert local.add_tags_to_scenes([(scene_id, [added])]) == {scene_id: None}
        assert scene_tags(local, [scene_id])[scene_id] == sorted([*original, added])
    finally:
        remove_tag(local, scene_id, added)
    assert scene_tags(local, [scene_id])[scene_id] == original


def remove_tag(local, scene_id: str, tag_id: str) -> None:
    """Undo the test's own addition: REMOVE exactly that tag (the plugin never removes)."""
    variables = {"input": {"ids": [scene_id], "tag_ids": {"ids": [tag_id], "mode": "REMOVE"}}}
    response = local.session.post(local.graphql_url, json={"query": REMOVE_TAG_MUTATION, "variables": variables},
                                  timeout=WRITE_TIMEOUT_SECONDS)
    response.raise_for_status()
    assert not response.json().get("errors"), response.json()["errors"]
