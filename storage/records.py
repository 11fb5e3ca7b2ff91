"""Records, their sync log entries and their changes: lookups by name, inserts, corrections.

Repositories take a transaction (`storage.db.Tx`) and never commit; the engine does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from storage.bulk import find_source_ids
from storage.bulk import insert_pending as _insert_pending
from storage.db import Tx
from storage.models import Record, RecordChange, SyncLogEntry
from storage.vocabulary import ChangeAction, State


def find_known(tx: Tx, source_ids: Sequence[str]) -> dict[str, int]:
    """source_id -> record id, for those of `source_ids` that are stored."""
    return find_source_ids(tx.connection(), source_ids)


def insert_pending(tx: Tx, rows: Sequence[Sequence[Any]], now: datetime) -> None:
    """Insert new records (values in `storage.bulk.NEW_RECORD_COLUMNS` order), each pending."""
    _insert_pending(tx.connection(), rows, now)


def states_of(tx: Tx, source_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """source_id -> (record id, sync state) for the stored ones among `source_ids`."""
    rows = tx.execute(
        select(Record.source_id, Record.id, SyncLogEntry.state)
        .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
        .where(Record.source_id.in_(source_ids))
    )
    return {source_id: (rid, state) for source_id, rid, state in rows}


def source_ids(tx: Tx, record_ids: Sequence[int]) -> dict[int, str]:
    """record id -> source_id for the stored ones among `record_ids`."""
    if not record_ids:
        return {}
    rows = tx.execute(select(Record.id, Record.source_id).where(Record.id.in_(record_ids)))
    return {rid: source_id for rid, source_id in rows}


def record_ids(tx: Tx, names: Sequence[str]) -> dict[str, int]:
    """source_id -> record id for the stored ones among `names`."""
    if not names:
        return {}
    rows = tx.execute(select(Record.source_id, Record.id).where(Record.source_id.in_(names)))
    return {source_id: rid for source_id, rid in rows}


def get_record(tx: Tx, record_id: int) -> Record:
    """The record with this id (it must exist)."""
    return tx.get_one(Record, record_id)


def get_entry(tx: Tx, record_id: int) -> SyncLogEntry:
    """The sync log entry of this record (it must exist)."""
    return tx.get_one(SyncLogEntry, record_id)


def idempotency_key(tx: Tx, record_id: int) -> str:
    """The idempotency key the record with this id is posted under."""
    return tx.scalars(select(Record.idempotency_key).where(Record.id == record_id)).one()


@dataclass(frozen=True)
class Change:
    """A person's change to a record outside a posting: when, what, who, why, the details."""

    at: datetime
    action: ChangeAction
    by: str
    reason: str | None
    detail: str | None = None  # JSON: what changed


def correct(
    tx: Tx,
    record: Record,
    values: dict[str, object],
    new_key: str,
    change: Change,
) -> None:
    """Give `record` new data and key, queue it again as pending, and keep the change."""
    for name, value in values.items():
        setattr(record, name, value)
    record.idempotency_key = new_key
    entry = tx.get(SyncLogEntry, record.id)
    assert entry is not None
    entry.kind = record.kind  # the queue's copy, for its indexes
    entry.state, entry.updated_at = State.PENDING, change.at
    entry.error_class = entry.last_error = entry.next_attempt_at = None
    entry.auto_streak, entry.parked = 0, False
    add_change(tx, record.id, change)


def add_change(tx: Tx, record_id: int, change: Change) -> None:
    """Keep a person's change to a record (a row of `record_changes`)."""
    tx.add(
        RecordChange(
            record_id=record_id,
            at=change.at,
            action=change.action,
            by=change.by,
            reason=change.reason,
            detail=change.detail,
        )
    )


def settle_by_hand(
    tx: Tx, record_id: int, from_state: str, to_state: str, ref: str | None, now: datetime
) -> bool:
    """Move a record from `from_state` to `to_state` (resolved, or found booked as `ref`);
    False if it was no longer in `from_state` (another retry holds it)."""
    changed = (
        tx.connection()
        .execute(
            update(SyncLogEntry)
            .where(SyncLogEntry.record_id == record_id, SyncLogEntry.state == from_state)
            .values(state=to_state, accounting_ref=ref, next_attempt_at=None, updated_at=now)
        )
        .rowcount
    )
    return bool(changed)
