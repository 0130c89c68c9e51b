"""One write operation at a time: an exclusive lock on a file in the plugin's data folder.

The page's write operations (link_tag, create_tags, exclude_tag) read, merge and write lists
Stash replaces whole; two at once (two clicks, two tabs) could each write over the other's
entry. Each takes this lock first, so they run one after another.

The lock is the operating system's lock on the open file (`flock`; on Windows `msvcrt`
byte-range locking), not the file's existence: when the holding process ends, however it
ends (Stash's Stop is a SIGKILL), the lock is released with it, and the file left behind
blocks no one. A second caller waits up to LOCK_WAIT_SECONDS, then is refused with the
holder's operation, process id and start time, which the holder writes into the file.
"""
from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

log = logging.getLogger("tagManager.lock")

LOCK_FILE_NAME = "operations.lock"
LOCK_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1
WINDOWS_LOCKED_BYTE = 1 << 20   # beyond the holder's note, which waiting callers read
HOLDER_NOTE_MAX_BYTES = 1024


class OperationLockTimeout(Exception):
    """Another operation held the lock for the whole wait; nothing was written."""


@contextmanager
def operation_lock(folder: Path, operation: str, *, wait_seconds: float | None = None,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Hold the plugin's write lock in `folder` while the block runs (`operation` names
    the holder for whoever waits). OperationLockTimeout after `wait_seconds` (default
    LOCK_WAIT_SECONDS) of waiting."""
    wait = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait, clock, sleep)
        try:
            _write_holder_note(fd, operation)
            yield
        finally:
            _release(fd)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, wait: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    deadline = clock() + wait
    if _try_lock(fd):
        return
    log.info("Another tagManager operation (%s) is writing; waiting up to %g s for it to finish",
             _holder_note(fd), wait)
    while not _try_lock(fd):
        if clock() >= deadline:
            raise OperationLockTimeout(
                f"another tagManager operation ({_holder_note(fd)}) held the lock {path} for the whole "
                f"{wait:g} s this one waits; nothing was written: try again when it has finished")
        sleep(POLL_SECONDS)


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, WINDOWS_LOCKED_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _release(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, WINDOWS_LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _write_holder_note(fd: int, operation: str) -> None:
    since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = json.dumps({"operation": operation, "pid": os.getpid(), "since": since}).encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, note)


def _holder_note(fd: int) -> str:
    """"link_tag, process 4242, since 2026-01-02 10:11:12 UTC", or what can be said."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        note = json.loads(os.read(fd, HOLDER_NOTE_MAX_BYTES).decode("utf-8"))
        return f"{note['operation']}, process {note['pid']}, since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its note is not readable yet"
