"""Where log lines, progress and the result go: Stash's plugin protocol or a console.

Stash reads a raw plugin's stderr line by line: `\\x01<level>\\x02message`, with level
t/d/i/w/e, or `p` and a fraction for progress. Its reader breaks on lines over 64 KiB.
stdout must hold exactly one JSON object, `{"output": ..., "error": ...}`.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, Any, Iterable

from short_text import format_duration, shorten

STASH_LEVEL_CODES = (
    (logging.ERROR, "e"),
    (logging.WARNING, "w"),
    (logging.INFO, "i"),
    (logging.DEBUG, "d"),
)
MAX_LINE_CHARS = 16_000  # well under Stash's 64 KiB line limit even in 4-byte UTF-8
REDACTED = "[REDACTED]"


def stash_level_code(levelno: int) -> str:
    for threshold, code in STASH_LEVEL_CODES:
        if levelno >= threshold:
            return code
    return "t"


def clip_line(line: str) -> str:
    return shorten(line, MAX_LINE_CHARS)


class SecretRedactor:
    """Knows the run's secret values and removes them from text. Defence in depth:
    no code path is meant to log a secret, and this makes sure none slips through."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        self.secrets.update(s for s in secrets if s and len(s) >= 4)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class RedactingFormatter(logging.Formatter):
    """Formats a record (traceback included), then removes every known secret."""

    def __init__(self, redactor: SecretRedactor, fmt: str | None = None, datefmt: str | None = None):
        super().__init__(fmt, datefmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor.redact(super().format(record))


class StashLogHandler(logging.Handler):
    """Writes records in Stash's stderr protocol, one prefixed line per text line."""

    def __init__(self, stream: IO[str]):
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            code = stash_level_code(record.levelno)
            text = self.format(record)
            self.stream.write("".join(f"\x01{code}\x02{clip_line(line)}\n" for line in text.splitlines() or [""]))
            self.stream.flush()
        except Exception:  # noqa: BLE001 - logging must never crash the run
            self.handleError(record)


class ConsoleLogHandler(logging.StreamHandler):
    FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
    DATE_FORMAT = "%H:%M:%S"

    def format(self, record: logging.LogRecord) -> str:
        text = "\n".join(clip_line(line) for line in super().format(record).splitlines())
        return CLEAR_LINE + text if is_terminal(self.stream) else text


CLEAR_LINE = "\r\x1b[2K"


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ConsoleProgress:
    """On a terminal, a bar redrawn in place: scenes done, rate, time left. Elsewhere,
    a plain line every 5 %."""

    WIDTH = 30

    def __init__(self, stream: IO[str], clock=None):
        self.stream = stream
        self.clock = clock or time.monotonic
        self.started = self.clock()
        self.next_percent = 5

    def __call__(self, done: int, total: int) -> None:
        if is_terminal(self.stream):
            self.stream.write(CLEAR_LINE + self.describe(done, total) + ("\n" if done >= total else ""))
            self.stream.flush()
            return
        percent = done * 100 // total if total else 100
        if percent >= self.next_percent and done < total:
            logging.getLogger("tagManager").info("%s", self.describe(done, total))
            self.next_percent = (percent // 5 + 1) * 5

    def describe(self, done: int, total: int) -> str:
        fraction = done / total if total else 1.0
        filled = int(fraction * self.WIDTH)
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else None
        eta = "--" if left is None else format_duration(left)
        return (f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total} scenes "
                f"{fraction:5.1%}  {rate:.1f} scenes/s  {eta} left")


def configure_logging(handler: logging.Handler, redactor: SecretRedactor, level: int = logging.DEBUG) -> logging.Logger:
    """Sends the `tagManager` loggers' records to `handler` only, secrets removed."""
    if isinstance(handler, ConsoleLogHandler):
        handler.setFormatter(RedactingFormatter(redactor, ConsoleLogHandler.FORMAT, ConsoleLogHandler.DATE_FORMAT))
    else:
        handler.setFormatter(RedactingFormatter(redactor))
    root = logging.getLogger("tagManager")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    return root


class StashProgress:
    """Progress in Stash's protocol; only changes of at least 0.1 % are written."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.last: float | None = None

    def __call__(self, done: int, total: int) -> None:
        fraction = max(0.0, min(1.0, done / total)) if total > 0 else 1.0
        if self.last is not None and fraction < 1.0 and fraction - self.last < 0.001:
            return
        self.last = fraction
        self.stream.write(f"\x01p\x02{fraction:.4f}\n")
        self.stream.flush()


def write_plugin_result(stream: IO[str], output: Any, error: str | None, redactor: SecretRedactor) -> None:
    """The one JSON answer on stdout, every known secret removed from it."""
    stream.write(redactor.redact(json.dumps({"output": output, "error": error})))
    stream.write("\n")
    stream.flush()


def read_plugin_input(stream: IO[str] = sys.stdin) -> dict:
    text = stream.read()
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError("plugin input is not a JSON object")
    return data
