"""The retry path: claim a chunk just before sending it, send it, write the answers.

Named checkpoints mark the path for tests that stop or kill the process there:
`claimed` (the lease is committed), `sent` (the request is about to leave), `answered` (the
gateway's answer is in memory, nothing written yet) and `committed` (the answers are written).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.db import Database
from storage.queue import Claimed, claim, release
from storage.vocabulary import Trigger
from sync_engine.chunk_writer import GatewayNotes, Plan, record_answers
from sync_engine.ledger import Ledger, LedgerPause
from sync_engine.outage import OutageWatch
from sync_engine.policy import BackoffSettings
from sync_engine.post_result import PostResult
from sync_engine.records import posting_of
from sync_engine.results import Failed, Succeeded
from sync_engine.telemetry import Telemetry

Checkpoint = Callable[[str, list[str]], None]
Progress = Callable[[int, int | None], None]
ChunkResult = tuple[list[Succeeded], list[Failed], list[int]]
IN_FLIGHT = "already in flight (another retry holds it)"


def pause_in_force(ledger: Ledger, now: datetime) -> LedgerPause | None:
    """The pause `ledger` imposes at `now` (its daily budget spent), or None."""
    pause = ledger.paused()
    return pause if pause is not None and pause.until > now else None


@dataclass(frozen=True)
class Chunk:
    """Record ids to claim together, from these states, and whether they must be due."""

    record_ids: list[int]
    from_states: tuple[str, ...]
    due_only: bool = False


@dataclass
class Tally:
    """What a run of chunks came to."""

    succeeded: list[Succeeded] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    sent: int = 0


@dataclass
class Sender:
    """Sends chunks on a bounded pool of threads, each chunk claimed just before it is sent."""

    db: Database
    ledger: Ledger
    executor: ThreadPoolExecutor
    clock: Callable[[], datetime]
    uniform: Callable[[float, float], float]
    backoff: BackoffSettings
    lease_seconds: float
    checkpoint: Checkpoint
    watch: OutageWatch
    telemetry: Telemetry
    notes: GatewayNotes = field(default_factory=GatewayNotes)

    def run(
        self,
        chunks: Iterable[Chunk],
        plan: Plan,
        progress: Progress | None = None,
        total: int | None = None,
    ) -> Tally:
        """Send every chunk, at most the ledger's `concurrency` at once; chunks are drawn lazily."""
        tally = Tally()
        pending: set[Future[ChunkResult]] = set()
        # A few chunks wait in the pool's queue (not yet claimed), so a thread that finishes
        # never waits for the next chunk to be read.
        submitted = 0
        automatic = plan.trigger != Trigger.MANUAL
        for chunk in chunks:
            if automatic and self._stopped():
                break  # the gateway is down or the ledger paused: automatic attempts stop here
            for part in self._near_the_end(chunk, submitted, total):
                while len(pending) >= 2 * self.ledger.limits.concurrency:
                    pending = self._collect_some(pending, tally, progress, total)
                pending.add(self.executor.submit(self._send_chunk, part, plan))
            submitted += len(chunk.record_ids)
        while pending:
            pending = self._collect_some(pending, tally, progress, total)
        with self.db.connection() as conn:
            self.notes.write(conn, force=True)
        return tally

    def _stopped(self) -> bool:
        """Whether automatic sends stop: the gateway is down, or the ledger imposes a pause."""
        return self.watch.tripped.is_set() or pause_in_force(self.ledger, self.clock()) is not None

    def _near_the_end(self, chunk: Chunk, submitted: int, total: int | None) -> list[Chunk]:
        # Single postings are claimed a few at a time; in the last round, one at a time, so
        # that no thread sits idle while another still has several to send in turn.
        spread = self.ledger.limits.concurrency * len(chunk.record_ids)
        last_round = total is not None and total - submitted <= spread
        if self.ledger.limits.max_batch > 1 or not last_round:
            return [chunk]
        return [Chunk([rid], chunk.from_states, chunk.due_only) for rid in chunk.record_ids]

    @staticmethod
    def _collect_some(
        pending: set[Future[ChunkResult]],
        tally: Tally,
        progress: Progress | None,
        total: int | None,
    ) -> set[Future[ChunkResult]]:
        done, still = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            succeeded, failed, missed = future.result()
            tally.succeeded += succeeded
            tally.failed += failed
            tally.missed += missed
            tally.sent += len(succeeded) + len(failed)
        if progress is not None:
            progress(tally.sent + len(tally.missed), total)
        return still

    def _send_chunk(self, chunk: Chunk, plan: Plan) -> ChunkResult:
        token = str(uuid.uuid4())
        # Wait for the rate limiter before claiming, so no lease ticks away in that queue.
        self.ledger.reserve()
        if plan.trigger != Trigger.MANUAL and pause_in_force(self.ledger, self.clock()):
            return [], [], []  # a pause began since the chunk was queued: nothing claimed
        now = self.clock()
        # Core connections, not ORM sessions: this path runs once per chunk, and is hot.
        with self.db.connection() as conn:
            claimed = claim(
                conn,
                chunk.record_ids,
                chunk.from_states,
                token=token,
                now=now,
                lease_until=now + timedelta(seconds=self.lease_seconds),
                due_only=chunk.due_only,
            )
        got = {c.record_id for c in claimed}
        missed = [rid for rid in chunk.record_ids if rid not in got]
        if not claimed:
            return [], [], missed
        names = [c.record.source_id for c in claimed]
        self.checkpoint("claimed", names)
        results = self._post(claimed, automatic=plan.trigger != Trigger.MANUAL)
        self.checkpoint("answered", names)
        # Single postings stop short when the gateway goes down mid-chunk (automatic runs).
        sent, unsent = claimed[: len(results)], claimed[len(results) :]
        now = self.clock()
        with self.db.connection() as conn:
            one_request = self.ledger.limits.max_batch > 1 and len(claimed) > 1
            down = self.watch.record(
                conn,
                results,
                one_request=one_request,
                now=now,
                backoff=self.backoff,
                uniform=self.uniform,
                stopped_short=bool(unsent),
            )
            if unsent:
                release(conn, [c.record_id for c in unsent], token)
            succeeded, failed = record_answers(
                conn,
                sent,
                results,
                plan,
                token=token,
                now=now,
                backoff=self.backoff,
                uniform=self.uniform,
                notes=self.notes,
                # During an outage or a pause its one message replaces per-record alerts.
                alerts=not down and pause_in_force(self.ledger, now) is None,
            )
        self.checkpoint("committed", names)
        self.telemetry.attempted(sent, results, plan.trigger, plan.retry_event_id)
        return succeeded, failed, missed

    def _post(self, claimed: list[Claimed], *, automatic: bool) -> list[PostResult]:
        """The answers, in the order of `claimed`; single postings of an automatic run stop
        (fewer answers than records) once the gateway looks down or the ledger pauses."""
        items = [(c.record.idempotency_key, posting_of(c.record)) for c in claimed]
        self.checkpoint("sent", [c.record.source_id for c in claimed])
        if self.ledger.limits.max_batch > 1 and len(items) > 1:
            return self.ledger.post_batch(items)
        results: list[PostResult] = []
        for key, posting in items:
            if automatic and (self._stopped() or self.watch.looks_down(results)):
                break
            results.append(self.ledger.post(key, posting))
        return results
