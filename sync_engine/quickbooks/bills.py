"""A record as a QuickBooks Bill: its DocNumber, marker note, dates, amounts and request ids.

Pure functions, no I/O. Amounts travel as exact JSON numbers written from the Decimal (never
through a float) and answers are read keeping decimals (`loads`); both live in
`sync_engine.exact_json` (shared with the Xero adapter) and are re-exported here.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sync_engine import exact_json
from sync_engine.contract import Posting, format_time
from sync_engine.exact_json import dumps as dumps  # re-exported for the adapter
from sync_engine.exact_json import loads as loads

MARKER = "syncbot:"
NOTE_SEPARATOR = " | "
MAX_NOTE = 4000
MAX_DESCRIPTION = 4000
VERBATIM_DOC_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
NOT_IN_PREFIX = re.compile(r"[^A-Za-z0-9-]")
# Fixed for good: every requestid ever sent derives from it (changing it re-keys every write).
REQUEST_ID_NAMESPACE = uuid.UUID("6f1d3c52-8a4e-5b8e-9a57-2b1f0c4d7e93")


class BillRefused(ValueError):
    """A record that cannot be written as a Bill: nothing is sent (`needs_attention`)."""


def doc_number(source_id: str) -> str:
    """The Bill's DocNumber: the source id itself (<= 20 chars) or a 21-char hashed form."""
    if VERBATIM_DOC_NUMBER.fullmatch(source_id):
        return source_id
    prefix = NOT_IN_PREFIX.sub("", source_id)[:10].rstrip("-") or "SB"
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    hashed = base64.b32encode(digest).decode("ascii").rstrip("=")
    return f"{prefix}-{hashed[: 20 - len(prefix)]}"


def marker(source_id: str) -> str:
    """The marker a Bill's PrivateNote starts with: `syncbot:<source_id>`."""
    return MARKER + source_id


def is_ours(note: object, source_id: str) -> bool:
    """Whether a PrivateNote carries this record's marker (then the end or our separator)."""
    if not isinstance(note, str):
        return False
    mark = marker(source_id)
    return note == mark or note.startswith(mark + NOTE_SEPARATOR) or note.startswith(mark + " ")


def private_note(posting: Posting) -> str:
    """The marker, kind, approval and memo, cut to 4,000 chars (the marker always survives)."""
    approved = f"approved {format_time(posting.approved_at)}"
    if posting.approved_by:
        approved += f" by {posting.approved_by}"
    parts = [marker(posting.source_id), posting.kind, approved]
    if posting.memo:
        parts.append(posting.memo)
    return NOTE_SEPARATOR.join(parts)[:MAX_NOTE]


def request_id(realm_id: str, key: str, generation: int) -> str:
    """The `requestid` of one write of one record (36 chars)."""
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, f"{realm_id}|{key}|{generation}"))


def batch_request_id(realm_id: str, items: list[tuple[str, int]]) -> str:
    """The `requestid` of a batch: its items' keys and generations, in bId order."""
    joined = ",".join(f"{key}:{generation}" for key, generation in items)
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, f"{realm_id}|batch|{joined}"))


def exact_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's minor units; BillRefused if it cannot be booked as is."""
    return exact_json.exact_amount(amount, currency, ledger="QuickBooks", refused=BillRefused)


def bill_dates(posting: Posting, timezone: str, due_days: int) -> tuple[date, date]:
    """TxnDate (the approval's date in the ledger's zone) and DueDate (that plus due days)."""
    txn_date = posting.approved_at.astimezone(ZoneInfo(timezone)).date()
    return txn_date, txn_date + timedelta(days=due_days)


def bill_body(
    posting: Posting,
    *,
    vendor_id: str,
    account_id: str,
    currency: str | None,
    dates: tuple[date, date],
) -> dict[str, Any]:
    """The Bill create body (`currency` None: the company has multicurrency off)."""
    amount = exact_amount(posting.amount, posting.currency)
    body: dict[str, Any] = {
        "VendorRef": {"value": vendor_id},
        "TxnDate": dates[0].isoformat(),
        "DueDate": dates[1].isoformat(),
        "DocNumber": doc_number(posting.source_id),
        "PrivateNote": private_note(posting),
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": amount,
                "Description": posting.description[:MAX_DESCRIPTION],
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account_id}},
            }
        ],
    }
    if currency is not None:
        body["CurrencyRef"] = {"value": currency}
    return body


def differences(
    posting: Posting, bill: dict[str, Any], txn_date: date, vendor_id: str | None
) -> list[str]:
    """The fields of a Bill found by lookup that differ from the record (edited by hand)."""
    found = []
    total = bill.get("TotalAmt")
    if not isinstance(total, Decimal | int) or Decimal(total) != posting.amount:
        found.append("TotalAmt")
    if bill.get("TxnDate") != txn_date.isoformat():
        found.append("TxnDate")
    currency = (bill.get("CurrencyRef") or {}).get("value")
    if currency is not None and currency != posting.currency:
        found.append("CurrencyRef")
    vendor = (bill.get("VendorRef") or {}).get("value")
    if vendor_id is not None and vendor != vendor_id:
        found.append("VendorRef")
    return found


def escape_literal(text: str) -> str:
    """A query literal's text with `\\` and `'` escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
