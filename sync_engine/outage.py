"""The outage pause (a circuit breaker): when the gateway looks down, automatic attempts stop.

The state is one row in the database (`gateway_status`), so every process sees the same.
Each chunk's answers move a streak of consecutive transient failures, in the chunk's own
transaction: one failed request counts once however many records its batch held, 429s do not
count, and any answer that shows the gateway working (a success, a refusal of the data)
resets it. At the threshold, or at once on an auth failure, the outage begins: `outage_since`
is set and one `outage` alert goes to the outbox. While it lasts, `sync` sends nothing
automatically and instead probes the lookup endpoint on backoff; the first probe answered ends
it, returns the records parked by an auth failure to the queue at backoff step 1, and puts a
`recovered` alert in the outbox.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import AlertOutbox, GatewayStatus, SyncLogEntry
from storage.queue import FAILED, add_rows
from sync_engine.contract import format_time
from sync_engine.gateway import SUCCEEDED as OK
from sync_engine.gateway import PostResult
from sync_engine.policy import AUTH, NEEDS_ATTENTION, TRANSIENT, BackoffSettings, step_ceiling
from sync_engine.results import Outage

RATE_LIMITED = 429
# A key no record ever has: a probe's 404 proves the gateway answers and takes our token.
PROBE_KEY_PREFIX = "syncbot-probe-"

_ROW = GatewayStatus.id == 1
_RESET = (
    update(GatewayStatus).where(_ROW, GatewayStatus.transient_streak > 0).values(transient_streak=0)
)


@dataclass(frozen=True)
class Verdict:
    """What one chunk's answers say about the gateway."""

    alive: bool  # some answer shows it working
    down: int  # requests that failed transiently (429s not counted)
    auth: str | None  # the error of an auth failure, if any
    last_error: str


def verdict(results: list[PostResult], *, one_request: bool) -> Verdict:
    """Sort one chunk's answers; `one_request` when they came from one batch request."""
    alive = any(r.outcome == OK or r.error_class == NEEDS_ATTENTION for r in results)
    failing = [r for r in results if r.error_class == TRANSIENT and r.http_status != RATE_LIMITED]
    auth = next((r.error or "auth failure" for r in results if r.error_class == AUTH), None)
    down = min(len(failing), 1) if one_request else len(failing)
    last = failing[-1].error if failing else None
    return Verdict(alive, down, auth, last or "the gateway did not answer")


def current(session: Session) -> Outage | None:
    """The outage in force, or None."""
    row = session.get(GatewayStatus, 1)
    if row is None or row.outage_since is None:
        return None
    return Outage(row.outage_since, row.outage_reason or "", row.next_probe_at, row.probes)


def probe_key() -> str:
    """A fresh key for one probe."""
    return PROBE_KEY_PREFIX + uuid.uuid4().hex


class OutageWatch:
    """Counts failures into the shared streak, begins and ends outages, schedules probes.

    `tripped` is this process's own view: set when it has seen the outage, so that automatic
    runs stop drawing more chunks at once; cleared when a check finds the outage over.
    """

    def __init__(self, threshold: int, probe_base: float, probe_cap: float) -> None:
        self.threshold, self.probe_base, self.probe_cap = threshold, probe_base, probe_cap
        self.tripped = threading.Event()

    def looks_down(self, results: list[PostResult]) -> bool:
        """Whether the last `threshold` answers of one run of single postings all failed
        transiently, or the last was refused as auth (the chunk stops there; the streak is
        counted when its answers are written)."""
        if results and results[-1].error_class == AUTH:
            return True
        tail = results[-self.threshold :]
        return len(tail) == self.threshold and verdict(tail, one_request=False).down == len(tail)

    def record(
        self, conn: Connection, results: list[PostResult], *, one_request: bool, now: datetime
    ) -> bool:
        """Move the streak after one chunk, in its transaction; whether an outage is on now."""
        seen = verdict(results, one_request=one_request)
        if seen.auth is not None:
            self.begin(conn, f"credentials refused: {seen.auth}", now)
            return True
        if seen.down == 0:
            if seen.alive:
                conn.execute(_RESET)
            return self.tripped.is_set()
        streak = 0 if seen.alive else GatewayStatus.transient_streak + seen.down
        row = conn.execute(
            update(GatewayStatus)
            .where(_ROW)
            .values(transient_streak=streak)
            .returning(GatewayStatus.transient_streak, GatewayStatus.outage_since)
        ).one()
        if row.outage_since is not None:
            self.tripped.set()
            return True
        if row.transient_streak >= self.threshold:
            reason = f"{row.transient_streak} transient failures in a row: {seen.last_error}"
            self.begin(conn, reason, now)
            return True
        return False

    def begin(self, conn: Connection, reason: str, now: datetime) -> None:
        """Start an outage (if none is on) and put its alert in the outbox."""
        self.tripped.set()
        started = conn.execute(
            update(GatewayStatus)
            .where(_ROW, GatewayStatus.outage_since.is_(None))
            .values(
                outage_since=now,
                outage_reason=reason[:256],
                next_probe_at=now + timedelta(seconds=self.probe_base),
                probes=0,
            )
        ).rowcount
        if started:
            payload: dict[str, object] = {"since": format_time(now), "reason": reason[:256]}
            add_rows(conn, AlertOutbox, [_outbox("outage", payload, now)])

    def probe_failed(self, conn: Connection, outage: Outage, now: datetime, error: str) -> None:
        """Schedule the next probe, further off each time (up to the cap)."""
        wait = min(self.probe_cap, self.probe_base * 2 ** min(outage.probes + 1, 30))
        conn.execute(
            update(GatewayStatus)
            .where(_ROW, GatewayStatus.outage_since == outage.since)
            .values(
                probes=outage.probes + 1,
                next_probe_at=now + timedelta(seconds=wait),
                last_answer_at=now,
                last_answer=f"probe failed: {error}"[:256],
            )
        )

    def end(
        self,
        conn: Connection,
        outage: Outage,
        now: datetime,
        backoff: BackoffSettings,
        uniform: Callable[[float, float], float],
    ) -> int | None:
        """End the outage; return auth-parked records to the queue at step 1. How many, or None
        if another process ended it first."""
        ended = conn.execute(
            update(GatewayStatus)
            .where(_ROW, GatewayStatus.outage_since == outage.since)
            .values(
                outage_since=None,
                outage_reason=None,
                next_probe_at=None,
                probes=0,
                transient_streak=0,
                last_answer_at=now,
                last_answer="probe answered: the gateway is back",
            )
        ).rowcount
        self.tripped.clear()
        if not ended:
            return None
        parked = conn.scalars(
            select(SyncLogEntry.record_id).where(
                SyncLogEntry.state == FAILED,
                SyncLogEntry.parked.is_(True),
                SyncLogEntry.error_class == AUTH,
            )
        ).all()
        if parked:
            ceiling = step_ceiling(1, backoff)
            rows = [
                {"rid": rid, "due": now + timedelta(seconds=uniform(0.0, ceiling))}
                for rid in parked
            ]
            conn.execute(
                update(SyncLogEntry)
                .where(SyncLogEntry.record_id == bindparam("rid"))
                .values(parked=False, auto_streak=0, next_attempt_at=bindparam("due")),
                rows,
            )
        payload: dict[str, object] = {
            "since": format_time(outage.since),
            "until": format_time(now),
            "reason": outage.reason,
            "returned": len(parked),
        }
        add_rows(conn, AlertOutbox, [_outbox("recovered", payload, now)])
        return len(parked)


def _outbox(kind: str, payload: dict[str, object], now: datetime) -> dict[str, object]:
    return {"kind": kind, "record_id": None, "created_at": now, "payload": json.dumps(payload)}
