"""The engine's public API: one service object the bot and the command line both call."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from storage import records as stored
from storage.db import Database, Tx
from storage.queue import (
    recover_expired,
    scan_due,
    scan_failed_queue,
    scan_pending,
)
from storage.seen_requests import SeenRequests
from storage.vocabulary import ChangeAction, RetryKind, State, Trigger
from sync_engine import queries
from sync_engine.alerts import Alerts
from sync_engine.chunk_writer import Plan
from sync_engine.contract import Posting
from sync_engine.errors import BadInput, GatewayUnreachable, LedgerPaused, UnknownRecord
from sync_engine.import_writer import ImportChunks, ImportPorts, import_file
from sync_engine.ledger import Ledger, LedgerLimits, LedgerPause
from sync_engine.outage import LOOKUP_ANSWERED, PROBE_ANSWERED, OutageWatch
from sync_engine.pause_alerts import note_pause
from sync_engine.records import chunked, insert_new, known_source_ids, nameable
from sync_engine.results import (
    FailedPage,
    History,
    ImportResult,
    LedgerView,
    Outage,
    ResolveResult,
    RetryResult,
    Skipped,
    Status,
    SyncResult,
)
from sync_engine.retry_events import RetryEvents
from sync_engine.sender import IN_FLIGHT, Chunk, Progress, Sender, pause_in_force
from sync_engine.telemetry import Telemetry

SCAN_PAGE = 1000
SINGLES_PER_CLAIM = 10
MANUAL_FROM = (State.FAILED, State.PENDING)
# One keyset page of (record_id, state): the transaction, the id after which it starts, its size.
Scan = Callable[[Tx, int, int], list[tuple[int, str]]]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class SyncEngine:
    """Submit, sync, retry selected or all, resolve, list failed, history, status.

    Built by `sync_engine.build_engine`, which wires its collaborators; they are private.
    """

    def __init__(
        self,
        *,
        database: Database,
        clock: Callable[[], datetime],
        ledger: Ledger,
        sender: Sender,
        watch: OutageWatch,
        telemetry: Telemetry,
        claim_size: int,
        on_close: Callable[[], None],
        import_chunks: ImportChunks = ImportChunks(),  # noqa: B008 - frozen: one default is safe
        ledger_company: tuple[str, str | None] = ("gateway", None),
    ) -> None:
        self._db = database
        self._clock = clock
        self._ledger = ledger
        self._sender = sender
        self._watch = watch
        self._telemetry = telemetry
        self._alerts = Alerts(database, clock)
        self._events = RetryEvents(database, clock, telemetry)
        self._claim_size = claim_size
        self._on_close = on_close
        self._import_chunks = import_chunks
        self._ledger_company = ledger_company  # the settings' ledger and the company it names

    def close(self) -> None:
        """Stop the sending threads, close the ledger and the database pool the engine made."""
        self._on_close()

    def metrics_registry(self) -> CollectorRegistry:
        """The engine's Prometheus registry, for a front door's /metrics endpoint."""
        return self._telemetry.registry

    def alert_outbox(self) -> Alerts:
        """The outbox of alerts waiting to be posted, with what was posted."""
        return self._alerts

    def seen_requests(self, **options: Any) -> SeenRequests:
        """The replay store of signed requests served, in the engine's database."""
        return SeenRequests(self._db, **options)

    def __enter__(self) -> SyncEngine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- records in -----------------------------------------------------------------------

    def submit(self, postings: Iterable[Posting]) -> ImportResult:
        """Store approved records as pending; known source_ids are skipped as duplicates."""
        duplicates: list[str] = []
        imported = 0
        with self._db.transaction() as session:
            for chunk in chunked(postings, SCAN_PAGE):
                known = known_source_ids(session, (p.source_id for p in chunk))
                duplicates += [p.source_id for p in chunk if p.source_id in known]
                fresh = [p for p in chunk if p.source_id not in known]
                imported += insert_new(session, fresh, self._clock())
        return ImportResult(imported=imported, duplicates=tuple(duplicates))

    def import_file(self, path: Path | str, *, update: bool = False, by: str) -> ImportResult:
        """Import a JSON, JSON lines or CSV file; a file with any bad row imports nothing."""
        return import_file(
            ImportPorts(self._db, self._clock, self._ledger.lookup, self.gateway_answered),
            Path(path),
            update=update,
            by=by,
            chunks=self._import_chunks,
        )

    # -- sending --------------------------------------------------------------------------

    def recover_leases(self) -> int:
        """Return records whose lease expired (a crashed or stopped process) to the queue."""
        with self._db.transaction() as session:
            return recover_expired(session, self._clock())

    def sync(self, *, requested_by: str, via: str, progress: Progress | None = None) -> SyncResult:
        """Send pending records for the first time, then retry the failed ones that are due.

        During an outage nothing is sent: the gateway is probed instead (when the probe is
        due), and if it answers the outage ends and the sync goes on. While the outage lasts
        (from the start or from partway through) `held_back` counts the records not sent.
        While the ledger imposes a pause (`paused`) nothing is sent or probed either; the
        admins are told of the pause once.
        """
        recovered = self.recover_leases()
        if (pause := self._noted_pause()) is not None:
            held = self._held_back()
            none = RetryResult(None)
            return SyncResult(none, none, recovered, self.outage(), held, paused=pause)
        outage = self.check_outage()
        if outage is not None:
            held = self._held_back()
            return SyncResult(RetryResult(None), RetryResult(None), recovered, outage, held)
        initial = self._sender.run(
            self._chunks(scan_pending, (State.PENDING,)), Plan(Trigger.INITIAL, None), progress
        )
        now = self._clock()
        with self._db.reading() as session:
            any_due = queries.any_due(session, now)
        retries = RetryResult(None)
        if any_due and self.paused() is None:
            event_id = self._events.open(RetryKind.AUTO, requested_by, via)

            def due(tx: Tx, after: int, limit: int) -> list[tuple[int, str]]:
                return scan_due(tx, now, after, limit)

            tally = self._sender.run(
                self._chunks(due, (State.FAILED,), due_only=True),
                Plan(Trigger.AUTO, event_id),
                progress,
            )
            retries = self._events.close(event_id, tally, [])
        outage, pause = self.outage(), self._noted_pause()
        held = self._held_back() if outage is not None or pause is not None else 0
        initial_result = self._events.result(None, initial, [])
        return SyncResult(initial_result, retries, recovered, outage, held, paused=pause)

    def paused(self) -> LedgerPause | None:
        """The pause the ledger imposes now (its daily budget spent), or None."""
        return pause_in_force(self._ledger, self._clock())

    def refuse_while_paused(self) -> None:
        """Raise `LedgerPaused` (nothing changed) while the ledger imposes a pause."""
        if (pause := self.paused()) is not None:
            raise LedgerPaused(pause.reason, pause.until)

    def _noted_pause(self) -> LedgerPause | None:
        """The pause in force, its one alert put in the outbox if no process has yet."""
        pause = self.paused()
        if pause is not None:
            note_pause(self._db, pause, self._clock())
        return pause

    def _held_back(self) -> int:
        with self._db.reading() as session:
            return queries.held_back(session, self._clock())

    def outage(self) -> Outage | None:
        """The outage in force (the gateway held to be down), or None."""
        with self._db.reading() as session:
            return queries.current(session)

    def check_outage(self) -> Outage | None:
        """The outage in force after probing the ledger, if a probe is due; None if none."""
        outage = self.outage()
        if outage is None:
            self._watch.tripped.clear()
            return None
        self._watch.tripped.set()
        now = self._clock()
        if outage.next_probe_at is not None and outage.next_probe_at > now:
            return outage
        try:
            self._ledger.probe()
        except GatewayUnreachable as exc:
            with self._db.connection() as conn:
                self._watch.probe_failed(conn, outage, now, str(exc))
            return self.outage()
        self.gateway_answered(PROBE_ANSWERED)
        return self.outage()

    def gateway_answered(self, proof: str) -> None:
        """A lookup was answered (200 or 404): the gateway reached the ledger with our token,
        so the outage in force, if any, ends now (see `sync_engine.outage`)."""
        outage = self.outage()
        if outage is None:
            return
        with self._db.connection() as conn:
            self._watch.end(
                conn,
                outage,
                self._clock(),
                self._sender.backoff,
                self._sender.uniform,
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
        with self._db.reading() as session:
            found = queries.states_of(session, wanted)
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise UnknownRecord(unknown)
        self.refuse_while_paused()
        self.recover_leases()
        skipped = [
            Skipped(s, _not_retryable(state))
            for s, (_, state) in found.items()
            if state not in MANUAL_FROM
        ]
        ids = [rid for s, (rid, state) in found.items() if state in MANUAL_FROM]
        event_id = self._events.open(RetryKind.SELECTED, requested_by, via)
        size = self._claim_size
        chunks = (Chunk(ids[i : i + size], MANUAL_FROM) for i in range(0, len(ids), size))
        tally = self._sender.run(chunks, Plan(Trigger.MANUAL, event_id), progress, len(ids))
        self._noted_pause()  # the budget may have been spent by this retry: told once
        return self._events.close(event_id, tally, skipped)

    def retry_all(
        self, *, requested_by: str, via: str, progress: Progress | None = None
    ) -> RetryResult:
        """Retry the whole failed queue, as it is now, as one retry event."""
        self.refuse_while_paused()
        self.recover_leases()
        with self._db.reading() as session:
            upto = queries.failed_queue_end(session)
            total = queries.failed_queue_size(session)
        event_id = self._events.open(RetryKind.ALL, requested_by, via)
        skipped: list[Skipped] = []
        chunks = self._queue_chunks(upto, skipped) if upto is not None else iter(())
        tally = self._sender.run(chunks, Plan(Trigger.MANUAL, event_id), progress, total)
        self._noted_pause()
        return self._events.close(event_id, tally, skipped)

    def _queue_chunks(self, upto: int, skipped: list[Skipped]) -> Iterator[Chunk]:
        # The queue is read a page at a time and claimed a chunk at a time, never loaded whole.
        after, size = 0, self._claim_size
        while True:
            with self._db.reading() as session:
                page = scan_failed_queue(session, after, SCAN_PAGE, upto)
                held = [rid for rid, state in page if state == State.SYNCING]
                skipped += [Skipped(s, IN_FLIGHT) for s in queries.source_ids(session, held)]
            if not page:
                return
            after = page[-1][0]
            ids = [rid for rid, state in page if state == State.FAILED]
            for i in range(0, len(ids), size):
                yield Chunk(ids[i : i + size], (State.FAILED,))

    def _chunks(
        self, scan: Scan, states: tuple[str, ...], due_only: bool = False
    ) -> Iterator[Chunk]:
        after, size = 0, self._claim_size
        while True:
            with self._db.reading() as session:
                page = scan(session, after, SCAN_PAGE)
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
        with self._db.reading() as session:
            found = queries.states_of(session, [source_id])
        if source_id not in found:
            raise UnknownRecord([source_id])
        record_id, state = found[source_id]
        if state not in (State.FAILED, State.PENDING):
            raise BadInput(f"{source_id} cannot be resolved: {_not_retryable(state)}")
        with self._db.reading() as session:
            key = stored.idempotency_key(session, record_id)
        try:
            ref = self._ledger.lookup(key)
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
        now = self._clock()
        new_state = State.SUCCEEDED if ref else State.RESOLVED
        with self._db.transaction() as session:
            if not stored.settle_by_hand(session, record_id, state, new_state, ref, now):
                raise BadInput(f"{source_id} changed while resolving it (another retry holds it)")
            action = ChangeAction.FOUND_BOOKED if ref else ChangeAction.RESOLVED
            stored.add_change(session, record_id, stored.Change(now, action, by, reason))
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
        with self._db.reading() as session:
            return queries.failed_page(session, kind, error_class, after, limit)

    def history(self, source_id: str) -> History:
        """Every attempt, error, retry event and change of one record."""
        with self._db.reading() as session:
            return queries.history(session, source_id)

    def known(self, source_ids: Iterable[str]) -> set[str]:
        """Which of `source_ids` name a stored record (one query, however many are asked)."""
        wanted = [s for s in source_ids if nameable(s)]
        if not wanted:
            return set()
        with self._db.reading() as session:
            return set(known_source_ids(session, wanted))

    def status(self) -> Status:
        """Counts by state and error class, last success, the gateway's last answer, and the
        ledger with its company and connection."""
        with self._db.reading() as session:
            found = queries.status(session)
            ledger = queries.ledger_view(session, *self._ledger_company)
        return replace(found, ledger=ledger, paused=self.paused())

    def ledger_view(self) -> LedgerView:
        """The ledger, its company and whether it must be reconnected (no token is read)."""
        with self._db.reading() as session:
            return queries.ledger_view(session, *self._ledger_company)

    def count_failed(self) -> int:
        """How many records the failed queue holds."""
        with self._db.reading() as session:
            return queries.failed_count(session)

    def retry_problems(self, source_ids: Iterable[str]) -> dict[str, str]:
        """Why each of `source_ids` cannot be retried now, in the words a Skipped reason uses;
        the ids that can be retried are left out (an empty answer: retry them all)."""
        wanted = list(dict.fromkeys(source_ids))
        with self._db.reading() as session:
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
    reasons: dict[str, str] = {
        State.SUCCEEDED: "already succeeded",
        State.RESOLVED: "already resolved by hand",
        State.SYNCING: IN_FLIGHT,
    }
    return reasons.get(state, f"in state {state}")
