"""JSON log lines: their fields, and secrets redacted."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import REDACTED, JsonLines, configure


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
