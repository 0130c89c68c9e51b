"""A clock tests can move by hand, for the simulators' time sources."""
from __future__ import annotations

import threading


class ManualClock:
    """Callable like ``time.time``; returns ``now`` until advanced."""

    def __init__(self, start: float = 1_733_011_200.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now
