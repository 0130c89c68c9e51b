"""A throw-away PostgreSQL from Debian's packages, started and stopped by the tier itself.

`initdb` makes a cluster in a temporary folder; the server listens on 127.0.0.1 only (a
free port) and keeps its unix socket in that folder too, so it touches nothing of the
machine's own clusters. The bootstrap superuser has a password generated per run. Run as
root (CI), the cluster belongs to Debian's `postgres` user, since PostgreSQL refuses to
run as root.

The tier never installs PostgreSQL: `.ci/run` installs Debian's `postgresql` when it is
missing; without it the tier skips, naming the folders it looked in.
"""
from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DEBIAN_BINARY_GLOB = "/usr/lib/postgresql/*/bin"
SUPERUSER = "stashbox"
DATABASE = "postgres"           # initdb's own database; the cluster exists for this one run
STARTUP_TIMEOUT_SECONDS = 60.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0
READY_LINE = "database system is ready to accept connections"


class PostgresError(RuntimeError):
    """The cluster could not be made, started or stopped."""


def find_postgres_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL binary folder holding initdb and postgres."""
    candidates = [Path(folder) for folder in glob.glob(DEBIAN_BINARY_GLOB)
                  if all(os.access(Path(folder) / tool, os.X_OK) for tool in ("initdb", "postgres"))]
    candidates.sort(key=lambda folder: _major_version(folder.parent.name))
    return candidates[-1] if candidates else None


def _major_version(text: str) -> int:
    return int(text) if text.isdigit() else -1


def missing_postgres_reason() -> str:
    return (f"no Debian PostgreSQL (initdb and postgres under {DEBIAN_BINARY_GLOB}); "
            "install it with: apt-get install postgresql")


def missing_trigram_reason(bin_dir: Path) -> str | None:
    """stash-box's migrations need pg_trgm (Debian ships it with the server package)."""
    version = bin_dir.parent.name
    control = Path("/usr/share/postgresql") / version / "extension" / "pg_trgm.control"
    if control.is_file():
        return None
    return f"PostgreSQL {version} has no pg_trgm extension ({control}); install postgresql-contrib"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cluster_owner() -> pwd.struct_passwd | None:
    """Debian's `postgres` account when running as root; None runs as the current user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresError("running as root and there is no `postgres` user to own the cluster") from None


class DebianPostgres:
    """One cluster in its own temporary folder, as a context manager."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = Path(bin_dir)
        self.password = secrets.token_hex(16)
        self.port = _free_loopback_port()
        self.root: Path | None = None
        self._owner = _cluster_owner()
        self._process: subprocess.Popen[bytes] | None = None

    # -- where things are -----------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self._folder() / "data"

    @property
    def socket_dir(self) -> Path:
        return self._folder() / "socket"

    @property
    def log_file(self) -> Path:
        return self._folder() / "postgres.log"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id; its backends are its child processes."""
        return None if self._process is None else self._process.pid

    def url_for_stashbox(self, database: str = DATABASE) -> str:
        """stash-box's `database` setting: it prefixes `postgres://` itself."""
        return f"{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def create_database(self, name: str) -> None:
        """Another empty database in this cluster, for a second stash-box."""
        environment = {**os.environ, "PGPASSWORD": self.password}
        command = [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=environment)
        if result.returncode != 0:
            raise PostgresError(f"createdb {name} failed ({result.returncode}): {result.stderr.strip()[-300:]}")

    def _folder(self) -> Path:
        if self.root is None:
            raise PostgresError("the cluster has no folder before start()")
        return self.root

    # -- life cycle -----------------------------------------------------------------
    def __enter__(self) -> DebianPostgres:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tagmanager-postgres-"))
        try:
            self._init_cluster()
            self._launch()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _init_cluster(self) -> None:
        self.socket_dir.mkdir()
        password_file = self._folder() / "superuser-password"
        password_file.write_text(self.password + "\n", encoding="utf-8")
        self._give_to_owner(self._folder(), self.socket_dir, password_file)
        command = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                   f"--pwfile={password_file}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                                **self._as_owner())
        password_file.unlink()
        if result.returncode != 0:
            raise PostgresError(f"initdb failed ({result.returncode}): {result.stderr.strip()[-500:]}")

    def _launch(self) -> None:
        # fsync and synchronous commit off: the cluster dies with the run, and seeding
        # 2,000 scenes should not wait on the disk. Reads, which the tier measures, are unchanged.
        command = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                   "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.socket_dir}",
                   "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        with open(self.log_file, "wb") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True,
                                             **self._as_owner())

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise PostgresError(f"postgres exited with code {self._process.returncode}; see {self.log_file}")
            if READY_LINE in self.log_file.read_text(encoding="utf-8", errors="replace"):
                return
            time.sleep(0.1)
        raise PostgresError(f"postgres was not ready within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {self.log_file}")

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster), then remove the folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    # -- running as the cluster's owner ---------------------------------------------
    def _as_owner(self) -> dict:
        if self._owner is None:
            return {}
        return {"user": self._owner.pw_uid, "group": self._owner.pw_gid, "extra_groups": [],
                "env": {**os.environ, "HOME": self._owner.pw_dir, "USER": "postgres"}}

    def _give_to_owner(self, *paths: Path) -> None:
        if self._owner is None:
            return
        for path in paths:
            os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
