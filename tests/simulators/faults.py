"""Fault injection by rule, shared by both simulators.

A :class:`FaultRule` names a fault ``kind`` and which requests it hits:

* ``nth=N``       -- the N-th matching request only (1-based);
* ``after=N``     -- every matching request after the first N (``after=0``: all);
* ``fraction=p``  -- each matching request with probability p (RNG seeded by ``seed``);
* none of those   -- every matching request.

``for_seconds=S`` turns a rule into a burst: it fires on every matching request (after
the first ``after`` ones, when given) from the first it fires on until S seconds later,
and never again — an outage of S seconds starting mid-run.

``after_applying=True`` (answer kinds only) carries the request out first and then loses
its answer to the fault: a write Stash applied whose answer never arrives (a 502 from a
proxy, a dropped connection, a timeout) -- the client cannot tell it from one that failed.

"Matching" means: the rule's ``root_field`` (if set) is among the request's
root fields and its ``operation`` (if set) equals the operation name. Each rule
counts its own matching requests, so ``nth=2, root_field="findScene"`` is the
second ``findScene`` request. Only requests that parsed and validated reach the
rules; 400/422/401/429 answers happen before them.

Request kinds (both servers): see ``REQUEST_KINDS``. Scene kinds (Stash only,
``SCENE_KINDS``) hit one scene's update inside a mutation: ``scene_id`` selects
the scene (``None``: any), and nth/after/fraction count scene updates.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

HTTP_500 = "http_500"
HTTP_502_HTML = "http_502_html"
HTTP_503 = "http_503"
HTTP_504 = "http_504"
HTTP_429 = "http_429"
HANG = "hang"
DROP = "drop"
INVALID_JSON = "invalid_json"
WRONG_LENGTH = "wrong_length"
PARTIAL_ERRORS = "partial_errors"
AUTH_REVOKED = "auth_revoked"
MUTATION_ERROR = "mutation_error"
FK_ERROR = "fk_error"

#: Kinds that replace or delay the whole HTTP answer.
ANSWER_KINDS = frozenset(
    {HTTP_500, HTTP_502_HTML, HTTP_503, HTTP_504, HTTP_429, HANG, DROP, INVALID_JSON, AUTH_REVOKED}
)
#: Kinds that alter a successful GraphQL answer.
RESULT_KINDS = frozenset({WRONG_LENGTH, PARTIAL_ERRORS})
REQUEST_KINDS = ANSWER_KINDS | RESULT_KINDS
SCENE_KINDS = frozenset({MUTATION_ERROR, FK_ERROR})
ALL_KINDS = REQUEST_KINDS | SCENE_KINDS

HANG_THEN = ("answer", "close")


@dataclass
class FaultRule:
    kind: str
    nth: int | None = None
    after: int | None = None
    fraction: float | None = None
    root_field: str | None = None
    operation: str | None = None
    scene_id: int | str | None = None
    seconds: float = 10.0
    then: str = "answer"
    retry_after: str | None = "1"
    seed: int = 0
    for_seconds: float | None = None
    after_applying: bool = False
    clock: Callable[[], float] = time.monotonic
    matched: int = field(default=0, init=False)
    burst_started: float | None = field(default=None, init=False)
    fired: int = field(default=0, init=False)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        chosen = [x for x in (self.nth, self.after, self.fraction) if x is not None]
        if len(chosen) > 1:
            raise ValueError("give at most one of nth, after, fraction")
        if self.nth is not None and self.nth < 1:
            raise ValueError("nth is 1-based")
        if self.for_seconds is not None and (self.nth is not None or self.fraction is not None):
            raise ValueError("for_seconds goes with after=N or with nothing")
        if self.then not in HANG_THEN:
            raise ValueError(f"then must be one of {HANG_THEN}")
        if self.after_applying and self.kind not in ANSWER_KINDS:
            raise ValueError("after_applying loses an answer: it goes with an answer kind")
        self._rng = random.Random(self.seed)

    def applies_to(self, root_fields: Iterable[str], operation_name: str | None) -> bool:
        if self.root_field is not None and self.root_field not in tuple(root_fields):
            return False
        return self.operation is None or self.operation == operation_name

    def count_and_decide(self) -> bool:
        """Count one matching event; True when this rule fires on it."""
        self.matched += 1
        if self.nth is not None:
            hit = self.matched == self.nth
        elif self.after is not None:
            hit = self.matched > self.after
        elif self.fraction is not None:
            hit = self._rng.random() < self.fraction
        else:
            hit = True
        if hit and self.for_seconds is not None:
            now = self.clock()
            self.burst_started = now if self.burst_started is None else self.burst_started
            hit = now - self.burst_started < self.for_seconds
        if hit:
            self.fired += 1
        return hit


@dataclass(frozen=True)
class FiredFault:
    kind: str
    request_number: int
    scene_id: int | str | None = None


class FaultInjector:
    """The rules of one server; thread-safe; rules can change at run time."""

    def __init__(self, allowed_kinds: frozenset[str] = REQUEST_KINDS) -> None:
        self._allowed = allowed_kinds
        self._rules: list[FaultRule] = []
        self._fired: list[FiredFault] = []
        self._lock = threading.Lock()
        self.auth_revoked = False

    def add(self, rule: FaultRule) -> FaultRule:
        if rule.kind not in self._allowed:
            raise ValueError(f"this simulator does not support fault {rule.kind!r}")
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule and lift a revoked key."""
        with self._lock:
            self._rules.clear()
            self.auth_revoked = False

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def fired(self) -> list[FiredFault]:
        with self._lock:
            return list(self._fired)

    def for_request(
        self, number: int, root_fields: tuple[str, ...], operation_name: str | None
    ) -> FaultRule | None:
        """Count this request against every request rule; return the first that fires."""
        chosen = self._first_firing(
            lambda rule: rule.kind in REQUEST_KINDS and rule.applies_to(root_fields, operation_name),
            lambda rule: FiredFault(rule.kind, number),
        )
        if chosen is not None and chosen.kind == AUTH_REVOKED:
            self.auth_revoked = True
        return chosen

    def for_scene_update(
        self, number: int, scene_id: int, root_fields: tuple[str, ...], operation_name: str | None
    ) -> FaultRule | None:
        """Count one scene update against every scene rule; return the first that fires."""
        return self._first_firing(
            lambda rule: (
                rule.kind in SCENE_KINDS
                and rule.applies_to(root_fields, operation_name)
                and (rule.scene_id is None or str(rule.scene_id) == str(scene_id))
            ),
            lambda rule: FiredFault(rule.kind, number, scene_id),
        )

    def _first_firing(
        self, applies: Callable[[FaultRule], bool], record: Callable[[FaultRule], FiredFault]
    ) -> FaultRule | None:
        """Count the event on every rule it applies to; the first rule that fires wins."""
        with self._lock:
            chosen = None
            for rule in self._rules:
                if applies(rule) and rule.count_and_decide() and chosen is None:
                    chosen = rule
            if chosen is not None:
                self._fired.append(record(chosen))
            return chosen


def drop_last_list_item(data: dict[str, Any]) -> None:
    """``wrong_length``: remove the last element of the first list in the answer.

    For ``findScenesBySceneFingerprints`` that is the last inner list; for
    ``findScenes { scenes }`` the last scene.
    """
    pending: list[Any] = [data]
    while pending:
        value = pending.pop(0)
        if isinstance(value, list):
            if value:
                value.pop()
            return
        if isinstance(value, dict):
            pending.extend(value.values())


def null_one_entry(data: dict[str, Any]) -> list[str | int]:
    """``partial_errors``: null one entry of the answer; return its path.

    With several root keys the last one is nulled. Otherwise, inside the root
    value: the first element of the last non-empty inner list of a list of
    lists, else the last element of a list, else the root value itself.
    """
    keys = list(data)
    if not keys:
        return []
    key = keys[-1]
    value = data[key]
    if len(keys) > 1 or not isinstance(value, list) or not value:
        data[key] = None
        return [key]
    for index in range(len(value) - 1, -1, -1):
        inner = value[index]
        if isinstance(inner, list) and inner:
            inner[0] = None
            return [key, index, 0]
    value[-1] = None
    return [key, len(value) - 1]
