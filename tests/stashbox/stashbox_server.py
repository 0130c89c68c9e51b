"""Run a real stash-box binary on 127.0.0.1 against a DebianPostgres, with a generated config.

On its first start stash-box migrates the empty database, creates its `root` admin and
prints that user's password and API key once on stdout. `RealStashBox` reads the key from
that stream and writes everything else to a console log with the key and password lines
left out, so no secret lands in a file. The config is the one the tier states in
docs/stashbox.md: loopback only, exact PHASH matching (`phash_distance: 0`, no bktree
extension on Debian), and `postgres: {max_idle_conns: 10}` — the pooled setup a production
server runs (`pooled=False` leaves it out: stash-box then uses its default, where
`conn_max_lifetime` follows `max_idle_conns` and is 0, so nearly every query opens a new
PostgreSQL connection).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import requests

from tests.e2e.stash_server import free_loopback_ports, loopback_proxy_environment

STARTUP_TIMEOUT_SECONDS = 120.0
SHUTDOWN_GRACE_SECONDS = 15.0
REQUEST_TIMEOUT_SECONDS = 60.0
_API_KEY_LINE = re.compile(r"^API Key:\s*(\S+)\s*$")
_SECRET_LINE = re.compile(r"^(API Key|Password):")
PROBE_QUERY = "query TierProbe { me { name } }"


class StashBoxError(RuntimeError):
    """stash-box could not be started, or answered a tier request with errors."""


def stashbox_config(*, database_url: str, port: int, image_dir: Path, pooled: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "database": database_url,
        "host": "127.0.0.1",
        "port": port,
        "is_production": False,
        "phash_distance": 0,
        "image_location": str(image_dir),
        "logLevel": "info",
        "logOut": True,
    }
    if pooled:
        config["postgres"] = {"max_idle_conns": 10}
    return config


class RealStashBox:
    """A running stash-box process, as a context manager. `work_dir` is a disposable folder."""

    def __init__(self, binary: Path, work_dir: Path, database_url: str, *, pooled: bool = True):
        self.binary = Path(binary)
        self.work_dir = Path(work_dir)
        self.port, self.proxy_port = free_loopback_ports(2)
        self._config = stashbox_config(database_url=database_url, port=self.port,
                                       image_dir=self.work_dir / "images", pooled=pooled)
        self._process: subprocess.Popen[str] | None = None
        self._api_key: str | None = None
        self._key_seen = threading.Event()
        self._session = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def api_key(self) -> str:
        if self._api_key is None:
            raise StashBoxError("stash-box printed no root API key")
        return self._api_key

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def console_log(self) -> Path:
        return self.work_dir / "stash-box-console.log"

    def __enter__(self) -> RealStashBox:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- start and stop ---------------------------------------------------------------
    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config_file = self.work_dir / "stash-box-config.yml"
        config_file.write_text(json.dumps(self._config, indent=2), encoding="utf-8")  # JSON is YAML
        environment = {**os.environ, **loopback_proxy_environment(self.proxy_port)}
        self._process = subprocess.Popen(
            [str(self.binary), "--config_file", str(config_file)], cwd=self.work_dir, env=environment,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        threading.Thread(target=self._copy_console, daemon=True, name="stash-box-console").start()
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _copy_console(self) -> None:
        """Console to the log file, minus the password and key lines; the key is kept."""
        assert self._process is not None and self._process.stdout is not None
        with open(self.console_log, "w", encoding="utf-8") as log:
            for line in self._process.stdout:
                match = _API_KEY_LINE.match(line.strip())
                if match:
                    self._api_key = match.group(1)
                    self._key_seen.set()
                if _SECRET_LINE.match(line.strip()):
                    line = line.split(":", 1)[0] + ": [not logged]\n"
                log.write(line)
                log.flush()

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise StashBoxError(f"stash-box exited with code {self._process.returncode}; see {self.console_log}")
            if self._key_seen.is_set() and self._answers():
                return
            time.sleep(0.2)
        raise StashBoxError(f"stash-box did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {self.console_log}")

    def _answers(self) -> bool:
        try:
            return self.post(PROBE_QUERY, timeout=2.0).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self._session.close()
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS)

    # -- requests -----------------------------------------------------------------------
    def post(self, query: str, variables: Mapping[str, Any] | None = None, *, api_key: str | None = "root",
             timeout: float = REQUEST_TIMEOUT_SECONDS) -> requests.Response:
        """One GraphQL POST. `api_key="root"` sends the admin's key, None sends no key."""
        headers = {"Content-Type": "application/json"}
        if api_key is not None:
            headers["ApiKey"] = self.api_key if api_key == "root" else api_key
        body = {"query": query, "variables": dict(variables or {})}
        return self._session.post(self.url, json=body, headers=headers, timeout=timeout)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """`data` of an admin request; StashBoxError on HTTP or GraphQL errors."""
        response = self.post(query, variables)
        if response.status_code != 200:
            raise StashBoxError(f"stash-box answered HTTP {response.status_code}: {response.text[:300]}")
        answer = response.json()
        if answer.get("errors"):
            messages = "; ".join(str(error.get("message")) for error in answer["errors"][:5])
            raise StashBoxError(f"stash-box GraphQL errors: {messages}")
        return answer["data"]
