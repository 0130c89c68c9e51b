"""A tiny hook plugin for a test Stash that records every `Scene.Update.Post` call.

Stash runs a raw plugin's hook like a task: the plugin's stdin JSON carries
`args.hookContext` = `{id, type, input, inputFields}` (pkg/plugin/common HookContext,
added in pkg/plugin/plugins.go executePostHooks). For `bulkSceneUpdate` the hook runs
once per scene, after the transaction, with that scene's id and the mutation's whole
input (internal/api/resolver_mutation_scene.go BulkSceneUpdate). The recorder appends
one JSON line per call to a file in its own folder.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

HOOK_PLUGIN_ID = "e2eHookRecorder"
CALLS_FILE = "calls.jsonl"

MANIFEST = """\
name: E2E hook recorder
description: Test only. Appends each Scene.Update.Post hook call to calls.jsonl.
version: "1.0"
exec:
  - python
  - "{pluginDir}/record_hook.py"
interface: raw
hooks:
  - name: Record a scene update
    description: Appends the hook context to calls.jsonl
    triggeredBy:
      - Scene.Update.Post
"""

SCRIPT = """\
import json
import os
import sys

hook = json.load(sys.stdin)["args"]["hookContext"]
record = {"id": hook.get("id"), "type": hook.get("type"),
          "inputFields": sorted(hook.get("inputFields") or []), "input": hook.get("input")}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.jsonl"), "a", encoding="utf-8") as calls:
    calls.write(json.dumps(record) + "\\n")
print(json.dumps({"output": "recorded"}))
"""


@dataclass(frozen=True)
class HookRecorder:
    folder: Path

    @classmethod
    def install(cls, plugins_dir: Path) -> HookRecorder:
        """Write the plugin into `<plugins_dir>/<id>/`; Stash loads it on reloadPlugins."""
        folder = plugins_dir / HOOK_PLUGIN_ID
        folder.mkdir(parents=True)
        (folder / f"{HOOK_PLUGIN_ID}.yml").write_text(MANIFEST, encoding="utf-8")
        (folder / "record_hook.py").write_text(SCRIPT, encoding="utf-8")
        return cls(folder)

    def uninstall(self) -> None:
        """Remove the plugin's folder (call reloadPlugins afterwards)."""
        shutil.rmtree(self.folder)

    @property
    def calls_file(self) -> Path:
        return self.folder / CALLS_FILE

    def call_count(self) -> int:
        """How many calls are recorded so far: calls(call_count()) reads only later ones."""
        return len(self.calls())

    def calls(self, start: int = 0) -> list[dict]:
        """The recorded calls from the `start`-th on, oldest first."""
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines[start:]]
