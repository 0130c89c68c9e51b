"""The marker that keeps the tag-change hook off the plugin's own tag writes."""
from __future__ import annotations

import json
import logging

from own_tag_writes import MARKER_LIFETIME_SECONDS, OwnTagWrites


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_write_is_marked_only_while_it_runs(tmp_path):
    writer, hook = OwnTagWrites(tmp_path / "own"), OwnTagWrites(tmp_path / "own")
    with writer.writing(tag_id="12"):
        assert hook.covers(tag_id="12") and not hook.covers(tag_id="13") and not hook.covers(name="12")
    assert not hook.covers(tag_id="12") and list((tmp_path / "own").iterdir()) == []
    with writer.writing(name="Rope "):
        assert hook.covers(name="Rope") and not hook.covers(name="rope") and not hook.covers(tag_id="12")


def test_the_marker_is_removed_when_the_write_fails(tmp_path):
    writer = OwnTagWrites(tmp_path)
    try:
        with writer.writing(tag_id="5"):
            raise RuntimeError("Stash refused")
    except RuntimeError:
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_marker_left_by_a_killed_process_expires_and_is_cleared(tmp_path):
    clock = Clock()
    (tmp_path / "1-dead.json").write_text(json.dumps({"tag_id": "7", "name": None,
                                                      "written_epoch": clock.now - MARKER_LIFETIME_SECONDS - 1}))
    (tmp_path / "2-alive.json").write_text(json.dumps({"tag_id": "8", "name": None, "written_epoch": clock.now - 60}))
    (tmp_path / "3-half.partial").write_text('{"tag_id": "9"')
    (tmp_path / "4-garbled.json").write_text("not json")
    hook = OwnTagWrites(tmp_path, clock=clock)
    assert not hook.covers(tag_id="7") and hook.covers(tag_id="8") and not hook.covers(tag_id="9")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["2-alive.json", "3-half.partial", "4-garbled.json"]


def test_a_folder_that_cannot_be_written_warns_once_and_the_write_goes_on(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("")
    writer = OwnTagWrites(blocked / "own")
    logger = logging.getLogger("tagManager")
    logger.propagate = True
    with caplog.at_level(logging.WARNING, logger="tagManager.own_writes"):
        for _ in range(2):
            with writer.writing(tag_id="1"):
                pass
    assert len([r for r in caplog.records if "may queue a re-match" in r.getMessage()]) == 1


def test_without_a_folder_nothing_is_marked_or_covered(tmp_path):
    nowhere = OwnTagWrites(None)
    with nowhere.writing(tag_id="1"):
        assert not nowhere.covers(tag_id="1")
