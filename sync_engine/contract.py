"""The gateway contract's shapes, shared by the client and the gateway simulator.

The contract's other side is `sync_engine/gateway_sim/` (its routes, answers and faults), and
`docs/architecture.md` says how the engine reaches it. Money stays `Decimal` and travels as a
string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from storage.vocabulary import Kind
from sync_engine.money import MoneyError, parse_amount

MAX_BATCH_ITEMS = 30


@dataclass(frozen=True)
class Posting:
    """One approved record as the gateway receives it."""

    source_id: str
    kind: str
    payee_id: str
    payee_name: str
    amount: Decimal
    currency: str
    description: str
    approved_at: datetime
    approved_by: str | None = None
    account_code: str | None = None
    memo: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON body of `POST /v1/postings`."""
        body: dict[str, Any] = {
            "source_id": self.source_id,
            "kind": self.kind,
            "payee": {"id": self.payee_id, "name": self.payee_name},
            "amount": str(self.amount),
            "currency": self.currency,
            "description": self.description,
            "approved_at": format_time(self.approved_at),
        }
        for name in ("approved_by", "account_code", "memo"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an ISO 8601 timestamp such as 2026-11-20T15:04:05Z")
    try:
        if "T" not in text and " " not in text.strip():
            raise ValueError("a date without a time")
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class PostingInvalid(ValueError):
    """A posting body that breaks the contract; `errors` lists `(field, message)` pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def posting_from_wire(body: object) -> Posting:
    """Read a posting body as the gateway would; raise `PostingInvalid` naming each bad field."""
    if not isinstance(body, dict):
        raise PostingInvalid([("", "the body must be a JSON object")])
    errors: list[tuple[str, str]] = []

    def text(name: str, value: object, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            errors.append((name, "required, a non-empty string"))
            return None
        return value

    payee = body.get("payee")
    payee = payee if isinstance(payee, dict) else {}
    source_id = text("source_id", body.get("source_id"))
    kind = text("kind", body.get("kind"))
    if kind is not None and kind not in tuple(Kind):
        errors.append(("kind", f"must be one of {', '.join(Kind)}"))
    payee_id = text("payee.id", payee.get("id"))
    payee_name = text("payee.name", payee.get("name"))
    currency = text("currency", body.get("currency"))
    description = text("description", body.get("description"))
    amount = approved_at = None
    if currency is not None:
        try:
            amount = parse_amount(body.get("amount"), currency)
        except MoneyError as exc:
            errors.append(("currency" if "currency" in str(exc) else "amount", str(exc)))
    try:
        approved_at = parse_time(body.get("approved_at"))
    except ValueError as exc:
        errors.append(("approved_at", str(exc)))
    optional = {
        n: text(n, body.get(n), required=False) for n in ("approved_by", "account_code", "memo")
    }
    if errors:
        raise PostingInvalid(errors)
    assert source_id and kind and payee_id and payee_name and currency and description
    assert amount is not None and approved_at is not None
    return Posting(
        source_id,
        kind,
        payee_id,
        payee_name,
        amount,
        currency,
        description,
        approved_at,
        **optional,
    )
