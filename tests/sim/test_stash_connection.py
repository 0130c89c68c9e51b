"""The plugin's connection to a Stash on the same machine ignores the environment's proxy."""
from __future__ import annotations

import socket

from stash_local import LocalStash, connect_stash
from tests.simulators.launch import start_simulators
from tests.simulators.library import generate_library


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_loopback_stash_is_reached_past_a_proxy_variable_without_no_proxy(monkeypatch):
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with start_simulators(generate_library(20, seed=2)) as sims:
        stash = connect_stash(sims.server_connection())
        assert stash.s.trust_env is False
        assert len(LocalStash.from_stash_interface(stash).all_tags()) > 0
