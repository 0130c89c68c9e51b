"""When a run stops, and why: the outage rule and the reasons it gives.

A failed request costs only the scenes it was about (they get one more attempt at the end
of the run). The run itself stops only when

- one side (StashDB requests, Stash reads, Stash writes) has given nothing usable for
  OUTAGE_SECONDS in a row: every request of that kind failed for two minutes;
- StashDB rejects the API key;
- Stash rejects the plugin's session (it expired) — no later request could succeed;
- StashDB asks us to wait longer than the outage rule would let a run stand still.
"""
from __future__ import annotations

import time
from typing import Callable

OUTAGE_SECONDS = 120.0


class SyncAborted(Exception):
    """The run cannot usefully go on; the message says why and what to do."""


class OutageWatch:
    """Stops the run when every request of one kind has failed for `window` seconds."""

    def __init__(self, what: str, window: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.what = what
        self.window = OUTAGE_SECONDS if window is None else window
        self.clock = clock
        self.failing_since: float | None = None

    def success(self) -> None:
        self.failing_since = None

    def failure(self, error: BaseException) -> None:
        """Record a failed request; raise SyncAborted once failures have lasted the window."""
        now = self.clock()
        if self.failing_since is None:
            self.failing_since = now
        if now - self.failing_since >= self.window:
            raise SyncAborted(f"{self.what} gave nothing usable for {now - self.failing_since:.0f} s "
                              f"(the run stops after {self.window:.0f} s); last error: {error}")


def session_expired_reason(detail: str) -> str:
    return (f"Stash rejected the plugin's session ({detail}): the login session Stash gave the plugin has "
            "expired. Generate an API key in Settings > Security; tagManager then uses it and long runs "
            "no longer depend on the session. Run the task again: it continues where this run stopped.")


def stashdb_key_rejected_reason(detail: str) -> str:
    return f"StashDB rejected the API key ({detail}); check it in Settings > Metadata Providers"
