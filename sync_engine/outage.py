"""The outage pause (a circuit breaker): when the gateway looks down, automatic attempts stop.

The state is one row in the database (`gateway_status`), so every process sees the same.
Each chunk's answers move a streak of consecutive transient failures, in the chunk's own
transaction: one failed request counts once however many records its batch held, 429s do not
count, and any answer that shows the gateway working (a success, a refusal of the data)
resets it. At the threshold, or at once on an auth failure, the outage begins: `outage_since`
is set and one `outage` alert goes to the outbox. While it lasts, `sync` sends nothing
automatically and instead probes the ledger on backoff.

Any answer that proves the gateway is back ends the outage at once, whichever request drew
it (a probe, a manual retry's posting, the lookup of a resolve or a correction): it returns
the records parked by an auth failure to the queue at backoff step 1 and puts a `recovered`
alert in the outbox; the next `sync` sends what was held back. Which answers prove it:

- a posting answered 2xx (booked now or replayed), or a lookup answered 200 or 404: the
  gateway reached the ledger with our token. These end any outage.
- a posting refused as `needs_attention` (400, 404, 422): the gateway is up and reads our
  requests. This ends an outage of transient failures, but not one begun by an auth failure:
  a gateway may refuse a malformed request before it checks the credentials, so only an
  answer that certainly passed auth ends an auth outage.
- nothing else: a 429 (the gateway is up but says nothing of the ledger), a transient failure,
  or a posting whose uncertain outcome a lookup settled as "nothing booked" (the posting
  itself still failed).

An auth outage is told by its reason, which always begins with `AUTH_REASON`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from storage import gateway_status
from storage.alerts import add_outbox_rows
from storage.db import Conn
from storage.vocabulary import AlertKind, ErrorClass, Outcome
from sync_engine.alert_payloads import outbox_row
from sync_engine.contract import format_time
from sync_engine.policy import BackoffSettings, step_ceiling
from sync_engine.post_result import PostResult
from sync_engine.results import Outage

RATE_LIMITED = 429
AUTH_REASON = "credentials refused: "
PROBE_ANSWERED = "probe answered"
LOOKUP_ANSWERED = "a lookup was answered"


@dataclass(frozen=True)
class Verdict:
    """What one chunk's answers say about the gateway."""

    alive: bool  # some answer shows it working
    down: int  # requests that failed transiently (429s not counted)
    after_alive: int  # of those, the ones after the last answer that shows it working
    auth: str | None  # the error of an auth failure, if any
    last_error: str
    # Whether the chunk's newest answers prove the gateway back, and how: BOOKED (they
    # certainly passed auth), ANSWERED (a refusal of the data), or None.
    back: str | None = None


BOOKED, ANSWERED = "a posting was booked", "a posting was answered"


def _down(result: PostResult) -> bool:
    return result.error_class == ErrorClass.TRANSIENT and result.http_status != RATE_LIMITED


def verdict(results: list[PostResult], *, one_request: bool) -> Verdict:
    """Sort one chunk's answers; `one_request` when they came from one batch request."""
    alive = any(map(_working, results))
    failing = [r for r in results if _down(r)]
    auth = next(
        (r.error or "auth failure" for r in results if r.error_class == ErrorClass.AUTH), None
    )
    down = min(len(failing), 1) if one_request else len(failing)
    last = failing[-1].error if failing else None
    # Single postings answer one after another: only the answers after the last failure are
    # news of the gateway now, and only the failures after the last working answer are a
    # streak. A batch's answers all come at once.
    newest, after_alive = results, 0 if alive else down
    if not one_request and failing:
        newest = results[_last(results, _down) + 1 :]
        after_alive = sum(map(_down, results[_last(results, _working) + 1 :]))
    back = (
        BOOKED
        if any(r.outcome == Outcome.SUCCEEDED for r in newest)
        else ANSWERED
        if any(r.error_class == ErrorClass.NEEDS_ATTENTION for r in newest)
        else None
    )
    return Verdict(alive, down, after_alive, auth, last or "the gateway did not answer", back)


def _working(result: PostResult) -> bool:
    return result.outcome == Outcome.SUCCEEDED or result.error_class == ErrorClass.NEEDS_ATTENTION


def _last(results: list[PostResult], test: Callable[[PostResult], bool]) -> int:
    """The index of the last result that passes `test`, or -1."""
    return max((i for i, r in enumerate(results) if test(r)), default=-1)


def ends(outage_reason: str, proof: str) -> bool:
    """Whether `proof` (an answer showing the gateway working) ends an outage begun for this
    reason: an auth outage only ends on an answer that certainly passed auth (see above)."""
    return proof != ANSWERED or not outage_reason.startswith(AUTH_REASON)


class OutageWatch:
    """Counts failures into the shared streak, begins and ends outages, schedules probes.

    `tripped` is this process's own view: set when it has seen the outage, so that automatic
    runs stop drawing more chunks at once; cleared when a check finds the outage over.
    """

    def __init__(self, threshold: int, probe_base: float, probe_cap: float) -> None:
        self.threshold, self.probe_base = threshold, probe_base
        # Probes back off like automatic retries, without jitter or a budget: the first comes
        # `probe_base` after the outage begins, each failed one doubles the wait (up to the cap).
        self._probe_backoff = BackoffSettings(probe_base, probe_cap, 0)
        self.tripped = threading.Event()

    def looks_down(self, results: list[PostResult]) -> bool:
        """Whether the last `threshold` answers of one run of single postings all failed
        transiently, or the last was refused as auth (the chunk stops there; the streak is
        counted when its answers are written)."""
        if results and results[-1].error_class == ErrorClass.AUTH:
            return True
        tail = results[-self.threshold :]
        return len(tail) == self.threshold and verdict(tail, one_request=False).down == len(tail)

    def record(
        self,
        conn: Conn,
        results: list[PostResult],
        *,
        one_request: bool,
        now: datetime,
        backoff: BackoffSettings,
        uniform: Callable[[float, float], float],
        stopped_short: bool = False,
    ) -> bool:
        """Move the streak after one chunk, in its transaction; whether an outage is on now.

        An answer that proves the gateway back ends the outage in force, in the same
        transaction as the chunk's answers. A run of single postings that `stopped_short`
        proves nothing: it stopped either on failures or because the outage was already
        known, so its answers are older news than the outage."""
        seen = verdict(results, one_request=one_request)
        if stopped_short:
            seen = replace(seen, back=None)
        if seen.auth is not None:
            self.begin(conn, AUTH_REASON + seen.auth, now)
            return True
        if seen.alive:
            on = self._answered(conn, seen.back, now, backoff, uniform)
            if on is not None:
                return on
        if seen.down == 0:
            return self.tripped.is_set()
        if seen.alive:
            row = gateway_status.move_streak(conn, seen.after_alive, restart=True)
        else:
            row = gateway_status.move_streak(conn, seen.down, restart=False)
        if row.outage_since is not None:
            self.tripped.set()
            return True
        if row.transient_streak >= self.threshold:
            reason = f"{row.transient_streak} transient failures in a row: {seen.last_error}"
            self.begin(conn, reason, now)
            return True
        return False

    def _answered(
        self,
        conn: Conn,
        back: str | None,
        now: datetime,
        backoff: BackoffSettings,
        uniform: Callable[[float, float], float],
    ) -> bool | None:
        """Reset the streak after answers from a working gateway, and end the outage in force
        if they prove it over. Whether an outage is on still, or None if there was none."""
        # One statement, and no row lock at all in the common case (no streak, no outage).
        in_force = gateway_status.reset_streak(conn)
        if in_force is None:
            return None
        outage = Outage(*in_force, None, 0)
        # An answer older than the outage (another thread began it meanwhile) ends nothing.
        if back is not None and outage.since <= now and ends(outage.reason, back):
            self.end(conn, outage, now, backoff, uniform, proof=back)
            return False
        self.tripped.set()
        return True

    def begin(self, conn: Conn, reason: str, now: datetime) -> None:
        """Start an outage (if none is on) and put its alert in the outbox."""
        self.tripped.set()
        next_probe_at = now + timedelta(seconds=self.probe_base)
        if gateway_status.begin_outage(conn, reason[:256], now=now, next_probe_at=next_probe_at):
            payload: dict[str, object] = {"since": format_time(now), "reason": reason[:256]}
            add_outbox_rows(conn, [outbox_row(AlertKind.OUTAGE, payload, now)])

    def probe_failed(self, conn: Conn, outage: Outage, now: datetime, error: str) -> None:
        """Schedule the next probe, further off each time (up to the cap)."""
        # After the n-th failed probe wait base * 2**n, which is step n + 1 of the ladder.
        failed = outage.probes + 1
        wait = step_ceiling(failed + 1, self._probe_backoff)
        gateway_status.probe_failed(
            conn,
            outage.since,
            probes=failed,
            next_probe_at=now + timedelta(seconds=wait),
            now=now,
            answer=f"probe failed: {error}"[:256],
        )

    def end(
        self,
        conn: Conn,
        outage: Outage,
        now: datetime,
        backoff: BackoffSettings,
        uniform: Callable[[float, float], float],
        *,
        proof: str = PROBE_ANSWERED,
    ) -> int | None:
        """End the outage; return auth-parked records to the queue at step 1. How many, or None
        if another process ended it first. `proof` says which answer showed the gateway back."""
        answer = f"{proof}: the gateway is back"[:256]
        ended = gateway_status.end_outage(conn, outage.since, now=now, answer=answer)
        self.tripped.clear()
        if not ended:
            return None
        parked = gateway_status.parked_failures(conn, ErrorClass.AUTH)
        ceiling = step_ceiling(1, backoff)
        due = {rid: now + timedelta(seconds=uniform(0.0, ceiling)) for rid in parked}
        gateway_status.unpark(conn, due)
        payload: dict[str, object] = {
            "since": format_time(outage.since),
            "until": format_time(now),
            "reason": outage.reason,
            "returned": len(parked),
        }
        add_outbox_rows(conn, [outbox_row(AlertKind.RECOVERED, payload, now)])
        return len(parked)
