"""The write operations' lock: one holder at a time, a bounded wait, a clear refusal.

Each test holds the lock through its own open file, as another process would (the
operating system's file lock does not care that both are in this process). Killing a
holder process is in tests/reliability/test_concurrent_operations.py.
"""
from __future__ import annotations

import json
import os
import threading

import pytest

from operation_lock import LOCK_FILE_NAME, OperationLockTimeout, operation_lock


def test_a_second_caller_waits_its_bound_then_is_refused_naming_the_holder(tmp_path):
    waits = []
    with operation_lock(tmp_path, "link_tag"):
        with pytest.raises(OperationLockTimeout) as refused:
            with operation_lock(tmp_path, "exclude_tag", wait_seconds=0.3, sleep=waits.append,
                                clock=iter([0.0, 0.1, 0.2, 0.3]).__next__):
                pytest.fail("ran while another held the lock")
    message = str(refused.value)
    assert f"(link_tag, process {os.getpid()}, since " in message
    assert "for the whole 0.3 s" in message and "nothing was written" in message
    assert str(tmp_path / LOCK_FILE_NAME) in message
    assert waits == [0.1, 0.1]


def test_a_waiting_caller_runs_once_the_holder_is_done(tmp_path):
    holding, done, order = threading.Event(), threading.Event(), []

    def holder():
        with operation_lock(tmp_path, "create_tags"):
            holding.set()
            done.wait(10)
            order.append("holder done")

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    threading.Timer(0.2, done.set).start()
    with operation_lock(tmp_path, "exclude_tag", wait_seconds=10):
        order.append("waiter ran")
    thread.join(10)
    assert order == ["holder done", "waiter ran"]


def test_the_holder_notes_itself_in_the_lock_file_and_the_folder_is_made(tmp_path):
    folder = tmp_path / "plugin_data" / "tagManager"
    with operation_lock(folder, "exclude_tag"):
        note = json.loads((folder / LOCK_FILE_NAME).read_text(encoding="utf-8"))
    assert note["operation"] == "exclude_tag" and note["pid"] == os.getpid()


def test_a_lock_file_left_by_an_ended_process_blocks_no_one(tmp_path):
    (tmp_path / LOCK_FILE_NAME).write_text(json.dumps({"operation": "link_tag", "pid": 999999, "since": "then"}))
    with operation_lock(tmp_path, "exclude_tag", wait_seconds=0):
        note = json.loads((tmp_path / LOCK_FILE_NAME).read_text(encoding="utf-8"))
    assert note["operation"] == "exclude_tag"


def test_an_unreadable_note_still_gives_a_clear_refusal(tmp_path):
    with operation_lock(tmp_path, "link_tag"):
        (tmp_path / LOCK_FILE_NAME).write_bytes(b"\x00garbage")
        with pytest.raises(OperationLockTimeout, match="its note is not readable yet"):
            with operation_lock(tmp_path, "exclude_tag", wait_seconds=0):
                pass
