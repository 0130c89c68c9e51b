"""Read Stash's log file: `time="..." level=<level> msg=<text>` lines (logrus text format).

A raw plugin's stderr lines appear as `msg="[Plugin / <plugin id>] <line>"` at the
level the line's `\\x01<code>\\x02` prefix asked for.
"""
from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass
from pathlib import Path

LOG_POLL_SECONDS = 0.25

_LINE = re.compile(r'^time="[^"]*" level=(?P<level>\w+) msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S*)')


@dataclass(frozen=True)
class LogEntry:
    level: str
    message: str


def parse_line(line: str) -> LogEntry | None:
    match = _LINE.match(line)
    if match is None:
        return None
    raw = match.group("msg")
    # logrus quotes with Go's %q, whose escapes Python's string literals share.
    message = ast.literal_eval(raw) if raw.startswith('"') else raw
    return LogEntry(match.group("level"), message)


def read_entries(log_file: Path, start_offset: int = 0) -> list[LogEntry]:
    """The parsed lines of the log from byte `start_offset` on."""
    with open(log_file, "rb") as log:
        log.seek(start_offset)
        text = log.read().decode("utf-8", errors="replace")
    return [entry for entry in map(parse_line, text.splitlines()) if entry is not None]


def plugin_entries(entries: list[LogEntry], plugin_id: str) -> list[LogEntry]:
    """The plugin's own lines, prefix removed."""
    prefix = f"[Plugin / {plugin_id}] "
    return [LogEntry(e.level, e.message[len(prefix):]) for e in entries if e.message.startswith(prefix)]


def log_size(log_file: Path) -> int:
    """Where the log ends now: read_entries(log_file, log_size(...)) reads what comes later."""
    return log_file.stat().st_size if log_file.exists() else 0


def wait_for_message(log_file: Path, start_offset: int, message: str, timeout: float) -> list[LogEntry]:
    """Poll the log (from `start_offset`) until a line's message equals `message` and no
    new line has arrived for one poll; returns the entries read. Raises AssertionError
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    previous: list[LogEntry] | None = None
    while True:
        entries = read_entries(log_file, start_offset)
        seen = any(entry.message == message for entry in entries)
        if seen and previous is not None and len(previous) == len(entries):
            return entries
        if time.monotonic() >= deadline:
            raise AssertionError(f"{log_file} has no line {message!r} after {timeout:.0f}s")
        previous = entries if seen else None
        time.sleep(LOG_POLL_SECONDS)
