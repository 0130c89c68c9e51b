"""Stash's stderr protocol, secret redaction and the one JSON answer."""
from __future__ import annotations

import io
import json
import logging

from plugin_io import (
    MAX_LINE_CHARS,
    SecretRedactor,
    StashLogHandler,
    StashProgress,
    configure_logging,
    write_plugin_result,
)


def logger_to(stream, secrets=()):
    return configure_logging(StashLogHandler(stream), SecretRedactor(secrets))


def test_levels_get_stash_prefixes_and_multiline_messages_are_split():
    stream = io.StringIO()
    log = logger_to(stream)
    log.getChild("x").debug("d")
    log.info("one\ntwo")
    log.warning("w")
    log.error("e")
    assert stream.getvalue().splitlines() == ["\x01d\x02d", "\x01i\x02one", "\x01i\x02two", "\x01w\x02w", "\x01e\x02e"]


def test_huge_lines_are_cut_below_stash_reader_limit():
    stream = io.StringIO()
    logger_to(stream).info("é" * 100_000)
    (line,) = stream.getvalue().splitlines()
    assert len(line.encode("utf-8")) < 64 * 1024
    assert len(line) > MAX_LINE_CHARS


def test_secrets_are_redacted_from_messages_and_tracebacks():
    stream = io.StringIO()
    log = logger_to(stream, ["sekrit-api-key-123"])
    try:
        raise ValueError("bad key sekrit-api-key-123")
    except ValueError:
        log.error("failed with %s", "sekrit-api-key-123", exc_info=True)
    text = stream.getvalue()
    assert "sekrit-api-key-123" not in text
    assert "[REDACTED]" in text and "ValueError" in text
    assert all(line.startswith("\x01e\x02") for line in text.splitlines())


def test_progress_lines_are_clamped_and_thinned():
    stream = io.StringIO()
    progress = StashProgress(stream)
    for value in (-1, 0.0, 0.0001, 0.5, 0.5004, 2.0):
        progress(value)
    assert stream.getvalue().splitlines() == ["\x01p\x020.0000", "\x01p\x020.5000", "\x01p\x021.0000"]


def test_result_is_one_json_object():
    stream = io.StringIO()
    write_plugin_result(stream, {"a": 1}, None)
    assert json.loads(stream.getvalue()) == {"output": {"a": 1}, "error": None}
