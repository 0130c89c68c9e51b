"""The plugin run as Stash runs it, with the real stash-box as its StashDB.

`python tag_manager.py` is fed Stash's stdin JSON; the local side is the Stash simulator
holding the seeded library's local scenes and tags, its stash-box entry naming the real
server. One live run over all 2,200 scenes at the plugin's own 2 requests a second: every
scene must end with exactly the tags the library's independent expectation gives, found
the way it predicts (by fingerprint or by id) — the MD5-only scenes by id.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plugin_answer import PluginAnswer
from tests.simulators.expectations import FOUND_BY_ID
from tests.simulators.stash_sim import StashBoxConfig, StashSimulator

REPO_ROOT = Path(__file__).resolve().parents[2]
BOX_NAME = "StashDB"


class PluginRun(PluginAnswer):
    def __init__(self, process: subprocess.CompletedProcess):
        self.code, self.stdout, self.stderr = process.returncode, process.stdout, process.stderr


def run_plugin(stash: StashSimulator, work_dir: Path, settings: dict, mode: str = "sync_scene_tags") -> PluginRun:
    stash.set_plugin_settings("tagManager", settings)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STASH", "PYTHON"))}
    env["PYTHONPATH"] = str(REPO_ROOT.parent)
    cookie = {"Name": "session", "Value": stash.session_cookie}
    stdin = {"server_connection": {"Scheme": "http", "Host": "0.0.0.0", "Port": stash.port, "SessionCookie": cookie,
                                   "Dir": str(work_dir), "PluginDir": str(REPO_ROOT)},
             "args": {"mode": mode}}
    process = subprocess.run([sys.executable, str(REPO_ROOT / "tag_manager.py")], input=json.dumps(stdin),
                             capture_output=True, text=True, cwd=work_dir, env=env, timeout=600, check=False)
    return PluginRun(process)


@pytest.fixture(scope="module")
def live_run(seeded, stashbox, tmp_path_factory):
    library = seeded.library
    box = StashBoxConfig(stashbox.url, stashbox.api_key, BOX_NAME)
    with StashSimulator(library.local_tags, library.local_scenes, stash_boxes=[box],
                        endpoint_aliases={library.endpoint: stashbox.url}) as stash:
        before = stash.tags_snapshot()
        run = run_plugin(stash, tmp_path_factory.mktemp("plugin-cwd"), {"syncEndpoint": BOX_NAME, "syncDryRun": False})
        yield {"run": run, "before": before, "after": stash.tags_snapshot(), "library": library}


def test_every_scene_ends_with_exactly_its_expected_tags(live_run):
    run, library = live_run["run"], live_run["library"]
    assert run.code == 0, run.stderr[-2000:]
    for scene_id, before in live_run["before"].items():
        after = set(live_run["after"][scene_id])
        assert set(before) <= after, f"scene {scene_id} lost a tag"
        assert after == set(library.expected_tag_ids(scene_id)), f"scene {scene_id}"


def md5_only_scene_ids(library) -> list[int]:
    return [scene.id for scene in library.local_scenes if scene.files
            and all(fp.type == "md5" for file in scene.files for fp in file.fingerprints)]


def test_the_summary_matches_the_expectation(live_run):
    """Found by fingerprint and by id as predicted; the MD5-only scenes are among the by-id ones."""
    library = live_run["library"]
    md5_only = md5_only_scene_ids(library)
    assert len(md5_only) > 100 and {library.expected_outcome(s).found_by for s in md5_only} == {FOUND_BY_ID}
    summary, expected = live_run["run"].summary, library.expected_summary
    assert summary["scenes_total"] == expected.scenes_in_scope
    assert summary["outcomes"]["updated"] == expected.updated
    assert summary["outcomes"]["stale_stash_id"] == expected.stashdb_deleted
    assert summary["outcomes"]["not_found"] == expected.stashdb_not_found
    assert summary["outcomes"]["error"] == 0
    assert summary["tags_added"] == expected.tags_added
    assert (summary["found_by_fingerprint"], summary["found_by_id"]) == (
        expected.found_by_fingerprint, expected.found_by_id)
