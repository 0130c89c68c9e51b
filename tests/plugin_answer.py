"""What every test of a whole plugin run reads: the one JSON object on its stdout."""
from __future__ import annotations

import json


class PluginAnswer:
    """Mixed into a run record that has `stdout` (Stash's `{"output", "error"}` object)."""

    stdout: str

    @property
    def result(self) -> dict:
        return json.loads(self.stdout)

    @property
    def summary(self) -> dict | None:
        return self.result["output"]
