"""The engine's public API: one service object the bot and the command line both call."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_read_sessionmaker, make_sessionmaker
from storage.migrate import ensure_schema
from storage.models import Record, RecordChange, SyncLogEntry
from storage.queue import (
    FAILED,
    PENDING,
    RESOLVED,
    SUCCEEDED,
    SYNCING,
    in_failed_queue,
    recover_expired,
    scan,
)
from sync_engine import queries
from sync_engine.alerts import Alerts
from sync_engine.chunk_writer import Plan
from sync_engine.contract import Posting
from sync_engine.errors import BadInput, GatewayUnreachable, UnknownRecord
from sync_engine.import_writer import import_file
from sync_engine.ledger import Ledger, LedgerLimits, make_ledger
from sync_engine.outage import LOOKUP_ANSWERED, PROBE_ANSWERED, OutageWatch, current
from sync_engine.policy import BackoffSettings
from sync_engine.records import chunked, insert_new, known_source_ids, nameable
from sync_engine.results import (
    FailedPage,
    History,
    ImportResult,
    Outage,
    ResolveResult,
    RetryResult,
    Skipped,
    Status,
    SyncResult,
)
from sync_engine.retry_events import RetryEvents
from sync_engine.sender import IN_FLIGHT, Checkpoint, Chunk, Progress, Sender
from sync_engine.settings import Settings
from sync_engine.telemetry import Telemetry

SCAN_PAGE = 1000
SINGLES_PER_CLAIM = 10
SPARE_THREADS = 2
BACKGROUND_WORKERS = 4
MANUAL_FROM = (FAILED, PENDING)


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def _no_checkpoint(_name: str, _source_ids: list[str]) -> None:
    return None


class SyncEngine:
    """Submit, sync, retry selected or all, resolve, list failed, history, status."""

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: sessionmaker[Session] | None = None,
        ledger: Ledger | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        checkpoint: Checkpoint = _no_checkpoint,
        migrate: bool = True,
    ) -> None:
        self.settings = settings
        self._own_db: Engine | None = None  # the pool this engine made, closed with it
        if sessions is None:
            db = self._own_db = make_engine(settings.database_url)
            if migrate:
                ensure_schema(db)
            sessions = make_sessionmaker(db)
        self.sessions = sessions
        bind = sessions.kw["bind"]
        self.reads = make_read_sessionmaker(bind) if bind is not None else sessions
        self.clock = clock
        self.alerts = Alerts(self.sessions, self.reads, clock)
        self.telemetry = Telemetry()
        self.telemetry.read_state_from(self.status)
        self.events = RetryEvents(self.sessions, self.reads, clock, self.telemetry)
        # The ledger the settings name, unless the caller brings one (it is closed with us).
        if ledger is None:
            ledger = make_ledger(settings, observe=self.telemetry.gateway_answered)
        self.ledger = ledger
        limits = self.ledger.limits
        self.claim_size = claim_size(limits, settings.lease_seconds)
        # A few more threads than requests in flight: while some claim or write to the
        # database, the others keep every ledger connection busy. The ledger still caps the
        # requests in flight (`concurrency`).
        self._executor = ThreadPoolExecutor(
            limits.concurrency + SPARE_THREADS, thread_name_prefix="syncbot-send"
        )
        # Long work a front door starts without waiting for it (a retry asked for in Slack):
        # threads of its own, so that it never waits behind the sending threads it fans out to.
        self.background = ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="syncbot-work")
        self.watch = OutageWatch(
            settings.outage_threshold, settings.probe_base_seconds, settings.probe_cap_seconds
        )
        self.sender = Sender(
            db=bind,
            ledger=self.ledger,
            executor=self._executor,
            clock=clock,
            uniform=(rng or random.SystemRandom()).uniform,
            backoff=BackoffSettings(
                settings.backoff_base_seconds,
                settings.backoff_cap_seconds,
                settings.max_auto_attempts,
            ),
            lease_seconds=settings.lease_seconds,
            checkpoint=checkpoint,
            watch=self.watch,
            telemetry=self.telemetry,
        )

    def close(self) -> None:
        """Let background work finish, stop the sending threads, close every connection."""
        self.background.shutdown(wait=True)
        self._executor.shutdown(wait=True)
        self.ledger.close()
        if self._own_db is not None:
            self._own_db.dispose()

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- records in -----------------------------------------------------------------------

    def submit(self, postings: Iterable[Posting]) -> ImportResult:
        """Store approved records as pending; known source_ids are skipped as duplicates."""
        duplicates: list[str] = []
        imported = 0
        with self.sessions.begin() as session:
            for chunk in chunked(postings, SCAN_PAGE):
                known = known_source_ids(session, (p.source_id for p in chunk))
                duplicates += [p.source_id for p in chunk if p.source_id in known]
                fresh = [p for p in chunk if p.source_id not in known]
                imported += insert_new(session, fresh, self.clock())
        return ImportResult(imported=imported, duplicates=tuple(duplicates))

    def import_file(self, path: Path | str, *, update: bool = False, by: str) -> ImportResult:
        """Import a JSON, JSON lines or CSV file; a file with any bad row imports nothing."""
        return import_file(self, Path(path), update=update, by=by)

    # -- sending --------------------------------------------------------------------------

    def recover_leases(self) -> int:
        """Return records whose lease expired (a crashed or stopped process) to the queue."""
        with self.sessions.begin() as session:
            return recover_expired(session, self.clock())

    def sync(self, *, requested_by: str, via: str, progress: Progress | None = None) -> SyncResult:
        """Send pending records for the first time, then retry the failed ones that are due.

        During an outage nothing is sent: the gateway is probed instead (when the probe is
        due), and if it answers the outage ends and the sync goes on. While the outage lasts
        (from the start or from partway through) `held_back` counts the records not sent.
        """
        recovered = self.recover_leases()
        outage = self.check_outage()
        if outage is not None:
            held = self._held_back()
            return SyncResult(RetryResult(None), RetryResult(None), recovered, outage, held)
        initial = self.sender.run(
            self._chunks(SyncLogEntry.state == PENDING, (PENDING,)), Plan("initial", None), progress
        )
        due = queries.due(self.clock())
        with self.reads() as session:
            any_due = bool(queries.count(session, due))
        retries = RetryResult(None)
        if any_due:
            event_id = self.events.open("auto", requested_by, via)
            tally = self.sender.run(
                self._chunks(due, (FAILED,), due_only=True), Plan("auto", event_id), progress
            )
            retries = self.events.close(event_id, tally, [])
        outage = self.outage()
        held = self._held_back() if outage is not None else 0
        initial_result = self.events.result(None, initial, [])
        return SyncResult(initial_result, retries, recovered, outage, held)

    def _held_back(self) -> int:
        with self.reads() as session:
            return queries.held_back(session, self.clock())

    def outage(self) -> Outage | None:
        """The outage in force (the gateway held to be down), or None."""
        with self.reads() as session:
            return current(session)

    def check_outage(self) -> Outage | None:
        """The outage in force after probing the ledger, if a probe is due; None if none."""
        outage = self.outage()
        if outage is None:
            self.watch.tripped.clear()
            return None
        self.watch.tripped.set()
        now = self.clock()
        if outage.next_probe_at is not None and outage.next_probe_at > now:
            return outage
        try:
            self.ledger.probe()
        except GatewayUnreachable as exc:
            with self.sessions.begin() as session:
                self.watch.probe_failed(session.connection(), outage, now, str(exc))
            return self.outage()
        self.gateway_answered(PROBE_ANSWERED)
        return self.outage()

    def gateway_answered(self, proof: str) -> None:
        """A lookup was answered (200 or 404): the gateway reached the ledger with our token,
        so the outage in force, if any, ends now (see `sync_engine.outage`)."""
        outage = self.outage()
        if outage is None:
            return
        with self.sessions.begin() as session:
            self.watch.end(
                session.connection(),
                outage,
                self.clock(),
                self.sender.backoff,
                self.sender.uniform,
                proof=proof,
            )

    def retry_selected(
        self,
        source_ids: list[str],
        *,
        requested_by: str,
        via: str,
        progress: Progress | None = None,
    ) -> RetryResult:
        """Send exactly these records now, whatever their backoff says (a manual retry)."""
        wanted = list(dict.fromkeys(s.strip() for s in source_ids if s.strip()))
        if not wanted:
            raise BadInput("no source_id given")
        with self.reads() as session:
            found = queries.states_of(session, wanted)
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise UnknownRecord(unknown)
        self.recover_leases()
        skipped = [
            Skipped(s, _not_retryable(state))
            for s, (_, state) in found.items()
            if state not in MANUAL_FROM
        ]
        ids = [rid for s, (rid, state) in found.items() if state in MANUAL_FROM]
        event_id = self.events.open("selected", requested_by, via)
        size = self.claim_size
        chunks = (Chunk(ids[i : i + size], MANUAL_FROM) for i in range(0, len(ids), size))
        tally = self.sender.run(chunks, Plan("manual", event_id), progress, len(ids))
        return self.events.close(event_id, tally, skipped)

    def retry_all(
        self, *, requested_by: str, via: str, progress: Progress | None = None
    ) -> RetryResult:
        """Retry the whole failed queue, as it is now, as one retry event."""
        self.recover_leases()
        with self.reads() as session:
            upto = queries.max_record_id(session, in_failed_queue())
            total = queries.count(session, in_failed_queue())
        event_id = self.events.open("all", requested_by, via)
        skipped: list[Skipped] = []
        chunks = self._queue_chunks(upto, skipped) if upto is not None else iter(())
        tally = self.sender.run(chunks, Plan("manual", event_id), progress, total)
        return self.events.close(event_id, tally, skipped)

    def _queue_chunks(self, upto: int, skipped: list[Skipped]) -> Iterator[Chunk]:
        # The queue is read a page at a time and claimed a chunk at a time, never loaded whole.
        after, size = 0, self.claim_size
        while True:
            with self.reads() as session:
                page = scan(session, in_failed_queue(), after, SCAN_PAGE, upto)
                held = [rid for rid, state in page if state == SYNCING]
                skipped += [Skipped(s, IN_FLIGHT) for s in queries.source_ids(session, held)]
            if not page:
                return
            after = page[-1][0]
            ids = [rid for rid, state in page if state == FAILED]
            for i in range(0, len(ids), size):
                yield Chunk(ids[i : i + size], (FAILED,))

    def _chunks(
        self, condition: ColumnElement[bool], states: tuple[str, ...], due_only: bool = False
    ) -> Iterator[Chunk]:
        after, size = 0, self.claim_size
        while True:
            with self.reads() as session:
                page = scan(session, condition, after, SCAN_PAGE)
            if not page:
                return
            after = page[-1][0]
            ids = [rid for rid, _ in page]
            for i in range(0, len(ids), size):
                yield Chunk(ids[i : i + size], states, due_only)

    # -- by hand ----------------------------------------------------------------------------

    def resolve(self, source_id: str, reason: str, *, by: str) -> ResolveResult:
        """Take a record out of the queue without sending it; the gateway is asked first."""
        if not reason.strip():
            raise BadInput("a reason is required to resolve a record")
        with self.reads() as session:
            found = queries.states_of(session, [source_id])
        if source_id not in found:
            raise UnknownRecord([source_id])
        record_id, state = found[source_id]
        if state not in (FAILED, PENDING):
            raise BadInput(f"{source_id} cannot be resolved: {_not_retryable(state)}")
        with self.reads() as session:
            key = session.scalars(
                select(Record.idempotency_key).where(Record.id == record_id)
            ).one()
        try:
            ref = self.ledger.lookup(key)
        except GatewayUnreachable as exc:
            raise GatewayUnreachable(
                f"{source_id} was not resolved: the gateway could not be asked whether it "
                f"already booked it ({exc})"
            ) from exc
        self.gateway_answered(LOOKUP_ANSWERED)
        return self._mark_resolved(record_id, source_id, state, ref, reason, by)

    def _mark_resolved(
        self, record_id: int, source_id: str, state: str, ref: str | None, reason: str, by: str
    ) -> ResolveResult:
        now = self.clock()
        new_state = SUCCEEDED if ref else RESOLVED
        with self.sessions.begin() as session:
            changed = (
                session.connection()
                .execute(
                    update(SyncLogEntry)
                    .where(SyncLogEntry.record_id == record_id, SyncLogEntry.state == state)
                    .values(
                        state=new_state, accounting_ref=ref, next_attempt_at=None, updated_at=now
                    )
                )
                .rowcount
            )
            if not changed:
                raise BadInput(f"{source_id} changed while resolving it (another retry holds it)")
            action = "found_booked" if ref else "resolved"
            session.add(
                RecordChange(record_id=record_id, at=now, action=action, by=by, reason=reason)
            )
        return ResolveResult(source_id, new_state, ref)

    # -- reading ----------------------------------------------------------------------------

    def list_failed(
        self,
        *,
        kind: str | None = None,
        error_class: str | None = None,
        after: int | None = None,
        limit: int = 10,
    ) -> FailedPage:
        """One page of the failed queue, oldest record first, optionally filtered."""
        with self.reads() as session:
            return queries.failed_page(session, kind, error_class, after, limit)

    def history(self, source_id: str) -> History:
        """Every attempt, error, retry event and change of one record."""
        with self.reads() as session:
            return queries.history(session, source_id)

    def known(self, source_ids: Iterable[str]) -> set[str]:
        """Which of `source_ids` name a stored record (one query, however many are asked)."""
        wanted = [s for s in source_ids if nameable(s)]
        if not wanted:
            return set()
        with self.reads() as session:
            return set(known_source_ids(session, wanted))

    def status(self) -> Status:
        """Counts by state and error class, last success, the gateway's last answer."""
        with self.reads() as session:
            return queries.status(session)

    def count_failed(self) -> int:
        """How many records the failed queue holds."""
        with self.reads() as session:
            return queries.failed_count(session)

    def retry_problems(self, source_ids: Iterable[str]) -> dict[str, str]:
        """Why each of `source_ids` cannot be retried now, in the words a Skipped reason uses;
        the ids that can be retried are left out (an empty answer: retry them all)."""
        wanted = list(dict.fromkeys(source_ids))
        with self.reads() as session:
            found = queries.states_of(session, wanted)
        problems: dict[str, str] = {}
        for source_id in wanted:
            if source_id not in found:
                problems[source_id] = "unknown source_id"  # as UnknownRecord says it
            elif (state := found[source_id][1]) not in MANUAL_FROM:
                problems[source_id] = _not_retryable(state)
        return problems


def claim_size(limits: LedgerLimits, lease_seconds: float) -> int:
    """How many records one claim takes: a batch, or a few single postings.

    Single postings are still claimed a few at a time, so that claiming and writing the
    answers costs a fraction of each request's round trip; but no more than can be sent,
    one after another, each up to its timeout, before the lease runs out.
    """
    if limits.max_batch > 1:
        return limits.max_batch
    fits = int(lease_seconds // (limits.timeout_seconds + 1))
    return max(1, min(SINGLES_PER_CLAIM, fits))


def _not_retryable(state: str) -> str:
    return {
        SUCCEEDED: "already succeeded",
        RESOLVED: "already resolved by hand",
        SYNCING: IN_FLIGHT,
    }.get(state, f"in state {state}")
