"""JSON log lines: their fields, and secrets redacted."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import REDACTED, JsonLines, configure, log_with_id


def test_log_lines_are_json_with_their_fields_and_no_secrets():
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure(["xoxb-secret-bot-token", "short", None], stream)
        logging.getLogger("sync_engine.telemetry").info(
            "posting with xoxb-secret-bot-token failed",
            extra={"event": "attempt", "source_id": "RMB-1", "http_status": 503},
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == f"posting with {REDACTED} failed"
    assert (entry["event"], entry["source_id"], entry["http_status"]) == ("attempt", "RMB-1", 503)
    assert entry["level"] == "INFO" and entry["logger"] == "sync_engine.telemetry"
    assert "xoxb-secret-bot-token" not in line
    assert JsonLines(["short"]).secrets == []  # too short to redact safely


def _logged(action) -> dict:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure(["xoxb-secret-bot-token"], stream)
        action()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_an_error_is_logged_once_with_the_id_the_person_is_told():
    ids: list[str] = []

    def fail() -> None:
        try:
            raise RuntimeError("token xoxb-secret-bot-token rejected")
        except RuntimeError:
            ids.append(log_with_id(logging.getLogger("bot.scheduler"), "the %s failed", "tick"))

    entry = _logged(fail)
    [error_id] = ids
    assert len(error_id) == 8 and entry["error_id"] == error_id
    assert entry["message"] == f"the tick failed [error id {error_id}]"
    assert entry["level"] == "ERROR" and "RuntimeError" in entry["exception"]
    assert "xoxb-secret-bot-token" not in json.dumps(entry)


def test_an_error_passed_in_is_logged_outside_its_except_block():
    error = ValueError("bad state")
    entry = _logged(lambda: log_with_id(logging.getLogger("bot.slack"), "unexpected", error=error))
    assert "ValueError: bad state" in entry["exception"]
    assert entry["message"] == f"unexpected [error id {entry['error_id']}]"
