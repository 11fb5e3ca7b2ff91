"""Retry events: opened when a retry starts, closed with what each record came to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from storage.models import RetryEvent, RetryEventItem
from sync_engine import queries
from sync_engine.results import RetryResult, Skipped
from sync_engine.sender import IN_FLIGHT, Tally
from sync_engine.telemetry import Telemetry


class RetryEvents:
    """One act of retrying (a click, a command, a tick), as the database keeps it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        reads: sessionmaker[Session],
        clock: Callable[[], datetime],
        telemetry: Telemetry,
    ) -> None:
        self.sessions, self.reads, self.clock, self.telemetry = sessions, reads, clock, telemetry

    def open(self, kind: str, requested_by: str, via: str) -> int:
        """Record a new retry event (who asked, how, when); its id."""
        with self.sessions.begin() as session:
            event = RetryEvent(kind=kind, via=via, requested_by=requested_by, at=self.clock())
            session.add(event)
            session.flush()
            return event.id

    def result(self, event_id: int | None, tally: Tally, skipped: list[Skipped]) -> RetryResult:
        """What a run of chunks came to, with the records others held named as skipped."""
        if tally.missed:
            with self.reads() as session:
                skipped = skipped + [
                    Skipped(s, IN_FLIGHT) for s in queries.source_ids(session, tally.missed)
                ]
        return RetryResult(event_id, tuple(tally.succeeded), tuple(tally.failed), tuple(skipped))

    def close(self, event_id: int, tally: Tally, skipped: list[Skipped]) -> RetryResult:
        """Write how the event ended (its skipped records too), time it, log it."""
        result = self.result(event_id, tally, skipped)
        with self.sessions.begin() as session:
            ids = queries.record_ids(session, [s.source_id for s in result.skipped])
            rows = [
                {
                    "retry_event_id": event_id,
                    "record_id": ids[s.source_id],
                    "result": "skipped",
                    "detail": s.reason,
                }
                for s in result.skipped
            ]
            if rows:
                session.execute(insert(RetryEventItem), rows)
            event = session.get_one(RetryEvent, event_id)
            event.finished_at = finished = self.clock()
            event.succeeded = len(result.succeeded)
            event.failed = len(result.failed)
            event.skipped = len(result.skipped)
            kind, via, requested_by, started = event.kind, event.via, event.requested_by, event.at
        self.telemetry.retry_event(
            result,
            kind=kind,
            via=via,
            requested_by=requested_by,
            started=started,
            finished=finished,
        )
        return result
