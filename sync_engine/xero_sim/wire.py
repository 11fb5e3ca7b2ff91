"""Xero's wire format: money with two decimals, `/Date(ms+0000)/`, problem and error bodies."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sync_engine.gateway_sim.messages import Answer
from sync_engine.sim_json import encode

PROVIDER = "syncbot xero double"


def money(value: Decimal) -> str:
    """An amount as Xero writes it: at least two decimals (42.5 -> 42.50)."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def xero_date(day: date) -> str:
    """`/Date(ms+0000)/` of midnight UTC of `day`."""
    ms = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return f"/Date({ms}+0000)/"


def json_answer(status: int, payload: object, headers: dict[str, str] | None = None) -> Answer:
    """A JSON answer with Decimals written as Xero money."""
    return Answer(status, encode(payload, money), dict(headers or {}))


def envelope(now: float, **items: Any) -> dict[str, Any]:
    """The frame of every Accounting API 200: Id, Status, ProviderName, DateTimeUTC, items."""
    stamp = f"/Date({int(now * 1000)})/"
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER,
        "DateTimeUTC": stamp,
        **items,
    }


def problem(status: int, title: str, detail: str) -> Answer:
    """The 401/403 problem body Xero's identity layer answers."""
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_answer(status, body)


def unauthorized(detail: str) -> Answer:
    """401: no, an unknown, or an expired bearer token (`TokenExpired: ...`)."""
    return problem(401, "Unauthorized", detail)


def forbidden() -> Answer:
    """403 AuthenticationUnsuccessful: no tenant header, or a tenant not connected."""
    return problem(403, "Forbidden", "AuthenticationUnsuccessful")


def validation(message: str, elements: list[dict[str, Any]] | None = None) -> Answer:
    """400 ValidationException (ErrorNumber 10), listing failed `elements` when there are any."""
    body: dict[str, Any] = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": message,
    }
    if elements is not None:
        body["Elements"] = elements
    return json_answer(400, body)


def server_error(message: str = "An error occurred in Xero.") -> Answer:
    """500 ApiException (UnknownErrorException)."""
    body = {"ErrorNumber": 500, "Type": "UnknownErrorException", "Message": message}
    return json_answer(500, body)


def text(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    """A plain-text answer: 404s, 503 "Organisation offline" or "Not Available"."""
    return Answer(status, message.encode(), dict(headers or {}), "text/plain")
