"""The send log (`ledger_sends`): what an adapter sent under each idempotency key, and when.

Repositories: each takes a transaction and never commits. A key is sent by one thread at a
time (the engine's claim holds its record), so a read then a write is enough here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from storage.db import Tx
from storage.models import LedgerSend


@dataclass(frozen=True)
class SendEntry:
    """One key's last send: its generation, when, and whether an answer was recorded."""

    key: str
    source_id: str
    generation: int
    first_sent_at: datetime
    last_sent_at: datetime
    answered: bool


def _entry(row: LedgerSend) -> SendEntry:
    return SendEntry(
        row.idempotency_key,
        row.source_id,
        row.generation,
        row.first_sent_at,
        row.last_sent_at,
        row.answered,
    )


def entries(tx: Tx, scope: str, keys: list[str]) -> dict[str, SendEntry]:
    """The stored entries of `keys` in `scope`, by key (a key never sent is absent)."""
    rows = tx.scalars(
        select(LedgerSend).where(LedgerSend.scope == scope, LedgerSend.idempotency_key.in_(keys))
    )
    return {row.idempotency_key: _entry(row) for row in rows}


def note_sending(tx: Tx, scope: str, items: list[tuple[str, str, int]], *, now: datetime) -> None:
    """Before a write: each (key, source_id, generation) is about to be sent, unanswered."""
    known = {
        row.idempotency_key: row
        for row in tx.scalars(
            select(LedgerSend).where(
                LedgerSend.scope == scope,
                LedgerSend.idempotency_key.in_([key for key, _, _ in items]),
            )
        )
    }
    for key, source_id, generation in items:
        row = known.get(key)
        if row is None:
            tx.add(
                LedgerSend(
                    scope=scope,
                    idempotency_key=key,
                    source_id=source_id,
                    generation=generation,
                    first_sent_at=now,
                    last_sent_at=now,
                    answered=False,
                )
            )
        else:
            if row.generation != generation:  # first_sent_at is of this generation
                row.first_sent_at = now
            row.source_id, row.generation = source_id, generation
            row.last_sent_at, row.answered = now, False


def note_answered(tx: Tx, scope: str, keys: list[str], *, generation_step: int = 0) -> None:
    """An answer was recorded for `keys` (`generation_step` 1: a definite refusal or a lookup
    that found nothing, so the next send is a new request)."""
    if not keys:
        return
    tx.execute(
        update(LedgerSend)
        .where(LedgerSend.scope == scope, LedgerSend.idempotency_key.in_(keys))
        .values(answered=True, generation=LedgerSend.generation + generation_step)
    )
