"""Start a real Stash binary on 127.0.0.1 with a throw-away configuration.

The end-to-end tier talks to a genuine Stash server, v0.30.1 or later. This module only
runs a binary that already exists (built by hand, see `stash_binaries`); the
project never builds Stash. `RealStash` writes a config file that Stash accepts
as an already set-up system (Stash skips its setup wizard when the config file
exists and names `database` and `generated`), starts the binary, waits until
GraphQL answers, and stops it (SIGTERM, then SIGKILL) on exit.

Stash asks GitHub for a newer release as it starts (internal/api/check_version.go,
through the proxy named in the environment). Every Stash started here gets proxy
variables naming a closed port on 127.0.0.1, so that request fails at once on this
machine and nothing leaves it; NO_PROXY keeps loopback traffic (the plugin's own
requests to Stash and the simulators) direct.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import requests

from tests.e2e.stash_versions import MINIMUM_STASH_VERSION

logger = logging.getLogger("tagManager.e2e.stash_server")

STASH_BINARY_ENV = "TAGMANAGER_STASH_BIN"
STASH_UI_BINARY_ENV = "TAGMANAGER_STASH_UI_BIN"
LOOPBACK_HOST = "127.0.0.1"
NO_PROXY_HOSTS = "127.0.0.1,localhost"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")

VERSION_QUERY = "query StashVersion { version { version } }"

CONFIGURE_CREDENTIALS = """
mutation E2EConfigureCredentials($username: String!, $password: String!) {
  configureGeneral(input: {username: $username, password: $password}) { username }
}
"""

REQUEST_TIMEOUT_SECONDS = 30.0
STARTUP_TIMEOUT_SECONDS = 90.0
SHUTDOWN_GRACE_SECONDS = 15.0
STARTUP_POLL_SECONDS = 0.25


class StashServerError(RuntimeError):
    """The Stash process could not be started, or stopped answering."""


class StashGraphQLError(RuntimeError):
    """Stash answered a GraphQL request with `errors`."""

    def __init__(self, errors: list[dict[str, Any]]):
        self.errors = errors
        messages = "; ".join(str(error.get("message", error)) for error in errors)
        super().__init__(f"GraphQL errors: {messages}")


@dataclass(frozen=True)
class StashBoxEntry:
    """One entry of Stash's `stash_boxes` configuration list."""

    endpoint: str
    api_key: str
    name: str
    max_requests_per_minute: int = 0

    def as_config(self) -> dict[str, Any]:
        # Stash reads this list with koanf: a field with no `koanf` tag is matched
        # by its Go field name, case-insensitively (APIKey -> "apikey"); only
        # MaxRequestsPerMinute carries the tag "max_requests_per_minute"
        # (pkg/models/stash_box.go).
        return {
            "endpoint": self.endpoint,
            "apikey": self.api_key,
            "name": self.name,
            "max_requests_per_minute": self.max_requests_per_minute,
        }


def _cache_folder() -> Path:
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "tagmanager-e2e"


def default_stash_binary_path() -> Path:
    """Where the tier's baseline Stash server binary goes when built by hand (its web UI may
    be a placeholder): `$XDG_CACHE_HOME/tagmanager-e2e/stash-v0.30.1/stash`."""
    return _cache_folder() / f"stash-{MINIMUM_STASH_VERSION}" / "stash"


def default_stash_ui_binary_path() -> Path:
    """Where the browser tier's baseline Stash binary with the real web UI embedded goes:
    `$XDG_CACHE_HOME/tagmanager-e2e/stash-v0.30.1-ui/stash`."""
    return _cache_folder() / f"stash-{MINIMUM_STASH_VERSION}-ui" / "stash"


def _executable_or_none(candidate: Path) -> Path | None:
    return candidate if candidate.is_file() and os.access(candidate, os.X_OK) else None


def cached_stash_binaries(with_ui: bool) -> list[Path]:
    """Every Stash built by hand into the cache folder: the executable `stash` in each
    `stash-<anything>-ui/` folder (with_ui) or in each other `stash-<anything>/` folder.
    The baseline (v0.30.1) comes first, the rest by folder name. Which version each one is
    and whether the tiers take it: tier_plan.py."""
    baseline = default_stash_ui_binary_path() if with_ui else default_stash_binary_path()
    found = [binary for binary in map(_executable_or_none, _cache_folder().glob("stash-*/stash"))
             if binary is not None and binary.parent.name.endswith("-ui") == with_ui]
    return sorted(found, key=lambda binary: (binary != baseline, binary.parent.name))


def stash_binaries(with_ui: bool) -> list[Path]:
    """The binary $TAGMANAGER_STASH_BIN (or $TAGMANAGER_STASH_UI_BIN) names when it is set
    (nothing when that is not an executable file), else every one in the cache folder."""
    named = os.environ.get(STASH_UI_BINARY_ENV if with_ui else STASH_BINARY_ENV)
    if named:
        return [binary for binary in [_executable_or_none(Path(named))] if binary is not None]
    return cached_stash_binaries(with_ui)


def find_stash_binary() -> Path | None:
    """The Stash server binary a tier run uses: the one $TAGMANAGER_STASH_BIN names, else the
    first in the cache folder (.ci/run runs the tier once per binary, naming each)."""
    return next(iter(stash_binaries(with_ui=False)), None)


def find_stash_ui_binary() -> Path | None:
    """The real-UI Stash binary a browser tier run uses: $TAGMANAGER_STASH_UI_BIN, else the
    first `-ui` one in the cache folder."""
    return next(iter(stash_binaries(with_ui=True)), None)


def free_loopback_ports(count: int) -> list[int]:
    """`count` distinct TCP ports that are free on 127.0.0.1 right now (all bound at once,
    then closed)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((LOOPBACK_HOST, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def loopback_proxy_environment(closed_port: int) -> dict[str, str]:
    """Proxy variables that send any request for the outside world to a closed port on
    127.0.0.1 (so it fails at once), with loopback addresses exempt."""
    proxy = f"http://{LOOPBACK_HOST}:{closed_port}"
    return {**{name: proxy for name in PROXY_VARIABLES}, "NO_PROXY": NO_PROXY_HOSTS, "no_proxy": NO_PROXY_HOSTS}


@dataclass(frozen=True)
class StashPaths:
    """The folders and files of one throw-away Stash instance, all under `root`."""

    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / "config.yml"

    @property
    def database(self) -> Path:
        return self.root / "stash-go.sqlite"

    @property
    def generated(self) -> Path:
        return self.root / "generated"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def metadata(self) -> Path:
        return self.root / "metadata"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def scrapers(self) -> Path:
        return self.root / "scrapers"

    @property
    def log_file(self) -> Path:
        return self.root / "stash.log"

    @property
    def console_log(self) -> Path:
        return self.root / "stash-console.log"

    def make_dirs(self) -> None:
        for folder in (self.generated, self.cache, self.metadata, self.plugins, self.scrapers):
            folder.mkdir(parents=True, exist_ok=True)


def stash_config(
    paths: StashPaths,
    port: int,
    stash_boxes: Sequence[StashBoxEntry] = (),
    library_paths: Sequence[Path] = (),
    python_path: str | None = None,
    extra_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Stash's config keys (internal/manager/config/config.go) for a set-up system.

    `extra_config` adds or overrides keys (e.g. `parallel_tasks`)."""
    config: dict[str, Any] = {
        "host": LOOPBACK_HOST,
        "port": port,
        "database": str(paths.database),
        "generated": str(paths.generated),
        "cache": str(paths.cache),
        "metadata": str(paths.metadata),
        "blobs_storage": "DATABASE",
        "plugins_path": str(paths.plugins),
        "scrapers_path": str(paths.scrapers),
        "stash": [{"path": str(folder), "excludevideo": False, "excludeimage": False}
                  for folder in library_paths],
        "stash_boxes": [box.as_config() for box in stash_boxes],
        "logfile": str(paths.log_file),
        "loglevel": "Debug",
        "logaccess": False,
        "nobrowser": True,
        "notifications_enabled": False,
    }
    if python_path:
        config["python_path"] = python_path
    config.update(extra_config or {})
    return config


def write_config(config_file: Path, config: Mapping[str, Any]) -> None:
    """Write the config as JSON, which is also valid YAML for Stash's YAML parser."""
    config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")


class RealStash:
    """A running Stash process, for use as a context manager.

    `work_dir` must be an empty, disposable folder: the config, database,
    generated files, plugins folder and logs all live there. `proxy_port` is the
    closed loopback port Stash's proxy variables name.
    """

    def __init__(
        self,
        binary: Path,
        work_dir: Path,
        stash_boxes: Sequence[StashBoxEntry] = (),
        library_paths: Sequence[Path] = (),
        python_path: str | None = sys.executable,
        startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
        extra_config: Mapping[str, Any] | None = None,
    ):
        self.binary = Path(binary)
        self.paths = StashPaths(Path(work_dir))
        # Stash's port, and the proxy port: bound, then closed, so nothing listens there.
        self.port, self.proxy_port = free_loopback_ports(2)
        self.startup_timeout = startup_timeout
        self._config = stash_config(self.paths, self.port, stash_boxes, library_paths, python_path,
                                    extra_config)
        self._process: subprocess.Popen[bytes] | None = None
        self._session = requests.Session()
        self._credentials: tuple[str, str] | None = None
        self.startup_seconds: float | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def log_file(self) -> Path:
        return self.paths.log_file

    @property
    def plugins_dir(self) -> Path:
        return self.paths.plugins

    @property
    def pid(self) -> int | None:
        """The Stash process's id while it runs (the binary is started directly, so this
        is Stash itself; the benchmark reads its CPU time from /proc/<pid>/stat)."""
        return None if self._process is None else self._process.pid

    def __enter__(self) -> RealStash:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.paths.make_dirs()
        write_config(self.paths.config_file, self._config)
        started_at = time.monotonic()
        self._launch()
        try:
            self._wait_until_answering(started_at)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started_at
        logger.info("Stash answered on %s after %.1fs", self.url, self.startup_seconds)

    def _launch(self) -> None:
        command = [str(self.binary), "--config", str(self.paths.config_file), "--nobrowser"]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("STASH_")}
        environment.pop("DISPLAY", None)
        environment.update(loopback_proxy_environment(self.proxy_port))
        with open(self.paths.console_log, "wb") as console:
            self._process = subprocess.Popen(
                command, cwd=self.paths.root, env=environment,
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until_answering(self, started_at: float) -> None:
        deadline = started_at + self.startup_timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise StashServerError(
                    f"Stash exited with code {self._process.returncode} during startup; "
                    f"see {self.paths.console_log} and {self.log_file}")
            try:
                self.graphql(VERSION_QUERY, timeout=2.0)
                return
            except (requests.RequestException, StashGraphQLError) as problem:
                last_problem = type(problem).__name__
            time.sleep(STARTUP_POLL_SECONDS)
        raise StashServerError(
            f"Stash did not answer within {self.startup_timeout:.0f}s ({last_problem}); "
            f"see {self.paths.console_log}")

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None,
                timeout: float = REQUEST_TIMEOUT_SECONDS) -> dict[str, Any]:
        """POST one GraphQL request; return `data`, raise StashGraphQLError on `errors`.

        With a login in force, a 401 (the session cookie outlived `max_session_age`)
        logs in again and sends the request once more."""
        body = {"query": query, "variables": dict(variables or {})}
        response = self._session.post(self.graphql_url, json=body, timeout=timeout)
        if response.status_code == 401 and self._credentials is not None:
            self.log_in()
            response = self._session.post(self.graphql_url, json=body, timeout=timeout)
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors"):
            raise StashGraphQLError(answer["errors"])
        return answer["data"]

    def require_login(self, username: str, password: str) -> None:
        """Set a username and password as Settings > Security does (Stash stores the
        password's bcrypt hash), then log this client in with them."""
        self.graphql(CONFIGURE_CREDENTIALS, {"username": username, "password": password})
        self._credentials = (username, password)
        self.log_in()

    def log_in(self) -> None:
        """POST Stash's login form; its session cookie stays in this client's session."""
        if self._credentials is None:
            raise StashServerError("no credentials to log in with")
        username, password = self._credentials
        response = self._session.post(f"{self.url}/login", data={"username": username, "password": password},
                                      timeout=REQUEST_TIMEOUT_SECONDS)
        if response.status_code != 200:
            raise StashServerError(f"Stash refused the login (HTTP {response.status_code})")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it if it has not gone in time."""
        self._session.close()
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        self._signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            logger.warning("Stash ignored SIGTERM for %.0fs; killing it", SHUTDOWN_GRACE_SECONDS)
            self._signal_group(process, signal.SIGKILL)
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], signal_number: int) -> None:
        try:
            os.killpg(process.pid, signal_number)
        except ProcessLookupError:
            pass
