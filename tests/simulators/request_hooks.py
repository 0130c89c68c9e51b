"""Things that happen at a chosen moment of a request: another client's edit, a rendezvous.

A :class:`RequestHook` watches the requests of one GraphQL operation (by name; ``nth``:
only the n-th of them, 1-based) and runs its ``action`` either ``before`` the request is
carried out or ``after`` it is carried out but before its answer leaves, so the client
sees the answer only once the action is done. An edit made ``after`` a client's read is
therefore between that read and anything the client does next.

:class:`Rendezvous` is an action that holds the first ``parties`` requests reaching it
until all of them have (or ``timeout`` seconds have passed): two clients' reads answered
together, so that neither has written before the other has read.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable

BEFORE, AFTER = "before", "after"


@dataclass
class RequestHook:
    operation: str
    action: Callable[[], None]
    stage: str = AFTER
    nth: int | None = None
    seen: int = field(default=0, init=False)
    ran: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.stage not in (BEFORE, AFTER):
            raise ValueError(f"stage must be {BEFORE!r} or {AFTER!r}")
        if self.nth is not None and self.nth < 1:
            raise ValueError("nth is 1-based")


class RequestHooks:
    """The hooks of one server; thread-safe to add to while it serves."""

    def __init__(self) -> None:
        self._hooks: list[RequestHook] = []
        self._lock = threading.Lock()

    def add(self, hook: RequestHook) -> RequestHook:
        with self._lock:
            self._hooks.append(hook)
        return hook

    def run(self, operation_name: str | None, stage: str) -> None:
        """Count this request on every hook watching it at `stage`; run the actions due
        (outside the lock: an action may wait for another request)."""
        due = []
        with self._lock:
            for hook in self._hooks:
                if hook.stage == stage and hook.operation == operation_name:
                    hook.seen += 1
                    if hook.nth is None or hook.seen == hook.nth:
                        hook.ran += 1
                        due.append(hook.action)
        for action in due:
            action()


class Rendezvous:
    """Holds the first `parties` callers until all have arrived or `timeout` s have passed;
    later callers pass at once. `met` says whether all arrived in time."""

    def __init__(self, parties: int = 2, timeout: float = 5.0) -> None:
        self.parties = parties
        self.timeout = timeout
        self.arrived = 0
        self.met = False
        self._condition = threading.Condition()

    def __call__(self) -> None:
        with self._condition:
            self.arrived += 1
            if self.arrived == self.parties:
                self.met = True
                self._condition.notify_all()
            elif self.arrived < self.parties:
                self._condition.wait_for(lambda: self.arrived >= self.parties, timeout=self.timeout)
