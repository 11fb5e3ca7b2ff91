"""A chunk's answers besides its sync log rows and alerts: the attempts, the retry event's
items, the gateway's last answer. Each takes the chunk's Core connection and never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from storage.db import Conn
from storage.models import Attempt, GatewayStatus, RetryEventItem
from storage.queue import add_rows


def add_attempts(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """One `attempts` row per record sent (no rows, nothing written)."""
    add_rows(conn, Attempt, rows)


def add_retry_event_items(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """What each record sent for a retry event came to (no rows, nothing written)."""
    add_rows(conn, RetryEventItem, rows)


def note_gateway_answer(conn: Conn, values: dict[str, object]) -> None:
    """Write the gateway's last answer (`last_answer_at`, `last_answer`, `last_success_at`)."""
    conn.execute(update(GatewayStatus).where(GatewayStatus.id == 1).values(values))
