"""What both simulators share: an HTTP server, a request log, fault rules."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from graphql import GraphQLSchema

from .faults import FaultInjector, FaultRule
from .http_server import GraphQLHTTPServer
from .request_hooks import AFTER, RequestHook, RequestHooks
from .request_log import RequestLog


@dataclass
class Latency:
    """Simulated answer time: `per_request` plus `per_root_field` for each root field, plus
    `per_listed_id` for each element of an `ids` list variable (a read of that many rows:
    Stash's `findScenes(ids: $ids)` costs by the scene, not by the root field), plus
    `per_answered_scene` for each scene an answer lists when the request listed no ids
    (the sync's id snapshot: one request answering every scene's id). `by_root_field`
    names a root field's own time, instead of `per_root_field` (a real server's answer
    times per request kind: bench/stashbox_cost.py)."""

    per_request: float = 0.0
    per_root_field: float = 0.0
    per_listed_id: float = 0.0
    per_answered_scene: float = 0.0
    by_root_field: tuple[tuple[str, float], ...] = ()

    def seconds_for(self, root_fields: int) -> float:
        return self.per_request + self.per_root_field * root_fields

    def named_fields_extra(self, names: Iterable[str]) -> float:
        """What the root fields `names` (aliases resolved) add beyond `seconds_for(len(names))`:
        each field `by_root_field` names costs its own time instead of `per_root_field`."""
        own = dict(self.by_root_field)
        return sum(own[name] - self.per_root_field for name in names if name in own)

    def seconds_for_ids(self, listed_ids: int) -> float:
        return self.per_listed_id * listed_ids


class ServedSimulator:
    """Base class: ``start()``/``stop()``, ``url``, context manager, faults.

    Subclasses pass their schema and implement ``admit`` and ``context_for``
    (see :class:`~tests.simulators.http_server.GraphQLService`).
    """

    name = "simulator"

    def __init__(self, schema: GraphQLSchema, fault_kinds: frozenset[str]) -> None:
        self.schema = schema
        self.faults = FaultInjector(fault_kinds)
        self.hooks = RequestHooks()
        self.request_log = RequestLog()
        self.latency = Latency()
        self._http = GraphQLHTTPServer(self, self.name)

    def start(self, port: int = 0) -> "ServedSimulator":
        """Serve on 127.0.0.1:`port`; 0 picks a free port. A fixed port lets a saved Stash
        database keep naming this simulator as its stash-box (bench/real_stash_seed.py)."""
        self._http.start(port)
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> "ServedSimulator":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The GraphQL endpoint, ``http://127.0.0.1:<port>/graphql``."""
        return self._http.url

    @property
    def port(self) -> int:
        return self._http.port

    def add_fault(self, kind: str, **selection: Any) -> FaultRule:
        """Add a :class:`FaultRule` (see ``faults.py``) and return it."""
        return self.faults.add(FaultRule(kind, **selection))

    def clear_faults(self) -> None:
        self.faults.clear()

    def add_hook(self, operation: str, action: Callable[[], None], *, stage: str = AFTER,
                 nth: int | None = None) -> RequestHook:
        """Run `action` at a moment of the requests of `operation` (see request_hooks.py)."""
        return self.hooks.add(RequestHook(operation, action, stage, nth))
