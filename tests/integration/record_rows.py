"""What the engine wrote for records, read straight from the database: each record's state,
error class and parked flag, its attempts' errors, and the alerts in the outbox. Shared by the
engine-level ledger tests (QuickBooks reconnect, Xero faults and reconnect)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text

from storage.db import Database


class HasDatabase(Protocol):
    """A test harness holding the test's database (`Qbo`, the Xero harness, a rig)."""

    database: Database


def outbox_kinds(holder: HasDatabase) -> list[str]:
    """The kinds of the alerts written, oldest first."""
    with holder.database.engine.connect() as conn:
        rows = conn.execute(text("SELECT kind FROM alert_outbox ORDER BY id"))
        return [row[0] for row in rows]


def states(holder: HasDatabase) -> dict[str, tuple[str, str | None, bool]]:
    """Each record's state, error class and parked flag."""
    query = text(
        "SELECT r.source_id, l.state, l.error_class, l.parked"
        " FROM records r JOIN sync_log l ON l.record_id = r.id"
    )
    with holder.database.engine.connect() as conn:
        return {row[0]: (row[1], row[2], bool(row[3])) for row in conn.execute(query)}


def attempts(holder: HasDatabase, source_id: str) -> list[tuple[str, int | None, str | None]]:
    """A record's attempts, oldest first: outcome, HTTP status and error text."""
    query = text(
        "SELECT a.outcome, a.http_status, a.error FROM attempts a"
        " JOIN records r ON r.id = a.record_id WHERE r.source_id = :source ORDER BY a.id"
    )
    with holder.database.engine.connect() as conn:
        return [(row[0], row[1], row[2]) for row in conn.execute(query, {"source": source_id})]
