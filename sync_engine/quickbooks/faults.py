"""Intuit's errors, read: a Fault body (any casing, any shape) into a verdict and a message.

Classified by HTTP status and `code` (contract section 7), never by `type` alone: real answers
carry `ValidationFault`, `AUTHENTICATION`, `SERVICE` and lower-case keys. The admin's message
says what to fix in QuickBooks; the raw status, code, Message and Detail follow it in brackets
so the failed queue's history keeps them. What is read from Intuit is cut to a bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.vocabulary import ErrorClass

MAX_DETAIL = 600  # characters of Intuit's Message/Detail kept in an error text
TXN_ID = re.compile(r"TxnId\s*=\s*(\d{1,20})")


class Verdict(StrEnum):
    """What an answer means for the write."""

    REFUSED = "refused"  # a ValidationFault: nothing booked, the next send is a new request
    FAILED = "failed"  # nothing booked (auth, throttle, 404): the same request may go again
    UNCERTAIN = "uncertain"  # may be booked: settle by lookup before any resend
    DUPLICATE = "duplicate"  # 6140: look up first; booked if ours
    TOO_LARGE = "too_large"  # 1040: nothing ran, split the batch


@dataclass(frozen=True)
class Fault:
    """One error of a Fault body."""

    type: str
    code: str
    message: str
    detail: str
    element: str


def _get(mapping: object, name: str) -> Any:
    """A key of a JSON object, its name compared case-insensitively."""
    if not isinstance(mapping, dict):
        return None
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def _text(value: object) -> str:
    return value[:MAX_DETAIL] if isinstance(value, str) else "" if value is None else str(value)


def read_faults(body: object) -> list[Fault]:
    """The errors of a Fault body (an empty list if it carries none)."""
    fault = _get(body, "Fault")
    if not isinstance(fault, dict):
        return []
    kind = _text(_get(fault, "type"))
    errors = _get(fault, "Error")
    found = []
    for error in errors if isinstance(errors, list) else [errors]:
        if isinstance(error, dict):
            found.append(
                Fault(
                    kind,
                    _text(_get(error, "code")),
                    _text(_get(error, "Message")),
                    _text(_get(error, "Detail")),
                    _text(_get(error, "element")),
                )
            )
    if not found:
        found.append(Fault(kind, "", "", "", ""))
    return found


def raw_text(status: int | None, faults: list[Fault], tid: str | None) -> str:
    """What Intuit said, for the history: status, type, code, Message, Detail, intuit_tid."""
    parts = [f"HTTP {status}" if status is not None else "no answer"]
    for fault in faults[:3]:
        said = " ".join(p for p in (fault.type, fault.code) if p)
        words = "; ".join(p for p in (fault.message, fault.detail) if p)
        parts.append(f"{said}: {words}" if words else said)
    if tid:
        parts.append(f"intuit_tid {tid[:64]}")
    return "QuickBooks " + ", ".join(p for p in parts if p)


def is_unexpected(fault: Fault) -> bool:
    """A 6000 worded as an unexpected error: it may have been booked (contract section 7)."""
    words = f"{fault.message} {fault.detail}".lower()
    return "unexpected" in words or "internal" in words or "try again" in words


def is_closed_books(fault: Fault) -> bool:
    """6210 read as 'Account Period Closed' (Intuit's 2017 list also gives 6210 to duplicates)."""
    words = f"{fault.message} {fault.detail}".lower()
    return "period" in words and "closed" in words


def is_duplicate_number(fault: Fault) -> bool:
    """6140, or a 6210 worded as a duplicate document number."""
    words = f"{fault.message} {fault.detail}".lower()
    return fault.code == "6140" or (fault.code == "6210" and "duplicate" in words)


def txn_id(fault: Fault) -> str | None:
    """The TxnId a duplicate-number Fault names, if it does."""
    found = TXN_ID.search(fault.detail) or TXN_ID.search(fault.message)
    return found.group(1) if found else None


def verdict_of(status: int, faults: list[Fault]) -> tuple[Verdict, ErrorClass]:
    """What a non-2xx answer (or a 2xx carrying a Fault) means, and its error class."""
    first = faults[0] if faults else Fault("", "", "", "", "")
    code = first.code
    if status in (401, 403):
        return Verdict.FAILED, ErrorClass.AUTH
    if status == 429 or code == "3001":
        return Verdict.FAILED, ErrorClass.TRANSIENT
    if status == 404:
        return Verdict.FAILED, ErrorClass.NEEDS_ATTENTION
    if status >= 500 or status == 408:
        return Verdict.UNCERTAIN, ErrorClass.TRANSIENT
    if code == "600":
        return Verdict.UNCERTAIN, ErrorClass.TRANSIENT
    if code == "1040":
        return Verdict.TOO_LARGE, ErrorClass.TRANSIENT
    if any(is_duplicate_number(f) for f in faults):
        return Verdict.DUPLICATE, ErrorClass.NEEDS_ATTENTION
    if code == "6000" and is_unexpected(first):
        return Verdict.UNCERTAIN, ErrorClass.TRANSIENT
    if first.type.lower() == "systemfault" and status < 400:
        return Verdict.UNCERTAIN, ErrorClass.TRANSIENT
    if 400 <= status < 500 or first.type.lower() == "validationfault":
        return Verdict.REFUSED, ErrorClass.NEEDS_ATTENTION
    return Verdict.UNCERTAIN, ErrorClass.TRANSIENT
