"""The reliability tier's figures: rows grouped in sections, written as JSON and as markdown.

Tests add one row per run they measured (`FigureTable.add`); at the end of the session the
conftest writes the table to a JSON file under pytest's temporary directory and prints it
as markdown tables, ready for the README's reliability section.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

REPRODUCE_COMMAND = "python -m pytest tests/reliability -q"


class FigureTable:
    """Rows by section, in the order they were added; columns are each section's keys."""

    def __init__(self) -> None:
        self.sections: dict[str, list[dict[str, Any]]] = {}
        self.json_path: Path | None = None
        self._lock = threading.Lock()

    def add(self, section: str, row: dict[str, Any]) -> None:
        with self._lock:
            self.sections.setdefault(section, []).append(dict(row))

    def __bool__(self) -> bool:
        return any(self.sections.values())

    def as_json(self) -> str:
        return json.dumps({"command": REPRODUCE_COMMAND, "sections": self.sections}, indent=2)

    def write_json(self, path: Path) -> Path:
        path.write_text(self.as_json() + "\n", encoding="utf-8")
        self.json_path = path
        return path

    def markdown(self) -> str:
        parts = [f"### {title}\n\n{markdown_table(rows)}" for title, rows in self.sections.items() if rows]
        parts.append(f"Reproduce with `{REPRODUCE_COMMAND}`.")
        return "\n\n".join(parts)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(column)) for column in columns) + " |" for row in rows]
    return "\n".join(lines)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return str(value).replace("|", "\\|").replace("\n", " ")
