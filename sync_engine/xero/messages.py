"""The admin's messages for Xero (contract sections 3, 4 and 7): what to fix, and where.

Each says what happened and what the admin does next, naming the record's source id where the
contract's table does. Xero's own words are kept apart (`faults.Reading.raw`) and follow the
message in brackets (`Reading.text`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sync_engine.contract import Posting

NOT_FOUND = "Xero answered 404: check XERO_API_BASE_URL."
DAY_LIMIT = (
    "Xero's daily API limit for this organisation is used up; syncing resumes by itself later."
)
MAX_NAME = 120  # characters of a name or number quoted in a message


def _q(text: str) -> str:
    """A name quoted in a message, cut to a bound."""
    return text[:MAX_NAME]


def auth_expired() -> str:
    """401 after one refresh, or a refused refresh token. The command comes early (an outage
    alert shows the reason's first 200 characters); after the reconnect the records parked by
    the auth failure return to the queue without a Retry All (as QuickBooks' AUTH_EXPIRED)."""
    return (
        "Xero access expired or was revoked: reconnect syncbot to Xero (`syncbot connect xero`):"
        " the records it stopped return to the queue by themselves."
    )


def tenant_gone(organisation: str) -> str:
    """403 AuthenticationUnsuccessful, and the tenant is no longer in the connections."""
    return (
        f"Xero organisation '{_q(organisation)}' is no longer connected to syncbot: reconnect it."
    )


def no_permission() -> str:
    """403 AuthenticationUnsuccessful while the tenant is still connected."""
    return (
        "syncbot lacks permission in Xero (scope or user role): reconnect with an adviser or"
        " standard user."
    )


def subscription(state: str | None) -> str:
    """403 OrganisationNotActive: the organisation's Xero subscription is suspended or ended."""
    which = f" ({_q(state)})" if state else ""
    return (
        f"The Xero organisation's subscription is not active{which}: every posting fails until"
        " it is renewed in Xero; then retry all."
    )


def day_limit_message(resume_at: datetime) -> str:
    """429 with `X-Rate-Limit-Problem: day`: the tenant's daily call budget is spent."""
    at = resume_at.astimezone(UTC).strftime("%H:%M UTC on %Y-%m-%d")  # a day pause may end tomorrow
    return (
        "Xero's daily API limit for this organisation is used up; syncing resumes by itself at"
        f" about {at}."
    )


def contact_missing(posting: Posting) -> str:
    """No active contact has the payee's account number or name (section 3)."""
    pid, name = _q(posting.payee_id), _q(posting.payee_name)
    return (
        f"Xero has no active contact with account number '{pid}' or name '{name}': add the"
        f" contact in Xero (enter {pid} as its account number), then retry."
    )


def account_missing(code: str, source_id: str) -> str:
    """No active, non-bank account has the record's account code (section 4)."""
    return (
        f"Xero has no active account with code '{_q(code)}': fix the account code on"
        f" {source_id} or Xero's chart of accounts, then retry."
    )


def differs_message(number: str) -> str:
    """A bill with our number that differs from the record (section 5)."""
    return (
        f"Xero has a bill numbered {number} that differs from this record: check it in Xero;"
        " resolve the record by hand if it is this one."
    )


def removed_message(number: str, status: str) -> str:
    """Our bill, deleted or voided by a person in Xero: never re-posted by itself."""
    return (
        f"Xero has this record's bill {number}, but it was {_q(status)} in Xero: syncbot will"
        " not post it again by itself; check it in Xero and resolve the record by hand."
    )


def refused_message(source_id: str, said: str) -> str:
    """A validation refusal (element ERROR or a 400 ValidationException)."""
    return f"Xero refused the bill for {source_id}: {said}"


def contact_refused(source_id: str, said: str) -> str:
    """A validation refusal naming the contact (unknown or archived)."""
    return (
        f"Xero refused the bill for {source_id}: its contact is unknown or archived in Xero"
        f" ({said}): restore the contact in Xero or give the payee's active contact its"
        " account number, then retry."
    )


def account_refused(source_id: str, said: str) -> str:
    """A validation refusal naming the account code (unknown or archived)."""
    return (
        f"Xero refused the bill for {source_id}: its account code is not an active account in"
        f" Xero ({said}): fix the account code on {source_id} or Xero's chart of accounts,"
        " then retry."
    )


def lock_date_message(lock_date: str | None) -> str:
    """A date on or before the organisation's period or end-of-year lock date."""
    covers = lock_date or "this bill's date"
    return f"Xero's lock date covers {covers}: an adviser can move it, then retry."


def malformed_message(said: str) -> str:
    """A 400 with no elements: Xero could not read the request (a syncbot bug)."""
    return f"Xero could not read syncbot's request (a syncbot bug; please report it): {said}"


def rate_limited(seconds: float | None = None) -> str:
    """429 (per minute, or any problem but the day's): nothing booked, sent again after
    `seconds` (Xero's Retry-After) with the same Idempotency-Key."""
    after = f"after {seconds:.0f} s" if seconds is not None else "shortly"
    return (
        "Xero asked syncbot to slow down (rate limit); nothing was booked: the bill is sent"
        f" again with the same Idempotency-Key {after}."
    )


def uncertain_message(status: int | None) -> str:
    """An answer that leaves it unknown whether the bill was booked."""
    what = f"Xero answered {status}" if status is not None else "Xero did not answer"
    return f"{what}; syncbot checks whether the bill was booked before sending it again."
