"""A sliding 60-second request window, like a proxy's per-user limit."""
from __future__ import annotations

import collections
import math
import threading
import time
from typing import Callable

WINDOW_SECONDS = 60.0


class SlidingWindowLimit:
    """Admit at most ``requests_per_minute`` requests in any 60 s window.

    ``admit()`` returns ``None`` when the request may pass (and counts it), or
    the whole seconds to wait, for a ``Retry-After`` header, when it may not.
    Refused requests do not count. ``requests_per_minute=None`` admits all.
    """

    def __init__(
        self,
        requests_per_minute: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self._clock = clock
        self._admitted: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        if self.requests_per_minute is None:
            return None
        with self._lock:
            now = self._clock()
            while self._admitted and self._admitted[0] <= now - WINDOW_SECONDS:
                self._admitted.popleft()
            if len(self._admitted) < self.requests_per_minute:
                self._admitted.append(now)
                return None
            wait = self._admitted[0] + WINDOW_SECONDS - now
            return max(1, math.ceil(wait))
