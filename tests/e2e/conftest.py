"""Fixtures shared by the end-to-end modules that run the plugin in a real Stash."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.e2e.stash_binary import skip_or_fail, stash_binary_or_skip
from tests.e2e.video_library import ffmpeg_missing


@pytest.fixture(scope="session")
def real_stash_binary() -> Path:
    """The Stash binary (v0.30.1 or later) at $TAGMANAGER_STASH_BIN, else the first in the cache
    folder (see stash_binary.py; .ci/run runs the tier once per binary there)."""
    return stash_binary_or_skip()


@pytest.fixture(scope="session")
def ffmpeg_tools() -> None:
    """ffmpeg and ffprobe, which Stash needs to scan videos and the tier needs to make them."""
    reason = ffmpeg_missing()
    if reason is not None:
        skip_or_fail(reason)


@pytest.fixture(scope="session")
def stashbox_api_key() -> str:
    """A fresh stash-box API key per run, so a leak into a log can be searched for."""
    return "e2e-stashbox-key-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def stashdb(stashbox_api_key: str):
    """A StashDB simulator for one test module, the stash-box its Stash is given."""
    from tests.simulators.stashdb_sim import StashDBSimulator

    with StashDBSimulator(api_key=stashbox_api_key) as sim:
        yield sim
