"""The failed queue's statements: atomic claims with leases, recovery, keyset scans.

Repositories take a session and never commit; the engine owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Record, SyncLogEntry

PENDING, SYNCING, SUCCEEDED, FAILED, RESOLVED = (
    "pending",
    "syncing",
    "succeeded",
    "failed",
    "resolved",
)
STATES = (PENDING, SYNCING, SUCCEEDED, FAILED, RESOLVED)


@dataclass(frozen=True)
class Claimed:
    """A record this process now holds under its lease, with what sending it needs."""

    record_id: int
    last_error: str | None
    attempt_count: int
    auto_streak: int
    record: Record


def claim(
    session: Session,
    record_ids: Sequence[int],
    from_states: Sequence[str],
    *,
    token: str,
    now: datetime,
    lease_until: datetime,
    due_only: bool = False,
) -> list[Claimed]:
    """Atomically take the records among `record_ids` that are still in `from_states`.

    One conditional UPDATE ... RETURNING; on PostgreSQL the candidate rows are locked with
    SKIP LOCKED, so two claimers never wait on each other and never take the same row.
    """
    if not record_ids:
        return []
    wanted: list[ColumnElement[bool]] = [
        SyncLogEntry.record_id.in_(record_ids),
        SyncLogEntry.state.in_(from_states),
    ]
    if due_only:
        wanted += [SyncLogEntry.next_attempt_at <= now, SyncLogEntry.parked.is_(False)]
    candidates = select(SyncLogEntry.record_id).where(*wanted)
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    rows = session.execute(
        update(SyncLogEntry)
        .where(SyncLogEntry.record_id.in_(candidates.scalar_subquery()), *wanted)
        .values(state=SYNCING, lease_token=token, lease_expires_at=lease_until)
        .returning(
            SyncLogEntry.record_id,
            SyncLogEntry.last_error,
            SyncLogEntry.attempt_count,
            SyncLogEntry.auto_streak,
        )
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    records = {
        r.id: r for r in session.scalars(select(Record).where(Record.id.in_([x[0] for x in rows])))
    }
    claimed = [
        Claimed(rid, error, count, streak, records[rid]) for rid, error, count, streak in rows
    ]
    claimed.sort(key=lambda c: c.record_id)
    return claimed


def recover_expired(session: Session, now: datetime) -> int:
    """Return records whose lease expired to the queue: failed if they ever failed, else pending."""
    expired = and_(SyncLogEntry.state == SYNCING, SyncLogEntry.lease_expires_at < now)
    total = 0
    for state, condition in (
        (FAILED, SyncLogEntry.last_error.is_not(None)),
        (PENDING, SyncLogEntry.last_error.is_(None)),
    ):
        result = session.execute(
            update(SyncLogEntry)
            .where(expired, condition)
            .values(state=state, lease_token=None, lease_expires_at=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        total += result.rowcount  # type: ignore[attr-defined]
    return total


def scan(
    session: Session,
    condition: ColumnElement[bool],
    after: int,
    limit: int,
    upto: int | None = None,
) -> list[tuple[int, str]]:
    """Keyset page of (record_id, state) in the sync log matching `condition`, after `after`."""
    query = (
        select(SyncLogEntry.record_id, SyncLogEntry.state)
        .where(condition, SyncLogEntry.record_id > after)
        .order_by(SyncLogEntry.record_id)
        .limit(limit)
    )
    if upto is not None:
        query = query.where(SyncLogEntry.record_id <= upto)
    return [(rid, state) for rid, state in session.execute(query)]


def in_failed_queue() -> ColumnElement[bool]:
    """Records in the failed queue: failed now, or being retried after failing."""
    return or_(
        SyncLogEntry.state == FAILED,
        and_(SyncLogEntry.state == SYNCING, SyncLogEntry.last_error.is_not(None)),
    )
