"""The admin's messages for QuickBooks' faults (contract section 7), with Intuit's words kept.

Each failure text is the message (what to fix in QuickBooks) followed, in brackets, by what
Intuit said: status, type, code, Message, Detail and `intuit_tid`, cut to a bound.
"""

from __future__ import annotations

from sync_engine.contract import Posting
from sync_engine.quickbooks.faults import Fault, is_closed_books, raw_text, txn_id
from sync_engine.quickbooks.resolve import account_message, vendor_message

# The command early (an outage alert shows the reason's first 200 characters); after the
# reconnect the records parked by the auth failure return to the queue without a Retry All.
AUTH_EXPIRED = (
    "QuickBooks access expired or was revoked: reconnect syncbot to QuickBooks (`syncbot connect"
    " quickbooks`): the records it stopped return to the queue by themselves."
)
ADMIN_LOST = (
    "The QuickBooks user who connected syncbot lost admin rights or app access: "
    "reconnect as an admin."
)
NOT_FOUND = "QuickBooks answered 404: check QBO_API_BASE_URL and the realm id."
SUBSCRIPTION = (
    "The QuickBooks subscription has ended or is unpaid: every posting fails until it is renewed."
)
DATA_CODES = ("2010", "2020", "2050", "2170", "4000")


def with_raw(message: str, status: int | None, faults: list[Fault], tid: str | None) -> str:
    """The admin's message, then Intuit's own words in brackets."""
    return f"{message} [{raw_text(status, faults, tid)}]"


def duplicate_message(doc_number: str, fault: Fault | None) -> str:
    """A DocNumber QuickBooks already has on a transaction syncbot did not make."""
    found = txn_id(fault) if fault is not None else None
    which = f" (TxnId {found}, from the error detail)" if found else ""
    return (
        f"QuickBooks already has a transaction numbered {doc_number}{which} that syncbot did "
        "not make: if it is this record, resolve it by hand; otherwise renumber that "
        "transaction, then retry."
    )


def closed_message(close_date: str | None, txn_date: str) -> str:
    """Books closed through a date on or after the Bill's."""
    when = close_date or f"a period including {txn_date}"
    return (
        f"QuickBooks books are closed for {when}: reopen the period or move the closing "
        "date, then retry."
    )


def _reference(fault: Fault, posting: Posting, account_code: str | None) -> str:
    # The element names the reference; without one, the Detail's "Accounts element id ...".
    element = fault.element.lower()
    about_account = "account" in element if element else "accounts element" in fault.detail.lower()
    if about_account:
        return account_message(account_code or "?", posting.source_id)
    if fault.code == "610":
        return (
            f"The QuickBooks vendor of '{posting.payee_name}' (account no. '{posting.payee_id}')"
            " is inactive in QuickBooks: reactivate it, or create the vendor, then retry."
        )
    return vendor_message(posting)


def admin_message(
    status: int,
    faults: list[Fault],
    posting: Posting,
    *,
    account_code: str | None,
    close_date: str | None,
    txn_date: str,
    retry_after: float | None = None,
) -> str:
    """What the admin reads for this answer (without Intuit's words)."""
    fault = faults[0] if faults else Fault("", "", "", "", "")
    code, said = fault.code, fault.detail or fault.message or "no detail given"
    if status == 401:
        return AUTH_EXPIRED
    if status == 403 or code in ("120", "3100"):
        return ADMIN_LOST
    if status == 404:
        return NOT_FOUND
    if status == 429 or code == "3001":
        wait = 60 if retry_after is None else round(retry_after)
        return (
            f"QuickBooks is throttling syncbot (429): nothing was booked; retrying after {wait} s."
        )
    if status >= 500 or code == "600":
        return (
            f"QuickBooks answered {status} {code}".rstrip()
            + ": the Bill may be booked; syncbot looks it up before sending again."
        )
    if code in ("2500", "610"):
        return _reference(fault, posting, account_code)
    if code == "6210" and is_closed_books(fault):
        return closed_message(close_date, txn_date)
    if code == "6190":
        return SUBSCRIPTION
    if code in DATA_CODES:
        return (
            f"QuickBooks refused the Bill for {posting.source_id} (a syncbot or data bug): {said}"
        )
    return f"QuickBooks refused the Bill for {posting.source_id}: {said}"
