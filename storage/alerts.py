"""The alert outbox, the alert messages posted from it, and the leases of jobs one process runs.

Repositories: each takes a transaction (a `Tx`, or a `Conn` on the sending path) and never
commits; what an alert says and when to write it is the engine's (`sync_engine/alerts.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Conn, Tx
from storage.models import AlertMessage, AlertOutbox, GatewayStatus, Lease
from storage.queue import add_rows

OUTBOX_COLUMNS = (AlertOutbox.id, AlertOutbox.kind, AlertOutbox.created_at, AlertOutbox.payload)


@dataclass(frozen=True)
class OutboxRow:
    """One unposted outbox row: its kind, when it was written, and its payload (JSON text)."""

    id: int
    kind: str
    created_at: datetime
    payload: str


# -- leases ---------------------------------------------------------------------------------


def renew_lease(tx: Tx, name: str, owner: str, *, now: datetime, until: datetime) -> bool:
    """Hold the lease `name` until `until` if `owner` holds it or it has expired; whether so."""
    free = (Lease.name == name) & ((Lease.owner == owner) | (Lease.expires_at < now))
    taken = tx.execute(update(Lease).where(free).values(owner=owner, expires_at=until))
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def create_lease(tx: Tx, name: str, owner: str, *, until: datetime) -> bool:
    """Write the lease `name` for `owner`; False if its row exists already (someone holds it)."""
    try:
        # A savepoint, so that the transaction is still usable after the conflict.
        with tx.begin_nested():
            tx.execute(insert(Lease).values(name=name, owner=owner, expires_at=until))
    except IntegrityError:
        return False
    return True


def release_lease(tx: Tx, name: str, owner: str, *, expired_at: datetime) -> None:
    """Let the lease `name` expire at `expired_at`, if `owner` holds it."""
    tx.execute(
        update(Lease).where(Lease.name == name, Lease.owner == owner).values(expires_at=expired_at)
    )


# -- the outbox -----------------------------------------------------------------------------


def add_outbox_rows(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """Put unposted rows in the outbox (each as `alert_payloads.outbox_row` makes it)."""
    add_rows(conn, AlertOutbox, rows)


def add_outbox_row(tx: Tx, row: Mapping[str, Any]) -> None:
    """Put one unposted row in the outbox, in an ORM transaction."""
    tx.execute(insert(AlertOutbox).values(row))


def latest_payload(tx: Tx, kind: str) -> str | None:
    """The payload (JSON text) of the newest outbox row of `kind`, posted or not; None if none."""
    return tx.scalars(
        select(AlertOutbox.payload)
        .where(AlertOutbox.kind == kind)
        .order_by(AlertOutbox.id.desc())
        .limit(1)
    ).first()


def lock_for_once(tx: Tx) -> None:
    """Hold the status row's lock until `tx` ends, so that of two processes writing an
    only-once alert (check, then add) the second sees the first's row. On SQLite the write
    transaction already holds the one write lock."""
    tx.execute(select(GatewayStatus.id).where(GatewayStatus.id == 1).with_for_update())


def unposted_count(tx: Tx) -> int:
    """How many outbox rows wait to be posted."""
    return tx.scalar(select(func.count()).where(AlertOutbox.posted_at.is_(None))) or 0


def oldest_unposted(tx: Tx, kinds: Sequence[str], limit: int) -> list[OutboxRow]:
    """Up to `limit` unposted rows of `kinds`, oldest first."""
    rows = tx.execute(
        select(*OUTBOX_COLUMNS)
        .where(AlertOutbox.posted_at.is_(None), AlertOutbox.kind.in_(kinds))
        .order_by(AlertOutbox.id)
        .limit(limit)
    ).all()
    return [OutboxRow(r.id, r.kind, r.created_at, r.payload) for r in rows]


def unposted_ids_since(tx: Tx, kinds: Sequence[str], since: datetime) -> list[int]:
    """The ids of the unposted rows of `kinds` written at `since` or later."""
    return list(
        tx.scalars(
            select(AlertOutbox.id).where(
                AlertOutbox.posted_at.is_(None),
                AlertOutbox.kind.in_(kinds),
                AlertOutbox.created_at >= since,
            )
        ).all()
    )


def mark_posted(tx: Tx, outbox_ids: Sequence[int], alert_id: int, now: datetime) -> None:
    """Mark the outbox rows (those still unposted) as posted in the alert `alert_id`."""
    tx.execute(
        update(AlertOutbox)
        .where(AlertOutbox.id.in_(outbox_ids), AlertOutbox.posted_at.is_(None))
        .values(posted_at=now, alert_id=alert_id)
    )


# -- alert messages -------------------------------------------------------------------------


def latest_message(
    tx: Tx, kind: str, channel: str, *, until: datetime, after: datetime | None = None
) -> AlertMessage | None:
    """The newest message of `kind` in `channel` opened at `until` or before (after `after`)."""
    query = select(AlertMessage).where(
        AlertMessage.kind == kind,
        AlertMessage.channel == channel,
        AlertMessage.opened_at <= until,
    )
    if after is not None:
        query = query.where(AlertMessage.opened_at > after)
    return tx.scalars(query.order_by(AlertMessage.opened_at.desc()).limit(1)).first()


def add_message(tx: Tx, values: Mapping[str, object]) -> int:
    """Insert an alert message with `values`; its id."""
    return tx.execute(insert(AlertMessage).values(values).returning(AlertMessage.id)).scalar_one()


def update_message(tx: Tx, alert_id: int, values: Mapping[str, object]) -> None:
    """Set `values` on the alert message `alert_id`."""
    tx.execute(update(AlertMessage).where(AlertMessage.id == alert_id).values(values))
