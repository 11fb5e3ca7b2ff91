"""The gateway's status row (`gateway_status`, id 1): the failure streak and the outage in force.

Repositories: each takes a transaction and never commits. When an outage begins or ends, and
what counts toward the streak, is the engine's (`sync_engine/outage.py`); these are its
statements, each one conditional so that of two processes only one begins or ends an outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, or_, select, update

from storage.db import Conn, Tx
from storage.models import GatewayStatus, SyncLogEntry
from storage.vocabulary import State

_ROW = GatewayStatus.id == 1
# An answer from a working gateway: the streak starts again, and the outage in force (if
# any) is returned, so that the answer can end it.
_ALIVE = (
    update(GatewayStatus)
    .where(_ROW, or_(GatewayStatus.transient_streak > 0, GatewayStatus.outage_since.is_not(None)))
    .values(transient_streak=0)
    .returning(GatewayStatus.outage_since, GatewayStatus.outage_reason)
)
_UNPARK = (
    update(SyncLogEntry)
    .where(SyncLogEntry.record_id == bindparam("rid"))
    .values(parked=False, auto_streak=0, next_attempt_at=bindparam("due"))
)


@dataclass(frozen=True)
class Streak:
    """The status row after its streak moved: the streak, and the outage in force if any."""

    transient_streak: int
    outage_since: datetime | None


def status(tx: Tx) -> GatewayStatus | None:
    """The status row, or None before the first migration wrote it."""
    return tx.get(GatewayStatus, 1)


def reset_streak(conn: Conn) -> tuple[datetime, str] | None:
    """Start the streak again; the outage in force (its start and reason), or None.

    One statement, and no row lock at all in the common case (no streak, no outage).
    """
    row = conn.execute(_ALIVE).one_or_none()
    if row is None or row.outage_since is None:
        return None
    return row.outage_since, row.outage_reason or ""


def move_streak(conn: Conn, count: int, *, restart: bool) -> Streak:
    """Add `count` transient failures to the streak (`restart`: set it to `count`)."""
    streak = count if restart else GatewayStatus.transient_streak + count
    row = conn.execute(
        update(GatewayStatus)
        .where(_ROW)
        .values(transient_streak=streak)
        .returning(GatewayStatus.transient_streak, GatewayStatus.outage_since)
    ).one()
    return Streak(row.transient_streak, row.outage_since)


def begin_outage(conn: Conn, reason: str, *, now: datetime, next_probe_at: datetime) -> bool:
    """Mark the outage begun at `now`, unless one is on already; whether it began here."""
    started = conn.execute(
        update(GatewayStatus)
        .where(_ROW, GatewayStatus.outage_since.is_(None))
        .values(outage_since=now, outage_reason=reason, next_probe_at=next_probe_at, probes=0)
    ).rowcount
    return bool(started)


def probe_failed(
    conn: Conn, since: datetime, *, probes: int, next_probe_at: datetime, now: datetime, answer: str
) -> None:
    """Note a failed probe of the outage begun at `since`, and when to probe next."""
    conn.execute(
        update(GatewayStatus)
        .where(_ROW, GatewayStatus.outage_since == since)
        .values(probes=probes, next_probe_at=next_probe_at, last_answer_at=now, last_answer=answer)
    )


def end_outage(conn: Conn, since: datetime, *, now: datetime, answer: str) -> bool:
    """End the outage begun at `since`; False if it is not in force (another process ended it)."""
    ended = conn.execute(
        update(GatewayStatus)
        .where(_ROW, GatewayStatus.outage_since == since)
        .values(
            outage_since=None,
            outage_reason=None,
            next_probe_at=None,
            probes=0,
            transient_streak=0,
            last_answer_at=now,
            last_answer=answer,
        )
    ).rowcount
    return bool(ended)


def parked_failures(conn: Conn, error_class: str) -> list[int]:
    """The ids of the failed records parked with an error of `error_class`."""
    return list(
        conn.scalars(
            select(SyncLogEntry.record_id).where(
                SyncLogEntry.state == State.FAILED,
                SyncLogEntry.parked.is_(True),
                SyncLogEntry.error_class == error_class,
            )
        ).all()
    )


def unpark(conn: Conn, due: dict[int, datetime]) -> None:
    """Return parked records to the automatic queue, each due at its time, streak 0."""
    if due:
        conn.execute(_UNPARK, [{"rid": rid, "due": at} for rid, at in due.items()])
