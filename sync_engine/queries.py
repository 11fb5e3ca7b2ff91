"""Read-side queries: the failed queue's pages, a record's history, status counts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Attempt,
    GatewayStatus,
    Record,
    RecordChange,
    RetryEvent,
    RetryEventItem,
    SyncLogEntry,
)
from storage.queue import FAILED, PENDING, STATES, in_failed_queue
from storage.queue_pages import page_query, queue_count
from sync_engine.chunk_writer import retry_count
from sync_engine.errors import UnknownRecord
from sync_engine.money import from_minor
from sync_engine.outage import current
from sync_engine.policy import ERROR_CLASSES
from sync_engine.records import nameable
from sync_engine.results import (
    AttemptView,
    ChangeView,
    FailedPage,
    FailedRecord,
    History,
    RetryEventView,
    Status,
)


def count(session: Session, condition: ColumnElement[bool]) -> int:
    """How many sync log entries match `condition`."""
    query = select(func.count()).select_from(SyncLogEntry).where(condition)
    return session.scalar(query) or 0


def due(now: datetime) -> ColumnElement[bool]:
    """Failed records whose automatic retry has come (parked ones never come)."""
    return (
        (SyncLogEntry.state == FAILED)
        & (SyncLogEntry.next_attempt_at <= now)
        & SyncLogEntry.parked.is_(False)
    )


def held_back(session: Session, now: datetime) -> int:
    """Records an automatic run would send now: the pending ones and the failed ones due."""
    return count(session, (SyncLogEntry.state == PENDING) | due(now))


def max_record_id(session: Session, condition: ColumnElement[bool]) -> int | None:
    """The highest record id matching `condition` (the end of a snapshot of the queue)."""
    query = select(func.max(SyncLogEntry.record_id)).where(condition)
    return session.scalar(query)


def states_of(session: Session, source_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """source_id -> (record id, sync state) for the known ones among `source_ids`."""
    source_ids = [s for s in source_ids if nameable(s)]
    rows = session.execute(
        select(Record.source_id, Record.id, SyncLogEntry.state)
        .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
        .where(Record.source_id.in_(source_ids))
    )
    found = {source_id: (rid, state) for source_id, rid, state in rows}
    return {s: found[s] for s in source_ids if s in found}


def source_ids(session: Session, record_ids: Sequence[int]) -> list[str]:
    """The source_ids of these record ids, in the same order."""
    if not record_ids:
        return []
    names = dict(
        session.execute(select(Record.id, Record.source_id).where(Record.id.in_(record_ids))).all()
    )
    return [names[r] for r in record_ids if r in names]


def record_ids(session: Session, names: Sequence[str]) -> dict[str, int]:
    """source_id -> record id for these source_ids."""
    if not names:
        return {}
    return dict(
        session.execute(
            select(Record.source_id, Record.id).where(Record.source_id.in_(names))
        ).all()
    )


def failed_page(
    session: Session, kind: str | None, error_class: str | None, after: int | None, limit: int
) -> FailedPage:
    """A keyset page of the failed queue, with every error message of each record."""
    page = page_query(session, kind, error_class, after or 0, limit + 1)
    # One statement for the page's ids and their rows, so both see the same queue; plain
    # columns, not ORM objects, as a page is read and forgotten.
    rows = session.execute(
        select(page.c.record_id, *PAGE_COLUMNS)
        .select_from(page)
        .join(SyncLogEntry, SyncLogEntry.record_id == page.c.record_id)
        .join(Record, Record.id == page.c.record_id)
        .order_by(page.c.record_id)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    errors = _errors(session, [row.record_id for row in rows])
    items = tuple(_failed_record(row, row, errors.get(row.record_id, [])) for row in rows)
    total = queue_count(session, kind, error_class)
    return FailedPage(items, total, rows[-1].record_id if more else None)


# What a queue row shows: the names `_shared_fields` and `_failed_record` read.
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


def failed_count(session: Session) -> int:
    """How many records the failed queue holds."""
    return queue_count(session, None, None)


def _errors(session: Session, ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not ids:
        return found
    query = (
        select(Attempt.record_id, Attempt.error)
        .where(
            Attempt.record_id.in_(ids), Attempt.error.is_not(None), Attempt.outcome != "succeeded"
        )
        .order_by(Attempt.id)
    )
    for rid, error in session.execute(query):
        found.setdefault(rid, []).append(error or "")
    return found


def _shared_fields(record: Record | Row[Any], entry: SyncLogEntry | Row[Any]) -> dict[str, Any]:
    """What a queue row and a history both say of a record."""
    return {
        "source_id": record.source_id,
        "kind": record.kind,
        "payee_id": record.payee_id,
        "payee_name": record.payee_name,
        "amount": from_minor(record.amount_minor, record.currency),
        "currency": record.currency,
        "state": entry.state,
        "error_class": entry.error_class,
        "retry_count": retry_count(entry.attempt_count),
        "next_attempt_at": entry.next_attempt_at,
        "parked": entry.parked,
    }


def _failed_record(
    record: Record | Row[Any], entry: SyncLogEntry | Row[Any], errors: list[str]
) -> FailedRecord:
    return FailedRecord(
        **_shared_fields(record, entry), last_error=entry.last_error, errors=tuple(errors)
    )


def history(session: Session, source_id: str) -> History:
    """Everything known of one record."""
    if not nameable(source_id):
        raise UnknownRecord([source_id])
    row = session.execute(
        select(Record, SyncLogEntry)
        .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
        .where(Record.source_id == source_id)
    ).first()
    if row is None:
        raise UnknownRecord([source_id])
    record, entry = row
    attempts = session.scalars(
        select(Attempt).where(Attempt.record_id == record.id).order_by(Attempt.id)
    )
    events = session.execute(
        select(RetryEvent, RetryEventItem.result)
        .join(RetryEventItem, RetryEventItem.retry_event_id == RetryEvent.id)
        .where(RetryEventItem.record_id == record.id)
        .order_by(RetryEvent.id)
    )
    changes = session.scalars(
        select(RecordChange).where(RecordChange.record_id == record.id).order_by(RecordChange.id)
    )
    return History(
        **_shared_fields(record, entry),
        accounting_ref=entry.accounting_ref,
        sync_log_state=entry.state,
        sync_log_retry_event_id=entry.retry_event_id,
        sync_log_updated_at=entry.updated_at,
        attempts=tuple(
            AttemptView(
                a.at,
                a.trigger,
                a.outcome,
                a.http_status,
                a.error,
                a.error_class,
                a.retry_event_id,
                a.accounting_ref,
            )
            for a in attempts
        ),
        retry_events=tuple(
            RetryEventView(e.id, e.kind, e.requested_by, e.via, e.at, result)
            for e, result in events
        ),
        changes=tuple(ChangeView(c.at, c.action, c.by, c.reason) for c in changes),
    )


def status(session: Session) -> Status:
    """Counts by state and by error class of the failed queue, and the gateway's last answer."""
    by_state = dict.fromkeys(STATES, 0)
    by_state.update(
        session.execute(select(SyncLogEntry.state, func.count()).group_by(SyncLogEntry.state)).all()
    )
    by_class = dict.fromkeys(ERROR_CLASSES, 0)
    rows = session.execute(
        select(SyncLogEntry.error_class, func.count())
        .where(in_failed_queue())
        .group_by(SyncLogEntry.error_class)
    )
    by_class.update({error_class: n for error_class, n in rows if error_class})
    parked = count(session, in_failed_queue() & SyncLogEntry.parked.is_(True))
    gateway = session.get(GatewayStatus, 1)
    return Status(
        by_state=by_state,
        by_error_class=by_class,
        parked=parked,
        last_success_at=gateway.last_success_at if gateway else None,
        last_gateway_answer=gateway.last_answer if gateway else None,
        last_gateway_answer_at=gateway.last_answer_at if gateway else None,
        outage=current(session),
    )
