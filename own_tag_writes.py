"""The plugin's own tag writes, named while they are in flight, so that the tag-change hook
leaves them alone.

Stash runs a tag's post hooks inside the tagCreate / tagUpdate request that fired them
and answers only when they are done (pkg/plugin/plugins.go executePostHooks). So while a
tagManager process waits for the answer to its own tag write (link_tag, create_tags,
syncCreateMissing, every write through stash_local.LocalStash), Stash starts tagManager's
hook for that very tag. Just before the request, this module writes a marker file into
<Stash config dir>/plugin_data/tagManager/own_tag_writes/ naming the tag id being updated
(or the name being created); the hook finds it and does nothing; the file is removed as
soon as the answer (or the failure) is back.

A marker counts for MARKER_LIFETIME_SECONDS only: a process killed between writing and
removing it (Stop on a task) silences the hook for that one tag for a few minutes at most.
It outlives the longest write: four tries of 60 s and the waits between them.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger("tagManager.own_writes")

MARKER_FOLDER = "own_tag_writes"
MARKER_SUFFIX = ".json"
MARKER_LIFETIME_SECONDS = 300.0
CLOCK_SLACK_SECONDS = 5.0


class OwnTagWrites:
    """Marker files in `folder`; with no folder (the command line), writes are not marked."""

    def __init__(self, folder: Path | None, clock: Callable[[], float] = time.time):
        self.folder = folder
        self.clock = clock
        self._warned = False

    @contextlib.contextmanager
    def writing(self, tag_id: str | None = None, name: str | None = None) -> Iterator[None]:
        """Marks the write of tag `tag_id` (an update) or of a new tag called `name` while
        the block runs."""
        marker = self._mark(tag_id, name)
        try:
            yield
        finally:
            if marker is not None:
                with contextlib.suppress(OSError):
                    marker.unlink()

    def _mark(self, tag_id: str | None, name: str | None) -> Path | None:
        if self.folder is None:
            return None
        record = {"tag_id": None if tag_id is None else str(tag_id), "name": name, "pid": os.getpid(),
                  "written_epoch": self.clock()}
        marker = self.folder / f"{os.getpid()}-{uuid.uuid4().hex}{MARKER_SUFFIX}"
        partial = marker.with_suffix(".partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(record), encoding="utf-8")
            partial.replace(marker)   # the hook never reads half a marker
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("Could not mark tagManager's own tag write in %s (%s): with syncFollowTagChanges on, "
                            "the tag-change hook may queue a re-match for it", self.folder, type(exc).__name__)
            return None
        return marker

    def covers(self, tag_id: str | None = None, name: str | None = None) -> bool:
        """Is a write of tag `tag_id` (or of a new tag called `name`) marked as ours now?"""
        for record in self._live_records():
            if tag_id is not None and record.get("tag_id") == str(tag_id):
                return True
            if name is not None and isinstance(record.get("name"), str) and record["name"].strip() == name.strip():
                return True
        return False

    def _live_records(self) -> Iterator[dict]:
        if self.folder is None:
            return
        try:
            markers = [path for path in self.folder.iterdir() if path.name.endswith(MARKER_SUFFIX)]
        except OSError:
            return
        now = self.clock()
        for path in markers:
            record = _record(path)
            written = record.get("written_epoch") if record else None
            if not isinstance(written, (int, float)) or isinstance(written, bool):
                continue
            if now - written > MARKER_LIFETIME_SECONDS:   # left by a killed process
                with contextlib.suppress(OSError):
                    path.unlink()
            elif now - written >= -CLOCK_SLACK_SECONDS:
                yield record


def _record(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None
