"""`tag_manager.main()` in its own process, as Stash runs it, with a faster clock for tests.

The reliability tier runs thousands of scenes through many faulty runs; at StashDB's real
2 requests/second and 30 s timeouts that would take hours. This wrapper changes only the
two client factories (rate and timeouts, from the environment) and then runs the real
entry point on the real stdin/stdout/stderr:

    TAGMANAGER_TEST_STASHDB_RATE=40 TAGMANAGER_TEST_TIMEOUT=1 TAGMANAGER_TEST_OUTAGE_SECONDS=5 \\
        python -m tests.reliability.plugin_process < stdin.json

The outage window (run_health.OUTAGE_SECONDS, 2 minutes) is shortened only when
TAGMANAGER_TEST_OUTAGE_SECONDS is set, and the write operations' lock wait
(operation_lock.LOCK_WAIT_SECONDS, 30 s) only when TAGMANAGER_TEST_LOCK_WAIT_SECONDS is.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import operation_lock  # noqa: E402
import run_health  # noqa: E402
import tag_manager  # noqa: E402
from stash_local import LocalStash, connect_stash  # noqa: E402
from stashdb_api import StashDBClient  # noqa: E402

RATE = float(os.environ.get("TAGMANAGER_TEST_STASHDB_RATE", "2"))
TIMEOUT = float(os.environ.get("TAGMANAGER_TEST_TIMEOUT", "30"))


def fast_local_stash(connection: dict):
    return LocalStash.from_stash_interface(connect_stash(connection, timeout=TIMEOUT), timeout=TIMEOUT)


def fast_stashdb_client(box):
    return StashDBClient(box.endpoint, box.api_key, requests_per_second=RATE, timeout=TIMEOUT)


if __name__ == "__main__":
    if os.environ.get("TAGMANAGER_TEST_OUTAGE_SECONDS"):
        run_health.OUTAGE_SECONDS = float(os.environ["TAGMANAGER_TEST_OUTAGE_SECONDS"])
    if os.environ.get("TAGMANAGER_TEST_LOCK_WAIT_SECONDS"):
        operation_lock.LOCK_WAIT_SECONDS = float(os.environ["TAGMANAGER_TEST_LOCK_WAIT_SECONDS"])
    tag_manager.make_local_stash = fast_local_stash
    tag_manager.make_stashdb_client = fast_stashdb_client
    sys.exit(tag_manager.main([]))
