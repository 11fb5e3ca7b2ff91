"""Records in and out of storage: submitting approved records, imports, corrections."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

from storage import records as stored
from storage.bulk import NEW_RECORD_COLUMNS
from storage.db import Tx
from storage.models import Record
from storage.vocabulary import ChangeAction
from sync_engine.contract import Posting, format_time
from sync_engine.money import from_minor, minor_unit, to_minor

T = TypeVar("T")
# NUL (which PostgreSQL refuses in text) and lone UTF-16 surrogates (a JSON "\ud800" escape:
# no driver can encode one) cannot be stored, nor looked for.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_SOURCE_ID = 128  # the records table's source_id column
# A record's data: what a correction may change.
DATA_FIELDS = tuple(
    c for c in NEW_RECORD_COLUMNS if c not in ("source_id", "idempotency_key", "imported_at")
)


def nameable(source_id: str) -> bool:
    """Whether `source_id` could name a record: asking the database about one that cannot
    (too long, or unstorable characters) would fail instead of finding nothing."""
    return len(source_id) <= MAX_SOURCE_ID and not UNSTORABLE.search(source_id)


def new_idempotency_key() -> str:
    """A fresh key; a record keeps it for life (only a correction gives it another)."""
    return f"sb-{uuid.uuid4()}"


def new_idempotency_keys(count: int) -> list[str]:
    """`count` fresh keys for new records, as UUIDs of version 7, in ascending order."""
    # Time-ordered keys (UUIDv7: milliseconds, then random bits), sorted, so the unique index
    # on the key grows at its end instead of at random pages; one urandom call for the lot,
    # because uuid4() per record costs more than inserting the record.
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    raw = os.urandom(10 * count).hex()
    keys = []
    for start in range(0, 20 * count, 20):
        h = raw[start : start + 20]
        variant = "89ab"[int(h[3], 16) & 3]
        keys.append(f"sb-{stamp[:8]}-{stamp[8:]}-7{h[:3]}-{variant}{h[4:7]}-{h[8:]}")
    keys.sort()
    return keys


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


def known_source_ids(session: Tx, source_ids: Iterable[str]) -> dict[str, int]:
    """The stored records among `source_ids`: source_id -> record id."""
    return stored.find_known(session, list(source_ids))


def insert_new(session: Tx, postings: list[Posting], now: datetime) -> int:
    """Insert postings as new pending records (the caller has removed known source_ids)."""
    rows = new_rows(postings, now)
    stored.insert_pending(session, rows, now)
    return len(rows)


def new_rows(postings: Sequence[Posting], now: datetime) -> list[tuple[object, ...]]:
    """New records' values, each with a fresh key, in `storage.bulk.NEW_RECORD_COLUMNS` order."""
    keys = new_idempotency_keys(len(postings))
    return [_new_row(p, key, now) for p, key in zip(postings, keys, strict=True)]


def _new_row(p: Posting, key: str, now: datetime) -> tuple[object, ...]:
    amount_minor = int(p.amount.scaleb(_places(p.currency)))
    return (
        p.source_id,
        p.kind,
        p.payee_id,
        p.payee_name,
        amount_minor,
        p.currency,
        p.description,
        p.approved_at,
        p.approved_by,
        p.account_code,
        p.memo,
        key,
        now,
    )


@lru_cache(maxsize=64)
def _places(currency: str) -> int:
    # The ISO 4217 lookup costs more than the rest of a row; a file holds few currencies.
    return minor_unit(currency)


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


def apply_correction(session: Tx, record: Record, posting: Posting, by: str, now: datetime) -> None:
    """Replace a record's data, give it a new key, queue it again and note the change."""
    changes = changed_fields(record, posting)
    detail = {"changes": changes, "old_idempotency_key": record.idempotency_key}
    change = stored.Change(
        at=now,
        action=ChangeAction.CORRECTED,
        by=by,
        reason="re-imported with --update",
        detail=json.dumps(detail),
    )
    stored.correct(session, record, record_values(posting), new_idempotency_key(), change)


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
