"""A small threaded GraphQL-over-HTTP server for the simulators.

It owns the request pipeline: reading the POST body, JSON and GraphQL
parsing (400 / 422 as gqlgen answers), fault rules, execution with
graphql-core, the request log. What is allowed in (rate limit, credentials)
and what the resolvers see is decided by the :class:`GraphQLService` it serves.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from graphql import DocumentNode, GraphQLSchema, execute
from graphql.execution import ExecutionContext

from . import faults as fault_kinds
from .faults import FaultInjector, FaultRule, drop_last_list_item, null_one_entry
from .graphql_documents import DocumentCache, describe_operation, error_payload
from .plain_execution import run_plainly
from .request_hooks import AFTER, BEFORE, RequestHooks
from .request_log import RequestLog, RequestLogEntry

GRAPHQL_PATH = "/graphql"


@dataclass
class HTTPAnswer:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    error_messages: tuple[str, ...] = ()

    @classmethod
    def graphql(cls, payload: dict[str, Any], status: int = 200) -> "HTTPAnswer":
        messages = tuple(str(e.get("message")) for e in payload.get("errors") or ())
        return cls(status, json.dumps(payload).encode("utf-8"), error_messages=messages)

    @classmethod
    def empty(cls, status: int, headers: dict[str, str] | None = None) -> "HTTPAnswer":
        return cls(status, b"", None, headers or {})


class GraphQLService(Protocol):
    """What a simulator provides to the server."""

    schema: GraphQLSchema
    faults: FaultInjector
    hooks: RequestHooks
    request_log: RequestLog
    latency: Any  # served.Latency: simulated answer time

    def admit(self, request: RequestLogEntry) -> HTTPAnswer | None:
        """Refuse a request before it is parsed (rate limit, bad credentials)."""

    def context_for(self, request: RequestLogEntry) -> Any:
        """The ``context_value`` resolvers receive for this request."""


def _fault_answer(rule: FaultRule) -> HTTPAnswer:
    kind = rule.kind
    if kind == fault_kinds.HTTP_500:
        return HTTPAnswer(500, b"internal server error (simulated)\n", "text/plain")
    if kind == fault_kinds.HTTP_502_HTML:
        body = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
        return HTTPAnswer(502, body, "text/html")
    if kind == fault_kinds.HTTP_504:
        return HTTPAnswer(504, b"<html><body><h1>504 Gateway Time-out</h1></body></html>", "text/html")
    if kind in (fault_kinds.HTTP_503, fault_kinds.HTTP_429):
        status = 503 if kind == fault_kinds.HTTP_503 else 429
        headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
        return HTTPAnswer(status, b"", None, headers)
    if kind == fault_kinds.INVALID_JSON:
        return HTTPAnswer(200, b'{"data": {"truncated', "application/json")
    if kind == fault_kinds.AUTH_REVOKED:
        return HTTPAnswer.empty(401)
    return HTTPAnswer(0, drop=True)  # DROP


class GraphQLHTTPServer:
    """Serves one :class:`GraphQLService` at ``http://127.0.0.1:<port>/graphql``."""

    def __init__(self, service: GraphQLService, name: str = "simulator") -> None:
        self.service = service
        self.name = name
        self._documents = DocumentCache(service.schema)
        self._numbers = iter(range(1, 1 << 62))
        self._number_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self, port: int = 0) -> "GraphQLHTTPServer":
        """Listen on 127.0.0.1:`port` (0: any free port)."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"owner": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler, bind_and_activate=False)
        httpd.daemon_threads = True
        httpd.request_queue_size = 256
        httpd.server_bind()
        httpd.server_activate()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{self.name}-http", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{self.name} is not running")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{GRAPHQL_PATH}"

    # -- request handling --------------------------------------------------
    def next_number(self) -> int:
        with self._number_lock:
            return next(self._numbers)

    def answer(self, entry: RequestLogEntry, body: bytes) -> HTTPAnswer:
        problem = _read_payload(entry, body)
        refusal = self.service.admit(entry)
        if refusal is not None:
            return refusal
        if problem is not None:
            return _bad_request(problem)
        return self._run(entry)

    def _run(self, entry: RequestLogEntry) -> HTTPAnswer:
        parsed = self._documents.get(entry.query or "")
        if parsed.document is None:
            return HTTPAnswer.graphql({"errors": list(parsed.errors), "data": None}, 422)
        describe_operation(entry, parsed.document)
        self._simulate_latency(entry)
        rule = self.service.faults.for_request(entry.number, entry.root_fields, entry.operation_name)
        if rule is not None:
            entry.fault = rule.kind
            early = None if rule.after_applying else self._apply_answer_fault(rule)
            if early is not None:
                return early
        hooks = self.service.hooks
        hooks.run(entry.operation_name, BEFORE)
        answer = self._execute(entry, parsed.document, rule)
        hooks.run(entry.operation_name, AFTER)
        if rule is not None and rule.after_applying:
            lost = self._apply_answer_fault(rule)  # carried out; the answer is lost (or comes too late)
            return answer if lost is None else lost
        return answer

    def _simulate_latency(self, entry: RequestLogEntry) -> None:
        """A real server's time to answer: a fixed cost plus one per root field (its own,
        when the latency names that field), so a request of 40 aliased fields costs what 40
        separate answers would, less the per-request overhead; plus one per id listed in an
        `ids` variable."""
        latency = self.service.latency
        delay = latency.seconds_for(len(entry.root_fields)) + latency.named_fields_extra(entry.root_fields)
        ids = entry.variables.get("ids") if isinstance(entry.variables, dict) else None
        if isinstance(ids, list) and hasattr(latency, "seconds_for_ids"):
            delay += latency.seconds_for_ids(len(ids))
        if delay > 0:
            self._stopping.wait(delay)

    def _apply_answer_fault(self, rule: FaultRule) -> HTTPAnswer | None:
        if rule.kind == fault_kinds.HANG:
            self._stopping.wait(rule.seconds)
            return HTTPAnswer(0, drop=True) if rule.then == "close" else None
        if rule.kind in fault_kinds.ANSWER_KINDS:
            return _fault_answer(rule)
        return None

    def _execute(self, entry: RequestLogEntry, document: DocumentNode, rule: FaultRule | None) -> HTTPAnswer:
        schema = self.service.schema
        context = self.service.context_for(entry)
        data = run_plainly(schema, document, context, entry.variables, entry.operation_name)
        if data is not None:
            self._simulate_answer_time(entry, data)
            return self._answer_with(rule, data, [])
        built = ExecutionContext.build(
            schema, document, None, context, entry.variables, entry.operation_name
        )
        if isinstance(built, list):
            payload = {"errors": error_payload(built, "GRAPHQL_VALIDATION_FAILED"), "data": None}
            return HTTPAnswer.graphql(payload, 422)
        result = execute(
            schema, document, None, context, entry.variables, entry.operation_name,
            is_awaitable=_never_awaitable,
        )
        self._simulate_answer_time(entry, result.data)
        return self._answer_with(rule, result.data, error_payload(result.errors or []))

    def _simulate_answer_time(self, entry: RequestLogEntry, data: dict[str, Any] | None) -> None:
        """The part of a real server's time that goes by the answer: the scenes listed by a
        request that named no ids (Stash answers 95,005 ids in about 4 s)."""
        per_scene = getattr(self.service.latency, "per_answered_scene", 0.0)
        if not per_scene or not data or "ids" in (entry.variables or {}):
            return
        scenes = sum(len(value["scenes"]) for value in data.values()
                     if isinstance(value, dict) and isinstance(value.get("scenes"), list))
        if scenes:
            self._stopping.wait(per_scene * scenes)

    @staticmethod
    def _answer_with(rule: FaultRule | None, data: dict[str, Any] | None, errors: list[dict]) -> HTTPAnswer:
        if rule is not None and data is not None:
            _alter_result(rule, data, errors)
        payload: dict[str, Any] = {"errors": errors} if errors else {}
        payload["data"] = data
        return HTTPAnswer.graphql(payload)


def _alter_result(rule: FaultRule, data: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    """Apply a ``wrong_length`` or ``partial_errors`` fault to a computed answer."""
    if rule.kind == fault_kinds.WRONG_LENGTH:
        drop_last_list_item(data)
    elif rule.kind == fault_kinds.PARTIAL_ERRORS:
        path = null_one_entry(data)
        errors.append({"message": "simulated partial failure", "path": path})


def _read_payload(entry: RequestLogEntry, body: bytes) -> str | None:
    """Fill the entry's query, variables and operation name; or say what is wrong."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        return f"json request body could not be decoded: {error}"
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return "request body must be a JSON object with a query string"
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        return "variables must be a JSON object"
    entry.query, entry.variables = payload["query"], variables
    entry.operation_name = payload.get("operationName") or None
    return None


def _never_awaitable(_value: Any) -> bool:
    """All resolvers are synchronous; skipping graphql-core's check saves time."""
    return False


def _bad_request(message: str) -> HTTPAnswer:
    return HTTPAnswer.graphql({"errors": [{"message": message}], "data": None}, 400)


class _Handler(BaseHTTPRequestHandler):
    owner: GraphQLHTTPServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's
        # algorithm and delayed ACKs add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._send(HTTPAnswer.empty(405, {"Allow": "POST"}))

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        owner = self.owner
        entry = RequestLogEntry(
            number=owner.next_number(),
            monotonic=time.monotonic(),
            wall_time=time.time(),
            path=self.path,
            api_key=self.headers.get("ApiKey"),
            session_cookie=_cookie(self.headers.get("Cookie"), "session"),
            user_agent=self.headers.get("User-Agent"),
        )
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0].rstrip("/") != GRAPHQL_PATH:
            answer = HTTPAnswer.empty(404)
        else:
            answer = owner.answer(entry, body)
        entry.status = answer.status
        entry.error_messages = answer.error_messages
        entry.duration = time.monotonic() - entry.monotonic
        owner.service.request_log.append(entry)
        self._send(answer)

    def _send(self, answer: HTTPAnswer) -> None:
        if answer.drop:
            self.close_connection = True
            return
        try:
            self.send_response(answer.status)
            content_type = answer.content_type
            if content_type == "application/json":
                content_type = getattr(self.owner.service, "json_content_type", content_type)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None
