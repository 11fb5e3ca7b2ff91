"""Writing the gateway's answers for one claimed chunk: attempts, sync log, retry event, outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from storage.models import AlertOutbox, Attempt, GatewayStatus, RetryEventItem, SyncLogEntry
from storage.queue import FAILED, SUCCEEDED, Claimed
from sync_engine.contract import format_time
from sync_engine.gateway import SUCCEEDED as OK
from sync_engine.gateway import PostResult
from sync_engine.money import format_amount
from sync_engine.policy import BackoffSettings, next_retry
from sync_engine.results import Failed, Succeeded


@dataclass(frozen=True)
class Plan:
    """How a batch of work is sent: the attempts' trigger and the retry event they belong to."""

    trigger: str  # initial manual auto
    retry_event_id: int | None


def retry_count(attempt_count: int) -> int:
    """Attempts after the first."""
    return max(0, attempt_count - 1)


def _failure_row(
    claimed: Claimed,
    result: PostResult,
    plan: Plan,
    now: datetime,
    backoff: BackoffSettings,
    uniform: Callable[[float, float], float],
) -> tuple[dict[str, object], Failed]:
    # An automatic attempt continues its streak; an initial or manual one starts a fresh one.
    streak = claimed.auto_streak + 1 if plan.trigger == "auto" else 0
    error_class = result.error_class or "transient"
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
        "state": FAILED,
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


def _alert(kind: str, claimed: Claimed, failed: Failed, now: datetime) -> dict[str, object]:
    record = claimed.record
    payload = {
        "source_id": record.source_id,
        "kind": record.kind,
        "payee_id": record.payee_id,
        "payee_name": record.payee_name,
        "amount": format_amount(record.amount_minor, record.currency),
        "currency": record.currency,
        "error": failed.error,
        "error_class": failed.error_class,
        "retry_count": failed.retry_count,
        "next_attempt_at": format_time(failed.next_attempt_at) if failed.next_attempt_at else None,
    }
    return {
        "kind": kind,
        "record_id": record.id,
        "created_at": now,
        "payload": json.dumps(payload),
    }


def record_answers(
    session: Session,
    claimed: list[Claimed],
    results: list[PostResult],
    plan: Plan,
    *,
    token: str,
    now: datetime,
    backoff: BackoffSettings,
    uniform: Callable[[float, float], float],
) -> tuple[list[Succeeded], list[Failed]]:
    """Write one chunk's answers in the caller's transaction; return what each record became."""
    by_key = {r.idempotency_key: r for r in results}
    succeeded: list[Succeeded] = []
    failed: list[Failed] = []
    log_rows, attempt_rows, item_rows, alerts = [], [], [], []
    for item in claimed:
        result = by_key[item.record.idempotency_key]
        log = {"rid": item.record_id, "tok": token, "attempt_count": item.attempt_count + 1}
        if result.outcome == OK:
            assert result.accounting_ref is not None
            log |= {"state": SUCCEEDED, "accounting_ref": result.accounting_ref}
            log |= {"error_class": None, "last_error": item.last_error, "auto_streak": 0}
            log |= {"next_attempt_at": None, "parked": False}
            succeeded.append(Succeeded(item.record.source_id, result.accounting_ref))
            detail = result.accounting_ref
        else:
            row, fail = _failure_row(item, result, plan, now, backoff, uniform)
            log |= row
            failed.append(fail)
            detail = fail.error
            if item.last_error is None:
                alerts.append(_alert("first_failure", item, fail, now))
            if fail.parked:
                alerts.append(_alert("parked", item, fail, now))
        log_rows.append(log)
        attempt_rows.append(_attempt_row(item, result, plan, now))
        if plan.retry_event_id is not None:
            item_rows.append(
                {
                    "retry_event_id": plan.retry_event_id,
                    "record_id": item.record_id,
                    "result": SUCCEEDED if result.outcome == OK else FAILED,
                    "detail": detail,
                }
            )
    _write(session, log_rows, attempt_rows, item_rows, alerts, plan, now)
    _note_gateway(session, results, now)
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


def _write(
    session: Session,
    log_rows: list[dict[str, object]],
    attempt_rows: list[dict[str, object]],
    item_rows: list[dict[str, object]],
    alerts: list[dict[str, object]],
    plan: Plan,
    now: datetime,
) -> None:
    columns = [c for c in log_rows[0] if c not in ("rid", "tok")]
    # Only the holder of the lease may write the outcome; a stale worker's answer still
    # becomes an attempt row, but never overwrites a newer state.
    statement = (
        update(SyncLogEntry)
        .where(
            SyncLogEntry.record_id == bindparam("rid"),
            SyncLogEntry.lease_token == bindparam("tok"),
        )
        .values(
            {c: bindparam(f"v_{c}") for c in columns}
            | {
                "lease_token": None,
                "lease_expires_at": None,
                "retry_event_id": plan.retry_event_id,
                "updated_at": now,
            }
        )
    )
    params = [{k if k in ("rid", "tok") else f"v_{k}": v for k, v in r.items()} for r in log_rows]
    session.connection().execute(statement, params)
    session.execute(insert(Attempt), attempt_rows)
    if item_rows:
        session.execute(insert(RetryEventItem), item_rows)
    if alerts:
        session.execute(insert(AlertOutbox), alerts)


def _note_gateway(session: Session, results: list[PostResult], now: datetime) -> None:
    ok = [r for r in results if r.outcome == OK]
    answer = results[0] if not ok else ok[0]
    summary = f"HTTP {answer.http_status}: posted" if ok else (answer.error or "no answer")
    values: dict[str, object] = {"last_answer_at": now, "last_answer": summary[:256]}
    if ok:
        values["last_success_at"] = now
    session.execute(update(GatewayStatus).where(GatewayStatus.id == 1).values(values))
