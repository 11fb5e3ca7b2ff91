"""Retry events and their items: opened when a retry starts, finished with its counts.

Repositories take a transaction (`storage.db.Tx`) and never commit; the engine does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert

from storage.db import Tx
from storage.models import RetryEvent, RetryEventItem
from storage.vocabulary import ItemResult


@dataclass(frozen=True)
class Started:
    """How a retry event began: its kind, how and by whom it was asked, and when."""

    kind: str
    via: str
    requested_by: str
    at: datetime


def open_event(tx: Tx, kind: str, via: str, requested_by: str, at: datetime) -> int:
    """Add a retry event; its id."""
    event = RetryEvent(kind=kind, via=via, requested_by=requested_by, at=at)
    tx.add(event)
    tx.flush()
    return event.id


def add_skipped(tx: Tx, event_id: int, skipped: list[tuple[int, str]]) -> None:
    """Note the records (record id, reason) a retry event skipped, as its items."""
    rows = [
        {
            "retry_event_id": event_id,
            "record_id": rid,
            "result": ItemResult.SKIPPED,
            "detail": reason,
        }
        for rid, reason in skipped
    ]
    if rows:
        tx.execute(insert(RetryEventItem), rows)


def finish_event(
    tx: Tx, event_id: int, finished_at: datetime, succeeded: int, failed: int, skipped: int
) -> Started:
    """Write how a retry event ended (when, and its counts); how it began."""
    event = tx.get_one(RetryEvent, event_id)
    event.finished_at = finished_at
    event.succeeded, event.failed, event.skipped = succeeded, failed, skipped
    return Started(event.kind, event.via, event.requested_by, event.at)
