"""The tenant's daily call budget (`XERO_DAILY_BUDGET`), kept in the database for every process.

Each call to Xero spends one unit of the tenant's UTC day before it leaves; when the day's
budget is spent, or Xero answered a 429 for its daily limit (a pause until its Retry-After),
nothing is sent and `paused` says until when and why (contract section 8, issue 13).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from storage import ledger_budget as stored
from storage.db import Database
from sync_engine.ledger import LedgerPause
from sync_engine.xero.messages import day_limit_message


def _day(now: datetime) -> str:
    return now.astimezone(UTC).date().isoformat()


def midnight_after(now: datetime) -> datetime:
    """The next UTC midnight after `now`."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class DailyBudget:
    """One tenant's calls per UTC day (`scope` such as "xero:<tenant id>")."""

    def __init__(
        self, database: Database, scope: str, limit: int, clock: Callable[[], datetime]
    ) -> None:
        self._db, self.scope, self.limit, self._clock = database, scope, limit, clock

    def now(self) -> datetime:
        """The budget's clock (the send log's)."""
        return self._clock()

    def spend(self) -> LedgerPause | None:
        """Spend one call now; the pause in force instead (nothing may be sent)."""
        now = self._clock()
        with self._db.transaction() as tx:
            refused = stored.spend(tx, self.scope, _day(now), self.limit, now)
        return None if refused is None else self._pause(refused, now)

    def pause(self, until: datetime) -> None:
        """Xero paused the tenant (its daily limit): nothing is sent before `until`."""
        now = self._clock()
        with self._db.transaction() as tx:
            stored.pause(tx, self.scope, _day(now), until)

    def paused(self) -> LedgerPause | None:
        """The pause in force now: the day's budget spent, or Xero's daily limit; else None."""
        now = self._clock()
        with self._db.reading() as session, session.begin():
            found = stored.state(session, self.scope, _day(now), now)
        return self._pause(found, now)

    def _pause(self, found: stored.BudgetState, now: datetime) -> LedgerPause | None:
        ends = [found.paused_until] if found.paused_until is not None else []
        if found.calls >= self.limit:
            ends.append(midnight_after(now))
        if not ends:
            return None
        until = max(ends)
        return LedgerPause(until, day_limit_message(until))

    def seconds_left(self, pause: LedgerPause) -> float:
        """Seconds from now until `pause` ends (at least 1)."""
        return max(1.0, (pause.until - self._clock()).total_seconds())
