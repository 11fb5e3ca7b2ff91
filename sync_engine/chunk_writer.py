"""Writing the gateway's answers for one claimed chunk: attempts, sync log, retry event, outbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storage.alerts import add_outbox_rows
from storage.attempts import add_attempts, add_retry_event_items, note_gateway_answer
from storage.db import Conn
from storage.queue import Claimed, settle
from storage.vocabulary import AlertKind, ErrorClass, ItemResult, Outcome, State, Trigger
from sync_engine.alert_payloads import AlertRecord, outbox_row, record_payload
from sync_engine.money import format_amount
from sync_engine.policy import BackoffSettings, next_retry
from sync_engine.post_result import PostResult
from sync_engine.results import Failed, Succeeded, retry_count


@dataclass(frozen=True)
class Plan:
    """How a batch of work is sent: the attempts' trigger and the retry event they belong to."""

    trigger: Trigger
    retry_event_id: int | None


def _failure_row(
    claimed: Claimed,
    result: PostResult,
    plan: Plan,
    now: datetime,
    backoff: BackoffSettings,
    uniform: Callable[[float, float], float],
) -> tuple[dict[str, object], Failed]:
    # An automatic attempt continues its streak; an initial or manual one starts a fresh one.
    streak = claimed.auto_streak + 1 if plan.trigger == Trigger.AUTO else 0
    error_class = result.error_class or ErrorClass.TRANSIENT
    decision = next_retry(
        auto_streak=streak,
        error_class=error_class,
        retry_after=result.retry_after,
        now=now,
        backoff=backoff,
        uniform=uniform,
    )
    attempts = claimed.attempt_count + 1
    error = result.error or "unknown error"
    row: dict[str, object] = {
        "state": State.FAILED,
        "accounting_ref": None,
        "error_class": error_class,
        "last_error": error,
        "auto_streak": streak,
        "next_attempt_at": decision.retry_at,
        "parked": decision.parked,
    }
    failed = Failed(
        claimed.record.source_id,
        error,
        error_class,
        retry_count(attempts),
        decision.retry_at,
        decision.parked,
    )
    return row, failed


def _alert(kind: AlertKind, claimed: Claimed, failed: Failed, now: datetime) -> dict[str, object]:
    record = claimed.record
    shown = AlertRecord(
        source_id=record.source_id,
        kind=record.kind,
        payee_id=record.payee_id,
        payee_name=record.payee_name,
        amount=Decimal(format_amount(record.amount_minor, record.currency)),
        currency=record.currency,
        error=failed.error,
        error_class=failed.error_class,
        retry_count=failed.retry_count,
        next_attempt_at=failed.next_attempt_at,
        parked=kind == AlertKind.PARKED,
    )
    return outbox_row(kind, record_payload(shown), now, record.id)


def record_answers(
    conn: Conn,
    claimed: list[Claimed],
    results: list[PostResult],
    plan: Plan,
    *,
    token: str,
    now: datetime,
    backoff: BackoffSettings,
    uniform: Callable[[float, float], float],
    notes: GatewayNotes,
    alerts: bool = True,
) -> tuple[list[Succeeded], list[Failed]]:
    """Write one chunk's answers in the caller's transaction; return what each record became.

    A chunk that sent nothing (an automatic run stopped by an outage before its first posting)
    writes nothing: its records are released by the caller, as they were before the claim.
    """
    if not claimed:
        return [], []
    by_key = {r.idempotency_key: r for r in results}
    succeeded: list[Succeeded] = []
    failed: list[Failed] = []
    log_rows, attempt_rows, item_rows, outbox = [], [], [], []
    for item in claimed:
        result = by_key[item.record.idempotency_key]
        log: dict[str, object] = {
            "record_id": item.record_id,
            "attempt_count": item.attempt_count + 1,
        }
        if result.outcome == Outcome.SUCCEEDED:
            assert result.accounting_ref is not None
            log |= {"state": State.SUCCEEDED, "accounting_ref": result.accounting_ref}
            log |= {"error_class": None, "last_error": item.last_error, "auto_streak": 0}
            log |= {"next_attempt_at": None, "parked": False}
            succeeded.append(Succeeded(item.record.source_id, result.accounting_ref))
            detail = result.accounting_ref
        else:
            row, fail = _failure_row(item, result, plan, now, backoff, uniform)
            log |= row
            failed.append(fail)
            detail = fail.error
            if alerts and item.last_error is None:
                outbox.append(_alert(AlertKind.FIRST_FAILURE, item, fail, now))
            if alerts and fail.parked:
                outbox.append(_alert(AlertKind.PARKED, item, fail, now))
        log_rows.append(log)
        attempt_rows.append(_attempt_row(item, result, plan, now))
        if plan.retry_event_id is not None:
            item_rows.append(
                {
                    "retry_event_id": plan.retry_event_id,
                    "record_id": item.record_id,
                    "result": ItemResult.SUCCEEDED
                    if result.outcome == Outcome.SUCCEEDED
                    else ItemResult.FAILED,
                    "detail": detail,
                }
            )
    settle(conn, log_rows, token=token, retry_event_id=plan.retry_event_id, now=now)
    add_attempts(conn, attempt_rows)
    add_retry_event_items(conn, item_rows)
    add_outbox_rows(conn, outbox)
    notes.note(results, now)
    notes.write(conn)
    return succeeded, failed


def _attempt_row(item: Claimed, result: PostResult, plan: Plan, now: datetime) -> dict[str, object]:
    return {
        "record_id": item.record_id,
        "retry_event_id": plan.retry_event_id,
        "at": now,
        "trigger": plan.trigger,
        "outcome": result.outcome,
        "http_status": result.http_status,
        "error": result.error,
        "error_class": result.error_class,
        "accounting_ref": result.accounting_ref,
        "idempotency_key": item.record.idempotency_key,
    }


class GatewayNotes:
    """The gateway's last answer, kept in memory and written at most once a second.

    Every sending thread would otherwise update the same row in each chunk's transaction,
    and on PostgreSQL that row lock would line the threads' commits up one behind the other.
    """

    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._pending: dict[str, object] = {}
        self._written = 0.0

    def note(self, results: list[PostResult], now: datetime) -> None:
        """Remember the answer in `results` (no answers: nothing to remember)."""
        if not results:
            return
        ok = [r for r in results if r.outcome == Outcome.SUCCEEDED]
        answer = ok[0] if ok else results[0]
        summary = f"HTTP {answer.http_status}: posted" if ok else (answer.error or "no answer")
        with self._lock:
            self._pending |= {"last_answer_at": now, "last_answer": summary[:256]}
            if ok:
                self._pending["last_success_at"] = now

    def write(self, conn: Conn, *, force: bool = False) -> None:
        """Write what was noted, if a second has passed since the last write (or `force`)."""
        with self._lock:
            due = force or time.monotonic() - self._written >= self._interval
            if not self._pending or not due:
                return
            values, self._pending = self._pending, {}
            self._written = time.monotonic()
        note_gateway_answer(conn, values)
