"""What an uncertain or refused write becomes: settling by lookup, and reading failed reads.

An unanswered send is looked up by its InvoiceNumber no earlier than `XERO_SETTLE_SECONDS`
after the last send (contract section 5): our bill booked is a success; nothing of ours moves
the key to its next generation (the next send is a new request); a bill that differs, or one
a person deleted or voided, is `needs_attention` and left unanswered, so that every later
attempt looks up again and never sends. A 403 re-reads the connections to tell an
organisation no longer connected from a lack of permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.contract import Posting
from sync_engine.credentials import CredentialsError
from sync_engine.errors import GatewayUnreachable
from sync_engine.post_result import PostResult
from sync_engine.send_log import SendEntry
from sync_engine.xero import invoices, messages
from sync_engine.xero.api import DayPaused, Lost, Reply, Unsent
from sync_engine.xero.faults import Reading, Verdict, read_reply
from sync_engine.xero.invoices import Found
from sync_engine.xero.oauth import ConnectionsUnreachable, read_tenants
from sync_engine.xero.resolve import QueryFailed

if TYPE_CHECKING:
    from sync_engine.xero.adapter import Prepared, XeroLedger


def settle(ledger: XeroLedger, key: str, posting: Posting, entry: SendEntry) -> PostResult | None:
    """Settle an unanswered send by lookup: its result, or None if nothing was booked."""
    waiting = ledger.not_settled(key, entry)
    if waiting is not None:
        return waiting
    try:
        found, invoice = ledger.find(posting)
    except DayPaused as exc:
        return ledger.day_paused(key, exc.pause)
    except (Unsent, Lost, QueryFailed, CredentialsError) as exc:
        text = f"the lookup before a resend failed: {exc}"
        error_class = ErrorClass.AUTH if isinstance(exc, CredentialsError) else ErrorClass.TRANSIENT
        return PostResult(key, Outcome.UNCERTAIN, None, None, text, error_class)
    if found == Found.OTHER or invoice is None:
        ledger.note_answered([key], next_generation=True)
        return None
    return found_result(ledger, key, posting, found, invoice)


def found_result(
    ledger: XeroLedger, key: str, posting: Posting, found: Found, invoice: dict[str, Any]
) -> PostResult:
    """A lookup's bill as a result; a differing or removed bill stays unanswered on purpose."""
    number = invoices.invoice_number(posting.source_id)
    invoice_id = invoices.invoice_id(invoice)
    if found == Found.BOOKED and invoice_id is not None:
        ledger.note_answered([key])
        return PostResult(key, Outcome.SUCCEEDED, 200, invoice_id, "found booked by lookup")
    if found == Found.REMOVED:
        text = messages.removed_message(number, str(invoice.get("Status")))
    else:
        text = messages.differs_message(number)
    return PostResult(key, Outcome.FAILED, 200, None, text, ErrorClass.NEEDS_ATTENTION)


def uncertain(
    ledger: XeroLedger, one: Prepared, text: str, status: int | None, resendable: bool
) -> PostResult:
    """A write that may be booked: sent again identically (resendable, within the window)
    or looked up once settled (at once when the settle time is 0)."""
    entry = ledger.log.entry(ledger.scope, one.key)
    if entry is not None and resendable and ledger.sending.may_resend(one.key, entry):
        note = f"{text}; sent again with the same Idempotency-Key on the next attempt"
        return PostResult(one.key, Outcome.UNCERTAIN, status, None, note, ErrorClass.TRANSIENT, 1.0)
    return ledger.settle_later(one.key, one.posting, text, status, entry)


def query_failed(ledger: XeroLedger, key: str, exc: QueryFailed) -> PostResult:
    """A read before the write answered with an error: nothing was written."""
    reply = exc.reply
    reading = read_answer(ledger, reply, None)
    pause = ledger.paused() if reading.verdict == Verdict.DAY_LIMIT else None
    if pause is not None:
        return ledger.day_paused(key, pause, reading.raw)
    if reading.verdict == Verdict.AUTH and reply.status == 403:
        return ledger.failed(key, forbidden_text(ledger, reading), ErrorClass.AUTH, 403)
    error_class = reading.error_class or ErrorClass.TRANSIENT
    if reading.verdict in (Verdict.RESEND, Verdict.LOOKUP):
        error_class = ErrorClass.TRANSIENT
    retry = reading.retry_after if reply.status == 429 else None
    return ledger.failed(key, reading.text, error_class, reply.status, retry)


def read_answer(ledger: XeroLedger, reply: Reply, source_id: str | None) -> Reading:
    """A reply of Xero's API, read (its parsed body, else its bytes) as of the budget's now."""
    data = reply.data if reply.data is not None else (reply.body or b"")
    return read_reply(
        reply.status, reply.headers, data, source_id=source_id, now=ledger.budget.now()
    )


def forbidden_text(ledger: XeroLedger, reading: Reading) -> str:
    """403: the tenant no longer connected, or a lack of permission (connections re-read)."""
    try:
        reply = ledger.api.connections()
        tenants = read_tenants(reply.body or b"") if reply.status == 200 else None
    except (Unsent, Lost, CredentialsError, ConnectionsUnreachable):
        tenants = None
    if tenants is not None and all(t.tenant_id != ledger.tenant_id for t in tenants):
        name = ledger.organisation_name() or ledger.tenant_id
        return f"{messages.tenant_gone(name)} [{reading.raw}]"
    return reading.text


def booked_id(ledger: XeroLedger, key: str) -> str | None:
    """The InvoiceID booked under `key` (the engine's lookup), or None; GatewayUnreachable when
    Xero cannot tell (yet)."""
    entry = ledger.entry_to_look_up(key)
    if entry is None:
        return None
    number = invoices.invoice_number(entry.source_id)
    try:
        ledger.check_company()
        found = ledger.resolver.invoices(number)
    except (Unsent, Lost, QueryFailed, CredentialsError, DayPaused) as exc:
        raise GatewayUnreachable(f"the Xero lookup failed: {exc}") from exc
    for invoice in found:
        ours = invoice.get("InvoiceNumber") == number and invoice.get("Type") == "ACCPAY"
        if ours and invoice.get("Status") in invoices.BOOKED_STATUSES:
            return invoices.invoice_id(invoice)
    return None
