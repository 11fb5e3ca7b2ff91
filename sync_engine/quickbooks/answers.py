"""What QuickBooks answered a write: a Bill booked, a Fault to explain, a duplicate number.

`read_answer` reads one write's answer (a single create, or one batch item): a Bill with an Id
is booked; an unreadable 2xx or a SystemFault leaves the write uncertain (`uncertain`); a
duplicate DocNumber is looked up (ours is booked, another's fails `needs_attention`); any other
Fault fails with the admin's message and Intuit's words in brackets (`fault_text`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.credentials import CredentialsError
from sync_engine.post_result import PostResult
from sync_engine.quickbooks import bills
from sync_engine.quickbooks.api import Lost, Reply, Unsent
from sync_engine.quickbooks.faults import Fault, Verdict, raw_text, read_faults, verdict_of
from sync_engine.quickbooks.messages import admin_message, duplicate_message
from sync_engine.quickbooks.resolve import QueryFailed

if TYPE_CHECKING:
    from sync_engine.quickbooks.adapter import Prepared, QuickBooksLedger

MAX_ID_CHARS = 64


def bill_id_of(body: object) -> str | None:
    """The Id of the Bill in an answer (`{"Bill": {...}}`), if it is a plausible one."""
    bill = body.get("Bill") if isinstance(body, dict) else None
    found = bill.get("Id") if isinstance(bill, dict) else None
    return found if isinstance(found, str) and 0 < len(found) <= MAX_ID_CHARS else None


def read_answer(
    ledger: QuickBooksLedger,
    prepared: Prepared,
    status: int,
    body: object,
    tid: str | None,
    retry_after: float | None = None,
    booked: list[str] | None = None,
) -> PostResult:
    """One write's answer (a single create, or one batch item) as a result; the keys of
    Bills booked are noted answered now, or added to `booked` for the caller to note."""
    key, posting = prepared.key, prepared.posting
    faults = read_faults(body)
    bill_id = bill_id_of(body)
    if 200 <= status < 300 and not faults:
        if bill_id is None:
            return ledger.uncertain(
                key, posting, f"QuickBooks answered {status} unreadably", status
            )
        if booked is None:
            ledger.note_answered([key])
        else:
            booked.append(key)
        return PostResult(key, Outcome.SUCCEEDED, status, bill_id)
    verdict, error_class = verdict_of(status, faults)
    text = fault_text(ledger, prepared, status, faults, tid, retry_after)
    if verdict == Verdict.UNCERTAIN:
        return ledger.uncertain(key, posting, text, status)
    if verdict == Verdict.DUPLICATE:
        return _duplicate(ledger, prepared, status, faults, tid)
    _forget(ledger, faults, posting.payee_id)
    refused = verdict in (Verdict.REFUSED, Verdict.TOO_LARGE)
    ledger.note_answered([key], next_generation=refused)
    reply = Reply(status, body, tid, retry_after)
    return ledger.failed(key, text, error_class, reply)


def _duplicate(
    ledger: QuickBooksLedger, prepared: Prepared, status: int, faults: list[Fault], tid: str | None
) -> PostResult:
    entry = ledger.log.entry(ledger.scope, prepared.key)
    if entry is not None:
        try:
            bill = ledger.find_ours(prepared.posting.source_id)
        except (Unsent, Lost, QueryFailed, CredentialsError) as exc:
            text = f"QuickBooks reported a duplicate number and the lookup failed: {exc}"
            return PostResult(
                prepared.key, Outcome.UNCERTAIN, status, None, text, ErrorClass.TRANSIENT
            )
        if bill is not None:
            return ledger.found_result(prepared.key, prepared.posting, bill)
    ledger.note_answered([prepared.key], next_generation=True)
    number = bills.doc_number(prepared.posting.source_id)
    message = duplicate_message(number, faults[0] if faults else None)
    text = f"{message} [{raw_text(status, faults, tid)}]"
    return PostResult(prepared.key, Outcome.FAILED, status, None, text, ErrorClass.NEEDS_ATTENTION)


def _forget(ledger: QuickBooksLedger, faults: list[Fault], payee_id: str) -> None:
    if any(fault.code in ("2500", "610") for fault in faults):
        ledger.resolver.forget_accounts()
        ledger.resolver.forget_vendor(payee_id)


def fault_text(
    ledger: QuickBooksLedger,
    prepared: Prepared,
    status: int,
    faults: list[Fault],
    tid: str | None,
    retry_after: float | None = None,
) -> str:
    """The admin's message for a Fault, with Intuit's words in brackets."""
    close_date = None
    if faults and faults[0].code == "6210":
        try:
            close_date = ledger.resolver.currency(fresh=True).book_close_date
        except (Unsent, Lost, QueryFailed, CredentialsError):
            close_date = None
    message = admin_message(
        status,
        faults,
        prepared.posting,
        account_code=ledger.resolver.account_code(prepared.posting),
        close_date=close_date,
        txn_date=str(prepared.body.get("TxnDate", "")),
        retry_after=retry_after,
    )
    return f"{message} [{raw_text(status, faults, tid)}]"
