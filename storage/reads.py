"""Reads for the front doors: the failed queue's pages, a record's history, the status counts.

Each function takes a transaction (`storage.db.Tx`) and only reads; the engine turns what it
returns into its result dataclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select

from storage.db import Tx
from storage.models import (
    Attempt,
    GatewayStatus,
    Record,
    RecordChange,
    RetryEvent,
    RetryEventItem,
    SyncLogEntry,
)
from storage.queue import due, in_failed_queue
from storage.queue_pages import page_query, queue_count
from storage.vocabulary import Outcome, State


def _count(tx: Tx, condition: ColumnElement[bool]) -> int:
    query = select(func.count()).select_from(SyncLogEntry).where(condition)
    return tx.scalar(query) or 0


def count_due(tx: Tx, now: datetime) -> int:
    """How many failed records are due for their automatic retry at `now`."""
    return _count(tx, due(now))


def held_back(tx: Tx, now: datetime) -> int:
    """Records an automatic run would send now: the pending ones and the failed ones due."""
    return _count(tx, (SyncLogEntry.state == State.PENDING) | due(now))


def failed_queue_size(tx: Tx) -> int:
    """How many records the failed queue holds (one count over the sync log)."""
    return _count(tx, in_failed_queue())


def failed_queue_end(tx: Tx) -> int | None:
    """The highest record id in the failed queue (the end of a snapshot of it), or None."""
    return tx.scalar(select(func.max(SyncLogEntry.record_id)).where(in_failed_queue()))


def parked_count(tx: Tx) -> int:
    """How many records of the failed queue are parked."""
    return _count(tx, in_failed_queue() & SyncLogEntry.parked.is_(True))


# What a queue row shows, by these names (and `record_id`).
PAGE_COLUMNS = (
    Record.source_id,
    Record.kind,
    Record.payee_id,
    Record.payee_name,
    Record.amount_minor,
    Record.currency,
    SyncLogEntry.state,
    SyncLogEntry.error_class,
    SyncLogEntry.attempt_count,
    SyncLogEntry.next_attempt_at,
    SyncLogEntry.parked,
    SyncLogEntry.last_error,
)


def page_rows(
    tx: Tx, kind: str | None, error_class: str | None, after: int, limit: int
) -> Sequence[Row[Any]]:
    """Up to `limit` rows of the failed queue after the record id `after`, by record id.

    Each row has `record_id` and the names of `PAGE_COLUMNS`.
    """
    page = page_query(tx, kind, error_class, after, limit)
    # One statement for the page's ids and their rows, so both see the same queue; plain
    # columns, not ORM objects, as a page is read and forgotten.
    return tx.execute(
        select(page.c.record_id, *PAGE_COLUMNS)
        .select_from(page)
        .join(SyncLogEntry, SyncLogEntry.record_id == page.c.record_id)
        .join(Record, Record.id == page.c.record_id)
        .order_by(page.c.record_id)
    ).all()


def queue_size(tx: Tx, kind: str | None = None, error_class: str | None = None) -> int:
    """How many records the failed queue holds, of `kind` and `error_class` when given."""
    return queue_count(tx, kind, error_class)


def failure_messages(tx: Tx, record_ids: list[int]) -> dict[int, list[str]]:
    """record id -> the error of each of its attempts that did not succeed, oldest first."""
    found: dict[int, list[str]] = {}
    if not record_ids:
        return found
    query = (
        select(Attempt.record_id, Attempt.error)
        .where(
            Attempt.record_id.in_(record_ids),
            Attempt.error.is_not(None),
            Attempt.outcome != Outcome.SUCCEEDED,
        )
        .order_by(Attempt.id)
    )
    for rid, error in tx.execute(query):
        found.setdefault(rid, []).append(error or "")
    return found


def record_and_entry(tx: Tx, source_id: str) -> tuple[Record, SyncLogEntry] | None:
    """The record named `source_id` and its sync log entry, or None."""
    row = tx.execute(
        select(Record, SyncLogEntry)
        .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
        .where(Record.source_id == source_id)
    ).first()
    return None if row is None else (row[0], row[1])


def attempts_of(tx: Tx, record_id: int) -> Sequence[Attempt]:
    """Every attempt of one record, oldest first."""
    return tx.scalars(
        select(Attempt).where(Attempt.record_id == record_id).order_by(Attempt.id)
    ).all()


def retry_events_of(tx: Tx, record_id: int) -> list[tuple[RetryEvent, str]]:
    """Every retry event that took one record, oldest first, with what it came to."""
    rows = tx.execute(
        select(RetryEvent, RetryEventItem.result)
        .join(RetryEventItem, RetryEventItem.retry_event_id == RetryEvent.id)
        .where(RetryEventItem.record_id == record_id)
        .order_by(RetryEvent.id)
    )
    return [(event, result) for event, result in rows]


def changes_of(tx: Tx, record_id: int) -> Sequence[RecordChange]:
    """Every change a person made to one record, oldest first."""
    return tx.scalars(
        select(RecordChange).where(RecordChange.record_id == record_id).order_by(RecordChange.id)
    ).all()


def counts_by_state(tx: Tx) -> dict[str, int]:
    """state -> how many sync log entries are in it (states with none left out)."""
    rows = tx.execute(select(SyncLogEntry.state, func.count()).group_by(SyncLogEntry.state))
    return {state: n for state, n in rows}


def failed_counts_by_class(tx: Tx) -> dict[str | None, int]:
    """error class -> how many records of the failed queue have it."""
    rows = tx.execute(
        select(SyncLogEntry.error_class, func.count())
        .where(in_failed_queue())
        .group_by(SyncLogEntry.error_class)
    )
    return {error_class: n for error_class, n in rows}


def gateway_status(tx: Tx) -> GatewayStatus | None:
    """The gateway's last answer as the engine saw it (its one row), if any was recorded."""
    return tx.get(GatewayStatus, 1)
