"""`SendLog`: an adapter's memory, in the database, of what it sent under each idempotency key.

For ledgers that may book a write whose answer never arrived, and whose request ids must
change after a definite refusal (QuickBooks' `requestid`, Xero's `Idempotency-Key`): before
each write the adapter notes the key's generation and the time, after an answer it notes the
answer. A key noted as sent and never answered is uncertain, even after a crash: the adapter
looks it up before it sends again. `build_engine` passes one to `make_ledger`; the engine
itself never reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from storage import send_log as stored
from storage.db import Database
from storage.send_log import SendEntry

__all__ = ["SendEntry", "SendLog"]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SendLog:
    """The send log of one ledger company (`scope`, such as "quickbooks:<realm id>")."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self.database = database
        self.clock = clock

    def entries(self, scope: str, keys: list[str]) -> dict[str, SendEntry]:
        """The entries of `keys` (keys never sent are absent)."""
        if not keys:
            return {}
        with self.database.reading() as session, session.begin():
            return stored.entries(session, scope, keys)

    def entry(self, scope: str, key: str) -> SendEntry | None:
        """The entry of one key, or None if it was never sent."""
        return self.entries(scope, [key]).get(key)

    def sending(self, scope: str, items: list[tuple[str, str, int]]) -> datetime:
        """Note (key, source_id, generation) of each item as sent now, committed; returns now."""
        now = self.clock()
        with self.database.transaction() as tx:
            stored.note_sending(tx, scope, items, now=now)
        return now

    def answered(self, scope: str, keys: list[str], *, next_generation: bool = False) -> None:
        """Note an answer for `keys`; `next_generation`: the next send is a new request."""
        if not keys:
            return
        with self.database.transaction() as tx:
            stored.note_answered(tx, scope, keys, generation_step=1 if next_generation else 0)
