"""Structured logs for `syncbot serve`: one JSON object per line, secrets never printed.

Every record becomes `{"at", "level", "logger", "message", ...}` plus the fields the code gave
it (`extra=`), such as the engine's `event: attempt` and `event: retry_event` lines. The
formatted line is searched for every configured secret (tokens, the signing secret) and each
is replaced before it is written, whatever path it came by (a URL, an exception's text).
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[redacted]"
# A LogRecord's own attributes; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonLines(logging.Formatter):
    """One JSON object per record, with the secrets taken out."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        # Short values would redact ordinary words; real tokens are long.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        fields: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        line = json.dumps(fields, default=str, ensure_ascii=False)
        for secret in self.secrets:
            line = line.replace(secret, REDACTED)
        return line


def configure(secrets: Iterable[str | None], stream: TextIO | None = None) -> None:
    """Log INFO and above as JSON lines on `stream` (stderr), with `secrets` redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def log_with_id(
    logger: logging.Logger, what: str, *args: object, error: BaseException | None = None
) -> str:
    """Log `what` at ERROR with the exception (the one being handled unless `error` is given)
    and a short id the person told about it can quote; return the id."""
    error_id = uuid.uuid4().hex[:8]
    logger.error(
        f"{what} [error id %s]",
        *args,
        error_id,
        exc_info=error if error is not None else True,
        extra={"error_id": error_id},
    )
    return error_id
