"""Stash's stderr protocol, secret redaction and the one JSON answer."""
from __future__ import annotations

import io
import json

from plugin_io import (
    MAX_LINE_CHARS,
    ConsoleProgress,
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
    for done in (0, 0, 1, 5000, 5004, 10000):
        progress(done, 10000)
    assert stream.getvalue().splitlines() == ["\x01p\x020.0000", "\x01p\x020.5000", "\x01p\x021.0000"]
    progress(0, 0)
    assert stream.getvalue().splitlines()[-1] == "\x01p\x021.0000"


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_progress_bar_shows_scenes_rate_and_time_left():
    now = [100.0]
    stream = FakeTerminal()
    bar = ConsoleProgress(stream, clock=lambda: now[0])
    now[0] = 110.0
    bar(250, 1000)
    assert stream.getvalue() == "\r\x1b[2K[#######.......................] 250/1000 scenes 25.0%  25.0 scenes/s  0m30s left"
    bar(1000, 1000)
    assert stream.getvalue().endswith("1000/1000 scenes 100.0%  100.0 scenes/s  0m00s left\n")


def test_progress_off_a_terminal_is_a_log_line_every_five_percent():
    stream = io.StringIO()
    configure_logging(StashLogHandler(stream), SecretRedactor())
    bar = ConsoleProgress(io.StringIO())
    for done in range(0, 101):
        bar(done, 100)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 19 and "5/100 scenes" in lines[0] and "95/100 scenes" in lines[-1]


def test_result_is_one_json_object():
    stream = io.StringIO()
    write_plugin_result(stream, {"a": 1}, None, SecretRedactor())
    assert json.loads(stream.getvalue()) == {"output": {"a": 1}, "error": None}


def test_the_json_answer_carries_no_secret_in_its_output_or_error():
    stream = io.StringIO()
    secret = "stashdb-key-0123456789abcdef"
    answer = {"summary": {"aborted": f"proxy said: bad key {secret}"}}
    write_plugin_result(stream, answer, f"Run stopped: echo {secret}", SecretRedactor([secret]))
    assert secret not in stream.getvalue()
    decoded = json.loads(stream.getvalue())
    assert decoded["error"] == "Run stopped: echo [REDACTED]"
    assert decoded["output"]["summary"]["aborted"] == "proxy said: bad key [REDACTED]"
