"""Records in and out of storage: submitting approved records, imports, corrections."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.models import Record, RecordChange, SyncLogEntry
from storage.queue import PENDING
from sync_engine.contract import Posting, format_time
from sync_engine.money import from_minor, to_minor

T = TypeVar("T")
DATA_FIELDS = (
    "kind",
    "payee_id",
    "payee_name",
    "amount_minor",
    "currency",
    "description",
    "approved_at",
    "approved_by",
    "account_code",
    "memo",
)


def new_idempotency_key() -> str:
    """A fresh key; a record keeps it for life (only a correction gives it another)."""
    return f"sb-{uuid.uuid4()}"


def posting_of(record: Record) -> Posting:
    """The gateway posting of a stored record."""
    return Posting(
        source_id=record.source_id,
        kind=record.kind,
        payee_id=record.payee_id,
        payee_name=record.payee_name,
        amount=from_minor(record.amount_minor, record.currency),
        currency=record.currency,
        description=record.description,
        approved_at=record.approved_at,
        approved_by=record.approved_by,
        account_code=record.account_code,
        memo=record.memo,
    )


def record_values(posting: Posting) -> dict[str, object]:
    """The stored columns of a posting's data (money as integer minor units)."""
    return {
        "kind": posting.kind,
        "payee_id": posting.payee_id,
        "payee_name": posting.payee_name,
        "amount_minor": to_minor(posting.amount, posting.currency),
        "currency": posting.currency,
        "description": posting.description,
        "approved_at": posting.approved_at,
        "approved_by": posting.approved_by,
        "account_code": posting.account_code,
        "memo": posting.memo,
    }


def known_source_ids(session: Session, source_ids: Iterable[str]) -> dict[str, Record]:
    """The stored records among `source_ids`, by source_id."""
    ids = list(source_ids)
    if not ids:
        return {}
    found = session.scalars(select(Record).where(Record.source_id.in_(ids)))
    return {r.source_id: r for r in found}


def insert_new(session: Session, postings: list[Posting], now: datetime) -> int:
    """Insert postings as new pending records (the caller has removed known source_ids)."""
    if not postings:
        return 0
    rows = [
        record_values(p) | {"source_id": p.source_id, "idempotency_key": new_idempotency_key()}
        for p in postings
    ]
    for row in rows:
        row["imported_at"] = now
    ids = session.scalars(insert(Record).returning(Record.id), rows).all()
    log = [
        {"record_id": rid, "state": PENDING, "updated_at": now, "attempt_count": 0} for rid in ids
    ]
    session.execute(insert(SyncLogEntry), log)
    return len(ids)


def changed_fields(record: Record, posting: Posting) -> dict[str, tuple[str, str]]:
    """The data fields a correction would change: name -> (old, new), as text."""
    new = record_values(posting)
    changes = {}
    for name in DATA_FIELDS:
        old_value, new_value = getattr(record, name), new[name]
        if old_value != new_value:
            changes[name] = (_text(old_value), _text(new_value))
    return changes


def _text(value: object) -> str:
    return format_time(value) if isinstance(value, datetime) else str(value)


def apply_correction(
    session: Session, record: Record, posting: Posting, by: str, now: datetime
) -> None:
    """Replace a record's data, give it a new key, queue it again and note the change."""
    changes = changed_fields(record, posting)
    old_key = record.idempotency_key
    for name, value in record_values(posting).items():
        setattr(record, name, value)
    record.idempotency_key = new_idempotency_key()
    entry = session.get(SyncLogEntry, record.id)
    assert entry is not None
    entry.state, entry.updated_at = PENDING, now
    entry.error_class = entry.last_error = entry.next_attempt_at = None
    entry.auto_streak, entry.parked = 0, False
    detail = {"changes": changes, "old_idempotency_key": old_key}
    session.add(
        RecordChange(
            record_id=record.id,
            at=now,
            action="corrected",
            by=by,
            reason="re-imported with --update",
            detail=json.dumps(detail),
        )
    )


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, drawn lazily."""
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
