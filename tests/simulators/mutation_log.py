"""A thread-safe record of the scene writes the Stash simulator was asked for."""
from __future__ import annotations

from dataclasses import dataclass

from .request_log import RecordLog


@dataclass(frozen=True)
class MutationLogEntry:
    """One root mutation field (one alias) of one request.

    ``field`` is ``bulkSceneUpdate`` or ``sceneUpdate``; ``mode`` is ``ADD``,
    ``REMOVE`` or ``SET`` (``sceneUpdate`` with tag_ids is ``SET``; ``None``
    when no tag ids were given); ``applied`` is False when the write failed and
    nothing was written, with the GraphQL error text in ``error``.
    """

    request_number: int
    monotonic: float
    field: str
    alias: str
    scene_ids: tuple[int, ...]
    mode: str | None
    tag_ids: tuple[int, ...]
    applied: bool
    error: str | None = None


class MutationLog(RecordLog[MutationLogEntry]):
    def applied(self) -> list[MutationLogEntry]:
        return [entry for entry in self.entries() if entry.applied]
