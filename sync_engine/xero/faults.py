"""Xero's answers, read: a whole reply or one element of a batch into a verdict (contract s. 7).

Classified by HTTP status first, then by what the body says; bodies may be JSON of any shape,
plain text, or nothing, so every field is checked and cut to a bound. A `Reading` carries the
admin's message (`sync_engine.xero.messages`) and, apart, Xero's own words (`raw`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any

from sync_engine.vocabulary import ErrorClass
from sync_engine.xero import messages
from sync_engine.xero.invoices import invoice_id, read_json

MAX_RAW = 500  # characters of Xero's own words kept
MAX_PART = 300  # characters of one message read from Xero
MAX_ITEMS = 10  # elements, and errors per element, read from one answer
MAX_WAIT = 300.0  # seconds: the longest Retry-After honoured for a per-minute limit
MAX_DAY_WAIT = 86_400.0  # seconds: ... and for the daily limit
DAY_WAIT = 3_600.0  # seconds paused on a daily limit that names no Retry-After
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
LOCK_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{1,2} [A-Za-z]{3,9},? \d{4}"
)
ERROR_NAMES = ("Type", "Title", "ErrorNumber")
STATE = re.compile(r"subscription\s+([A-Za-z]{1,20})", re.IGNORECASE)


class Verdict(StrEnum):
    """What an answer means for the write."""

    BOOKED = "booked"  # the bill is in Xero (Reading.invoice_id)
    REFUSED = "refused"  # definite refusal, nothing booked: needs_attention, next generation
    RESEND = "resend"  # uncertain: resend identically with the same key inside its window
    LOOKUP = "lookup"  # uncertain: never resend with this key; settle by lookup
    AUTH = "auth"  # 401 (refresh, repeat once) or 403 (re-read the connections)
    RATE_LIMITED = "rate_limited"  # nothing booked: wait retry_after, resend with the same key
    DAY_LIMIT = "day_limit"  # the day's budget is spent: pause the tenant for retry_after
    NOT_FOUND = "not_found"  # 404: a wrong base URL


@dataclass(frozen=True)
class Reading:
    """An answer, read. `error_class` is None when booked; `message` is the admin's words,
    `raw` Xero's (status, error type and number, Message, Detail, validation messages)."""

    verdict: Verdict
    error_class: ErrorClass | None
    status: int | None
    message: str
    raw: str
    retry_after: float | None = None
    names_contact: bool = False
    names_account: bool = False
    invoice_id: str | None = None

    @property
    def text(self) -> str:
        """The admin's message, then Xero's words in brackets (an error text for the history)."""
        return f"{self.message} [{self.raw}]" if self.raw else self.message


def clean(value: object, limit: int = MAX_PART) -> str:
    """A string from Xero with control characters blanked and its length bounded."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return CONTROL.sub(" ", str(value)[: limit * 2]).strip()[:limit]


def get(mapping: object, name: str) -> Any:
    """A key of a JSON object, its name compared case-insensitively (None if absent)."""
    if not isinstance(mapping, dict):
        return None
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in islice(mapping.items(), 100):
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name compared case-insensitively, cut to 100 chars."""
    lowered = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lowered and isinstance(value, str):
            return value[:100]
    return None


def listed_messages(items: object) -> list[str]:
    """The `Message` of each object of a list (ValidationErrors, Warnings), at most MAX_ITEMS."""
    if not isinstance(items, list):
        return []
    found = (clean(get(item, "Message")) for item in items[:MAX_ITEMS])
    return [m for m in found if m]


def validation_messages(item: object) -> list[str]:
    """The `ValidationErrors[].Message` of one element or invoice."""
    return listed_messages(get(item, "ValidationErrors"))


def body_messages(body: object) -> list[str]:
    """Every validation message of a whole answer: its `Elements` and its own."""
    elements = get(body, "Elements")
    found = validation_messages(body)
    if isinstance(elements, list):
        for element in elements[:MAX_ITEMS]:
            found.extend(validation_messages(element))
    return found


def raw_words(status: int | None, body: object, said: list[str]) -> str:
    """Xero's own words for the history: status, type, number, title, message and detail."""
    parts = [f"Xero HTTP {status}" if status is not None else "Xero"]
    if isinstance(body, dict):
        kind = " ".join(filter(None, (clean(get(body, n), 80) for n in ERROR_NAMES)))
        words = [clean(get(body, n)) for n in ("Message", "Detail")]
        parts.extend(p for p in [kind.strip(), *words] if p)
    elif isinstance(body, str):
        parts.append(clean(body))
    parts.extend(said)
    return clean("; ".join(p for p in parts if p), MAX_RAW)


def retry_seconds(headers: Mapping[str, str], default: float | None, cap: float) -> float | None:
    """Retry-After in seconds (numeric form), else `default`; at most `cap`."""
    value = header(headers, "Retry-After")
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        return default
    return min(seconds, cap)


def refusal(status: int | None, said: list[str], source_id: str | None, raw: str) -> Reading:
    """A validation refusal: lock date, contact, account, or Xero's messages joined."""
    sid = source_id or "this record"
    joined = clean("; ".join(said), MAX_RAW) or "no reason given"
    lowered = [m.lower() for m in said]
    names_account = any("account code" in m or "accountcode" in m for m in lowered)
    names_contact = any("contact" in m for m in lowered)
    lock = next((m for m in said if "lock date" in m.lower()), None)
    if lock is not None:
        found = LOCK_DATE.search(lock[lock.lower().index("lock date") :])
        message = messages.lock_date_message(found.group(0) if found else None)
    elif names_contact and not names_account:
        message = messages.contact_refused(sid, joined)
    elif names_account and not names_contact:
        message = messages.account_refused(sid, joined)
    else:
        message = messages.refused_message(sid, joined)
    kind = ErrorClass.NEEDS_ATTENTION
    return Reading(Verdict.REFUSED, kind, status, message, raw, None, names_contact, names_account)


def read_element(element: dict[str, Any], *, source_id: str) -> Reading:
    """One element of a 200 answer to `PUT /Invoices?summarizeErrors=false`."""
    state = clean(get(element, "StatusAttributeString"), 20).upper()
    said = validation_messages(element)
    if state == "ERROR" or get(element, "HasErrors") is True or said:
        return refusal(200, said, source_id, raw_words(200, None, said))
    noted = [f"WARNING {w}" for w in listed_messages(get(element, "Warnings"))]
    raw = raw_words(200, None, noted) if state == "WARNING" else ""
    found = invoice_id(element)
    if state in ("OK", "WARNING") and found is not None:
        return Reading(Verdict.BOOKED, None, 200, "", raw, invoice_id=found)
    said = [f"element {state or 'without a status'}, InvoiceID {'present' if found else 'missing'}"]
    raw = raw_words(200, None, said)
    return Reading(Verdict.LOOKUP, ErrorClass.TRANSIENT, 200, messages.uncertain_message(200), raw)


def read_reply(
    status: int,
    headers: Mapping[str, str],
    body: object,
    *,
    source_id: str | None,
    now: datetime | None = None,
) -> Reading:
    """A whole answer. `body` is the raw bytes (read here) or what `read_json` made of them.

    A 2xx carrying `Invoices` is BOOKED: read each element with `read_element`. `now` (UTC),
    if given, lets a daily-limit message name the time sending resumes."""
    if isinstance(body, bytes | bytearray):
        parsed = read_json(bytes(body))
        body = parsed if parsed is not None else bytes(body[:2000]).decode("utf-8", "replace")
    said = body_messages(body)
    raw = raw_words(status, body, said)
    words = raw.lower()
    if 200 <= status < 300:
        if isinstance(get(body, "Invoices"), list):
            return Reading(Verdict.BOOKED, None, status, "", "")
        return _uncertain(Verdict.LOOKUP, status, raw, None)
    if status == 429 or (status == 503 and "rate limit" in words):
        return _throttled(status, headers, raw, now)
    if status in (408, 409, 502, 503, 504):
        return _uncertain(Verdict.RESEND, status, raw, retry_seconds(headers, None, MAX_WAIT))
    if status == 400 and "idempotency" in words and ("different" in words or "reuse" in words):
        return _uncertain(Verdict.LOOKUP, status, raw, None)
    if status == 400 and said:
        return refusal(status, said, source_id, raw)
    if 400 <= status < 500:
        return _refused(status, body, raw)
    return _uncertain(Verdict.LOOKUP, status, raw, None)


def _uncertain(verdict: Verdict, status: int, raw: str, wait: float | None) -> Reading:
    message = messages.uncertain_message(status)
    return Reading(verdict, ErrorClass.TRANSIENT, status, message, raw, retry_after=wait)


def _throttled(status: int, headers: Mapping[str, str], raw: str, now: datetime | None) -> Reading:
    problem = (header(headers, "X-Rate-Limit-Problem") or "").strip().lower()
    if status == 429 and problem.startswith(("day", "daily")):
        pause = retry_seconds(headers, DAY_WAIT, MAX_DAY_WAIT) or DAY_WAIT
        message = (
            messages.day_limit_message(now + timedelta(seconds=pause))
            if now is not None
            else messages.DAY_LIMIT
        )
        return Reading(Verdict.DAY_LIMIT, ErrorClass.TRANSIENT, status, message, raw, pause)
    wait = retry_seconds(headers, 1.0, MAX_WAIT)
    message = messages.rate_limited(wait)
    return Reading(Verdict.RATE_LIMITED, ErrorClass.TRANSIENT, status, message, raw, wait)


def _refused(status: int, body: object, raw: str) -> Reading:
    """401, 403, 404 and a 4xx that lists no validation errors."""
    words = raw.lower()
    if status == 401:
        return Reading(Verdict.AUTH, ErrorClass.AUTH, status, messages.auth_expired(), raw)
    if status == 403 and ("organisationnotactive" in words or "subscription" in words):
        state = STATE.search(clean(get(body, "Detail")) or clean(body))
        message = messages.subscription(state.group(1).upper() if state else None)
        return Reading(Verdict.REFUSED, ErrorClass.NEEDS_ATTENTION, status, message, raw)
    if status == 403:
        return Reading(Verdict.AUTH, ErrorClass.AUTH, status, messages.no_permission(), raw)
    if status == 404:
        message = messages.NOT_FOUND
        return Reading(Verdict.NOT_FOUND, ErrorClass.NEEDS_ATTENTION, status, message, raw)
    said = clean(get(body, "Message")) or clean(body) or f"HTTP {status}"
    message = messages.malformed_message(said)
    return Reading(Verdict.REFUSED, ErrorClass.NEEDS_ATTENTION, status, message, raw)
