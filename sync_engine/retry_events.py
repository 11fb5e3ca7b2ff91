"""Retry events: opened when a retry starts, closed with what each record came to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from storage import retry_events as events
from storage.db import Database
from storage.vocabulary import RetryKind
from sync_engine import queries
from sync_engine.results import RetryResult, Skipped
from sync_engine.sender import IN_FLIGHT, Tally
from sync_engine.telemetry import Telemetry


class RetryEvents:
    """One act of retrying (a click, a command, a tick), as the database keeps it."""

    def __init__(
        self, database: Database, clock: Callable[[], datetime], telemetry: Telemetry
    ) -> None:
        self.database, self.clock, self.telemetry = database, clock, telemetry

    def open(self, kind: RetryKind, requested_by: str, via: str) -> int:
        """Record a new retry event (who asked, how, when); its id."""
        with self.database.transaction() as tx:
            return events.open_event(tx, kind, via, requested_by, self.clock())

    def result(self, event_id: int | None, tally: Tally, skipped: list[Skipped]) -> RetryResult:
        """What a run of chunks came to, with the records others held named as skipped."""
        if tally.missed:
            with self.database.reading() as tx:
                skipped = skipped + [
                    Skipped(s, IN_FLIGHT) for s in queries.source_ids(tx, tally.missed)
                ]
        return RetryResult(event_id, tuple(tally.succeeded), tuple(tally.failed), tuple(skipped))

    def close(self, event_id: int, tally: Tally, skipped: list[Skipped]) -> RetryResult:
        """Write how the event ended (its skipped records too), time it, log it."""
        result = self.result(event_id, tally, skipped)
        with self.database.transaction() as tx:
            ids = queries.record_ids(tx, [s.source_id for s in result.skipped])
            events.add_skipped(tx, event_id, [(ids[s.source_id], s.reason) for s in result.skipped])
            finished = self.clock()
            started = events.finish_event(
                tx,
                event_id,
                finished,
                succeeded=len(result.succeeded),
                failed=len(result.failed),
                skipped=len(result.skipped),
            )
        self.telemetry.retry_event(
            result,
            kind=started.kind,
            via=started.via,
            requested_by=started.requested_by,
            started=started.at,
            finished=finished,
        )
        return result
