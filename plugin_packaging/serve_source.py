"""Serve a built package folder on 127.0.0.1 so a local Stash can use it as a plugin source.

    with PluginSource(dist_dir) as source:
        source.index_url   # "http://127.0.0.1:<port>/index.yml"

The server answers GET and HEAD (Stash sends HEAD to decide whether its cached index
is stale, using Last-Modified) from a thread, and stops when the block ends.
"""
from __future__ import annotations

import functools
import logging
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from plugin_packaging.build_index import INDEX_FILE_NAME

logger = logging.getLogger("tagManager.packaging.source")

LOOPBACK_HOST = "127.0.0.1"
CLIENT_SOCKET_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 5.0
SERVE_POLL_SECONDS = 0.05


class _QuietFileHandler(SimpleHTTPRequestHandler):
    """Static files from one folder; requests go to the debug log instead of stderr."""

    timeout = CLIENT_SOCKET_TIMEOUT_SECONDS

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("plugin source %s: " + format, self.address_string(), *args)


class PluginSource:
    """An HTTP plugin source serving `dist_dir` (which must hold index.yml) on a free port."""

    def __init__(self, dist_dir: Path | str):
        self.dist_dir = Path(dist_dir).resolve()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the plugin source is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def index_url(self) -> str:
        return self.base_url + INDEX_FILE_NAME

    def start(self) -> None:
        if not (self.dist_dir / INDEX_FILE_NAME).is_file():
            raise FileNotFoundError(f"no {INDEX_FILE_NAME} in {self.dist_dir}: build the package first")
        handler = functools.partial(_QuietFileHandler, directory=str(self.dist_dir))
        self._server = ThreadingHTTPServer((LOOPBACK_HOST, 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SERVE_POLL_SECONDS},
            name="plugin-source",
            daemon=True,
        )
        self._thread.start()
        logger.debug("plugin source for %s at %s", self.dist_dir, self.index_url)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(STOP_TIMEOUT_SECONDS)

    def __enter__(self) -> PluginSource:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
