"""Keeps one piece of text (a name, a title, an error message, a list of names) short.

Names, titles and server answers come from other people's data and can be any length; a
log line, a summary or an error built from them must stay readable and within Stash's
64 KiB log-line limit.
"""
from __future__ import annotations

from typing import Iterable

ELLIPSIS = "\u2026"
MAX_TEXT_CHARS = 100
MAX_NAMES_IN_LINE = 40


def shorten(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` as it is when it fits in `limit` characters, else cut, ending in an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def shorten_names(names: Iterable[str], limit: int = MAX_NAMES_IN_LINE) -> str:
    """`[a, b, ... and N more]`: at most `limit` names, each shortened."""
    names = [shorten(name) for name in names]
    shown = ", ".join(names[:limit])
    more = f", ... and {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"


def format_duration(seconds: float) -> str:
    """`1h05m` or `4m09s`."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"
