"""A pass-through HTTP proxy on 127.0.0.1 that records every GraphQL request it forwards.

The real stash-box keeps no log of the questions it was asked; a test that must say which
scenes the plugin asked about puts this between the plugin and the server. Each request's
body is forwarded unchanged (with its ApiKey header) and the answer returned unchanged;
`entries` holds each request's operation name and variables, in order.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

FORWARD_TIMEOUT_SECONDS = 120.0
FORWARDED_HEADERS = ("ApiKey", "Content-Type", "Accept")


@dataclass(frozen=True)
class RecordedRequest:
    operation_name: str | None
    variables: dict[str, Any] | None


class RecordingProxy:
    def __init__(self, upstream_url: str):
        self.upstream_url = upstream_url
        self.entries: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/graphql"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, body: bytes) -> None:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        document = document if isinstance(document, dict) else {}
        with self._lock:
            self.entries.append(RecordedRequest(document.get("operationName"), document.get("variables")))

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.record(body)
                headers = {name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)}
                answer = requests.post(proxy.upstream_url, data=body, headers=headers, timeout=FORWARD_TIMEOUT_SECONDS)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
