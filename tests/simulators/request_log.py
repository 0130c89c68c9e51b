"""A thread-safe record of every HTTP request a simulator answered."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Generic, Iterator, TypeVar


@dataclass(slots=True)
class RequestLogEntry:
    """One request, filled in while it is handled and frozen into the log.

    ``monotonic``/``wall_time`` are taken on arrival. ``root_fields`` are the
    schema field names of the executed operation's root selections (aliases
    resolved), ``aliases`` the response keys in the same order. ``api_key`` and
    ``session_cookie`` hold the values received (``None`` when absent) so that
    tests can assert which credential was used.
    """

    number: int
    monotonic: float
    wall_time: float
    path: str
    api_key: str | None = None
    session_cookie: str | None = None
    user_agent: str | None = None
    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    operation_type: str | None = None
    root_fields: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    status: int = 0
    fault: str | None = None
    error_messages: tuple[str, ...] = ()
    duration: float = 0.0

    @property
    def has_api_key(self) -> bool:
        return bool(self.api_key)

    @property
    def has_session_cookie(self) -> bool:
        return bool(self.session_cookie)


T = TypeVar("T")


class RecordLog(Generic[T]):
    """A thread-safe, append-only list of records."""

    def __init__(self) -> None:
        self._entries: list[T] = []
        self._lock = threading.Lock()

    def append(self, entry: T) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[T]:
        """A copy, in the order the records were appended."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(self.entries())


class RequestLog(RecordLog[RequestLogEntry]):
    def with_root_field(self, name: str) -> list[RequestLogEntry]:
        return [entry for entry in self.entries() if name in entry.root_fields]
