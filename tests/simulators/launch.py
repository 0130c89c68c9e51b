"""Start both simulators over one generated library, wired together.

The Stash simulator lists the StashDB simulator as its stash-box: endpoint =
the StashDB simulator's URL, which also replaces the library's placeholder
endpoint in every local stash id, so ``stash_id_endpoint`` filters by it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from .library import Library
from .stash_sim import DEFAULT_SESSION_COOKIE, StashBoxConfig, StashSimulator
from .stashdb_data import StashDBData
from .stashdb_sim import DEFAULT_API_KEY, StashDBSimulator

STASH_BOX_NAME = "StashDB"


@dataclass
class RunningSimulators:
    stash: StashSimulator
    stashdb: StashDBSimulator
    library: Library

    def stop(self) -> None:
        self.stash.stop()
        self.stashdb.stop()

    def __enter__(self) -> "RunningSimulators":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def stash_base_url(self) -> str:
        return f"http://127.0.0.1:{self.stash.port}"

    def env(self) -> dict[str, str]:
        """STASH_URL (base, no /graphql), STASH_API_KEY, STASHDB_URL (GraphQL), STASHDB_API_KEY."""
        return {
            "STASH_URL": self.stash_base_url,
            "STASH_API_KEY": self.stash.api_key or "",
            "STASHDB_URL": self.stashdb.url,
            "STASHDB_API_KEY": self.stashdb.api_key,
        }

    def server_connection(self, plugin_dir: str = "", stash_dir: str = "") -> dict[str, Any]:
        """``server_connection`` as Stash puts it in a plugin's stdin JSON."""
        cookie = {
            "Name": "session", "Value": self.stash.session_cookie, "Path": "", "Domain": "",
            "Expires": "0001-01-01T00:00:00Z", "RawExpires": "", "MaxAge": 0, "Secure": False,
            "HttpOnly": False, "SameSite": 0, "Raw": "", "Unparsed": None,
        }
        return {
            "Scheme": "http", "Host": "0.0.0.0", "Port": self.stash.port,
            "SessionCookie": cookie, "Dir": stash_dir, "PluginDir": plugin_dir,
        }

    def plugin_input(self, args: dict[str, Any] | None = None, plugin_dir: str = "") -> dict[str, Any]:
        """The JSON object a plugin run reads from stdin."""
        return {"server_connection": self.server_connection(plugin_dir), "args": dict(args or {})}


def start_simulators(
    library: Library,
    *,
    stash_api_key: str | None = None,
    stashdb_api_key: str = DEFAULT_API_KEY,
    stashdb_rpm: int | None = None,
    max_requests_per_minute: int = 0,
    plugin_settings: dict[str, dict[str, Any]] | None = None,
    session_cookie: str = DEFAULT_SESSION_COOKIE,
    stash_clock: Callable[[], float] = time.time,
    stashdb_clock: Callable[[], float] = time.monotonic,
) -> RunningSimulators:
    """Start StashDB then Stash; ``max_requests_per_minute`` is Stash's stash-box setting."""
    stashdb = StashDBSimulator(
        StashDBData(library.stashdb_tags, library.stashdb_scenes),
        api_key=stashdb_api_key, requests_per_minute=stashdb_rpm, clock=stashdb_clock,
    ).start()
    try:
        stash = StashSimulator(
            library.local_tags, library.local_scenes,
            api_key=stash_api_key, session_cookie=session_cookie,
            stash_boxes=[StashBoxConfig(stashdb.url, stashdb_api_key, STASH_BOX_NAME, max_requests_per_minute)],
            exclude_tag_patterns=library.spec.exclude_tag_patterns,
            plugin_settings=plugin_settings, clock=stash_clock,
            endpoint_aliases={library.endpoint: stashdb.url},
        ).start()
    except BaseException:
        stashdb.stop()
        raise
    return RunningSimulators(stash, stashdb, library)
