"""The database for the front doors' light commands: upgrade it, or read it without an engine.

A query command needs the database alone: the engine's ledger client, sending threads and
metrics would cost more to import and set up than the query takes (docs/performance.md), so
nothing here imports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from storage.db import Database
from storage.migrate import ensure_schema, head_revision, upgrade
from sync_engine import queries
from sync_engine.pause_alerts import noted_pause
from sync_engine.results import FailedPage, History, Status
from sync_engine.settings import Settings


def upgrade_database(settings: Settings) -> str:
    """Apply every pending migration to the settings' database; the revision it is now at."""
    database = Database.open(settings.database_url, migrate=False)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()
    return head_revision()


class Reader:
    """Read-only answers from the database: the failed queue, a history, the status."""

    def __init__(
        self, database: Database, ledger: str = "gateway", company: str | None = None
    ) -> None:
        self._database = database
        self._ledger, self._company = ledger, company  # the settings' ledger and its company

    def failed_page(
        self, kind: str | None, error_class: str | None, after: int | None, limit: int
    ) -> FailedPage:
        """One page of the failed queue, oldest record first, optionally filtered."""
        with self._database.reading() as session:
            return queries.failed_page(session, kind, error_class, after, limit)

    def history(self, source_id: str) -> History:
        """Every attempt, error, retry event and change of one record."""
        with self._database.reading() as session:
            return queries.history(session, source_id)

    def status(self) -> Status:
        """Counts by state and error class, last success, the gateway's last answer, and the
        ledger with its company and connection."""
        with self._database.reading() as session:
            found = queries.status(session)
            ledger = queries.ledger_view(session, self._ledger, self._company)
            # The ledger is not asked here (a query builds no adapter): the pause the last
            # sync noted, while it lasts.
            paused = noted_pause(session, datetime.now(UTC))
        return replace(found, ledger=ledger, paused=paused)


@contextmanager
def reader(settings: Settings) -> Iterator[Reader]:
    """A `Reader` on the settings' database (its schema brought up to date), then closed."""
    database = Database.open(settings.database_url, migrate=False)
    try:
        ensure_schema(database.engine)
        yield Reader(database, settings.ledger, settings.ledger_company())
    finally:
        database.dispose()
