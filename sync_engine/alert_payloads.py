"""The alert outbox's rows, and a record as an alert shows it: written and read here only.

The engine writes an outbox row when a record fails for the first time, is parked, the
gateway goes down or comes back, or the ledger imposes a pause; the running bot reads the rows
back into alerts. The payload's keys are stored in the database as JSON, so they change here or
nowhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sync_engine.contract import format_time, parse_time
from sync_engine.ledger import LedgerPause

MAX_REASON_CHARS = 500  # a pause's reason comes from the ledger's adapter: kept bounded


@dataclass(frozen=True)
class AlertRecord:
    """One record as an alert shows it."""

    source_id: str
    kind: str
    payee_id: str
    payee_name: str
    amount: Decimal
    currency: str
    error: str
    error_class: str
    retry_count: int
    next_attempt_at: datetime | None
    parked: bool


def outbox_row(
    kind: str, payload: dict[str, Any], now: datetime, record_id: int | None = None
) -> dict[str, Any]:
    """One `alert_outbox` row (unposted) of `kind` carrying `payload`."""
    return {"kind": kind, "record_id": record_id, "created_at": now, "payload": json.dumps(payload)}


def record_payload(record: AlertRecord) -> dict[str, Any]:
    """`record` as the JSON an outbox row or an alert message keeps."""
    at = record.next_attempt_at
    return {
        "source_id": record.source_id,
        "kind": record.kind,
        "payee_id": record.payee_id,
        "payee_name": record.payee_name,
        "amount": str(record.amount),
        "currency": record.currency,
        "error": record.error,
        "error_class": record.error_class,
        "retry_count": record.retry_count,
        "next_attempt_at": format_time(at) if at else None,
        "parked": record.parked,
    }


def record_from_payload(payload: dict[str, Any]) -> AlertRecord:
    """The record an outbox row or an alert message keeps, read back."""
    at = payload.get("next_attempt_at")
    return AlertRecord(
        source_id=str(payload["source_id"]),
        kind=str(payload["kind"]),
        payee_id=str(payload["payee_id"]),
        payee_name=str(payload["payee_name"]),
        amount=Decimal(str(payload["amount"])),
        currency=str(payload["currency"]),
        error=str(payload["error"]),
        error_class=str(payload["error_class"]),
        retry_count=int(str(payload["retry_count"])),
        next_attempt_at=parse_time(at) if at else None,
        parked=bool(payload.get("parked")),
    )


def pause_payload(pause: LedgerPause) -> dict[str, Any]:
    """A pause the ledger imposed, as its outbox row keeps it (the reason bounded)."""
    return {"until": format_time(pause.until), "reason": pause.reason[:MAX_REASON_CHARS]}


def pause_from_payload(payload: dict[str, Any]) -> LedgerPause:
    """The pause an outbox row keeps, read back."""
    reason = str(payload.get("reason") or "")[:MAX_REASON_CHARS]
    return LedgerPause(until=parse_time(str(payload["until"])), reason=reason)
