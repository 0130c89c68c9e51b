"""Text comparisons the way SQLite and Stash do them, for the simulators.

* ``ascii_fold`` lower-cases ASCII letters only, as SQLite's ``LIKE`` and
  ``NOCASE`` do; ``É`` and ``é`` stay different.
* ``natural_key`` orders strings case-insensitively with digit runs compared
  as numbers, the order Stash's ``NATURAL_CI`` collation gives.
* ``sql_like`` is SQLite's ``LIKE`` without ESCAPE: ``%`` any run, ``_`` one
  character, ASCII letters folded (Stash's EQUALS filters are ``LIKE``).
"""
from __future__ import annotations

import re

_ASCII_UPPER_TO_LOWER = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
)
_DIGIT_RUNS = re.compile(r"(\d+)")


def ascii_fold(text: str) -> str:
    """Lower-case the ASCII letters of ``text`` and nothing else."""
    return text.translate(_ASCII_UPPER_TO_LOWER)


def natural_key(text: str) -> tuple:
    """A sort key: case-insensitive (ASCII), digit runs compared as numbers."""
    parts = _DIGIT_RUNS.split(ascii_fold(text))
    return tuple(
        (1, int(part), "") if index % 2 else (0, 0, part)
        for index, part in enumerate(parts)
        if part
    )


def sql_like(text: str, pattern: str) -> bool:
    """``text LIKE pattern`` as SQLite answers it."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in ascii_fold(pattern))
    return re.fullmatch(regex, ascii_fold(text), re.DOTALL) is not None
