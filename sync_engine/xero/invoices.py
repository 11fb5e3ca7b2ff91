"""A record as a Xero bill (an ACCPAY invoice): its number, keys, dates, body, and whether a bill
found by lookup is ours (contract sections 2, 5 and 6).

Pure functions, no I/O. Amounts travel as exact JSON numbers written from the Decimal (never
through a float, `sync_engine.exact_json`), and answers are read keeping decimals (`read_json`).
Everything read from Xero is hostile: shapes are checked and lengths bounded before use.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sync_engine import exact_json
from sync_engine.contract import Posting

VERBATIM_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HASHED_PREFIX = "SB~"
MAX_DESCRIPTION = 4000
MAX_APPROVER = 200  # characters of `approved_by` named in a line's description
MAX_ELEMENTS = 200  # invoices read from one answer (a batch is 30, a lookup page 100)
BOOKED_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID")
REMOVED_STATUSES = ("DELETED", "VOIDED")


class InvoiceRefused(ValueError):
    """A record that cannot be written as a bill: nothing is sent (`needs_attention`); the text
    is the admin's message."""


class Found(StrEnum):
    """What a bill found by lookup means for a record."""

    BOOKED = "booked"  # ours, and in the books (DRAFT, SUBMITTED, AUTHORISED, PAID)
    REMOVED = "removed"  # ours, DELETED or VOIDED by a person: needs_attention, never re-posted
    DIFFERS = "differs"  # our number, yet another contact, total, currency or status
    OTHER = "other"  # not ours (not ACCPAY, or the number is not byte-equal)


def invoice_number(source_id: str) -> str:
    """The bill's InvoiceNumber: the source id itself, or `SB~` and 32 base32 chars of its hash."""
    if VERBATIM_NUMBER.fullmatch(source_id):
        return source_id
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    return HASHED_PREFIX + base64.b32encode(digest).decode("ascii").rstrip("=")[:32]


def idempotency_key(tenant_id: str, key: str, generation: int) -> str:
    """The `Idempotency-Key` of one write of one record (at most 50 chars)."""
    digest = hashlib.sha256(f"{tenant_id}|{key}".encode()).hexdigest()
    return f"sb-{digest[:40]}-g{generation}"


def batch_key(tenant_id: str, items: list[tuple[str, int]]) -> str:
    """The `Idempotency-Key` of a batch: its items' keys and generations, in order (44 chars)."""
    joined = ",".join(f"{key}:{generation}" for key, generation in items)
    digest = hashlib.sha256(f"{tenant_id}|{joined}".encode()).hexdigest()
    return f"sbb-{digest[:40]}"


def invoice_dates(posting: Posting, timezone: str, due_days: int) -> tuple[date, date]:
    """Date (the approval's date in the ledger's zone) and DueDate (that plus due days)."""
    day = posting.approved_at.astimezone(ZoneInfo(timezone)).date()
    return day, day + timedelta(days=due_days)


def description(posting: Posting, day: date) -> str:
    """The line's Description: the record's, then kind, full source id and approval, then the
    memo; cut to 4,000 chars, cutting the record's description and memo, never the source id."""
    approved = f"{posting.kind} {posting.source_id} approved {day.isoformat()}"
    if posting.approved_by:
        approved += f" by {posting.approved_by[:MAX_APPROVER]}"
    room = max(0, MAX_DESCRIPTION - len(approved) - 3)
    text = posting.description.strip()[:room]
    line = f"{text} | {approved}" if text else approved
    if posting.memo and len(line) + 3 < MAX_DESCRIPTION:
        line = f"{line} | {posting.memo}"
    return line[:MAX_DESCRIPTION]


def refused_message(source_id: str, why: str) -> str:
    """The admin's message for a record refused before sending."""
    return f"syncbot cannot send {source_id} to Xero: {why}. Fix the record, then retry."


def invoice_body(
    posting: Posting,
    *,
    contact_id: str,
    account_code: str,
    status: str,
    dates: tuple[date, date],
) -> dict[str, Any]:
    """One invoice object of a `PUT /Invoices` (InvoiceRefused if the amount cannot be booked)."""
    try:
        amount = exact_json.exact_amount(
            posting.amount, posting.currency, ledger="Xero", refused=InvoiceRefused
        )
    except InvoiceRefused as exc:
        raise InvoiceRefused(refused_message(posting.source_id, str(exc))) from None
    return {
        "Type": "ACCPAY",
        "Contact": {"ContactID": contact_id},
        "Date": dates[0].isoformat(),
        "DueDate": dates[1].isoformat(),
        "InvoiceNumber": invoice_number(posting.source_id),
        "CurrencyCode": posting.currency,
        "Status": status,
        "LineAmountTypes": "NoTax",
        "LineItems": [
            {
                "Description": description(posting, dates[0]),
                "Quantity": 1,
                "UnitAmount": amount,
                "AccountCode": account_code,
            }
        ],
    }


def request_body(invoices: list[dict[str, Any]]) -> bytes:
    """The body of `PUT /Invoices`: `{"Invoices": [...]}`, amounts written exactly."""
    return exact_json.dumps({"Invoices": invoices}).encode("utf-8")


def read_json(content: bytes) -> object:
    """An answer's JSON with decimals kept; None if not JSON, too large or too deeply nested."""
    return exact_json.loads(content)


def answer_invoices(body: object) -> list[dict[str, Any]]:
    """The invoice objects of an answer's `Invoices` (a write's elements or a lookup's bills);
    what is not an object is skipped, and at most MAX_ELEMENTS are read."""
    listed = body.get("Invoices") if isinstance(body, dict) else None
    if not isinstance(listed, list):
        return []
    return [item for item in listed[:MAX_ELEMENTS] if isinstance(item, dict)]


def text_of(value: object, limit: int = 255) -> str | None:
    """A string field of an answer, or None if it is not a string or is longer than `limit`."""
    return value if isinstance(value, str) and len(value) <= limit else None


def contact_of(invoice: dict[str, Any]) -> str | None:
    """The ContactID an invoice names (None if absent or not a short string)."""
    contact = invoice.get("Contact")
    return text_of(contact.get("ContactID"), 64) if isinstance(contact, dict) else None


def total_of(invoice: dict[str, Any]) -> Decimal | None:
    """An invoice's Total as a Decimal (None if missing or not a number)."""
    total = invoice.get("Total")
    if isinstance(total, bool) or not isinstance(total, Decimal | int):
        return None
    return Decimal(total)


def ours(posting: Posting, invoice: dict[str, Any], contact_id: str | None) -> Found:
    """What one invoice of a lookup is to this record (`contact_id` None: contact not checked).

    Ours when ACCPAY and the InvoiceNumber is byte-equal (the filter may ignore case); then
    booked or removed by status if contact, Total and currency agree, else differs."""
    if invoice.get("Type") != "ACCPAY":
        return Found.OTHER
    if invoice.get("InvoiceNumber") != invoice_number(posting.source_id):
        return Found.OTHER
    same = (
        total_of(invoice) == posting.amount
        and invoice.get("CurrencyCode") == posting.currency
        and (contact_id is None or contact_of(invoice) == contact_id)
    )
    status = invoice.get("Status")
    if same and status in BOOKED_STATUSES:
        return Found.BOOKED
    if same and status in REMOVED_STATUSES:
        return Found.REMOVED
    return Found.DIFFERS


def find_ours(
    posting: Posting, invoices: list[Any], contact_id: str | None
) -> tuple[Found, dict[str, Any] | None]:
    """The verdict on a lookup's answer and the bill it rests on: a booked bill first, then a
    removed one, then one that differs; (OTHER, None) when none carries our number."""
    best: tuple[Found, dict[str, Any] | None] = (Found.OTHER, None)
    rank = {Found.BOOKED: 0, Found.REMOVED: 1, Found.DIFFERS: 2, Found.OTHER: 3}
    for invoice in invoices[:MAX_ELEMENTS]:
        if not isinstance(invoice, dict):
            continue
        found = ours(posting, invoice, contact_id)
        if rank[found] < rank[best[0]]:
            best = (found, invoice)
    return best


def invoice_id(invoice: dict[str, Any]) -> str | None:
    """A booked invoice's InvoiceID (None if absent or not a GUID-sized string)."""
    found = text_of(invoice.get("InvoiceID"), 64)
    return found if found and re.fullmatch(r"[0-9A-Fa-f-]{32,40}", found) else None
