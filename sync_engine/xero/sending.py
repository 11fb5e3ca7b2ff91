"""Sending prepared invoices: one `PUT /Invoices`, resent identically while its key allows.

One record or a batch goes as one request with one `Idempotency-Key`. A timeout, a reset, a
429 or a 502-504 is resent identically under that key within the call (at most 3 times, while
the key's window lasts and the wait is short), or on the next attempt for a single record
(`may_resend`; an uncertain batch's items are settled one by one, never re-packed). A 500, a
key conflict or an element missing leaves the write to be settled by lookup (`XeroLedger.settle`).
Elements are matched by InvoiceNumber, never by position.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.credentials import CredentialsError
from sync_engine.ledger_groups import auth_failure
from sync_engine.post_result import PostResult
from sync_engine.send_log import SendEntry
from sync_engine.xero import invoices, messages
from sync_engine.xero.api import DayPaused, Lost, Reply, Unsent
from sync_engine.xero.faults import Reading, Verdict, read_element
from sync_engine.xero.settling import forbidden_text, read_answer, uncertain

if TYPE_CHECKING:
    from sync_engine.contract import Posting
    from sync_engine.xero.adapter import Prepared, XeroLedger

MAX_RESENDS = 3
MAX_INLINE_WAIT = 5.0  # seconds a post call waits before resending; longer: the next attempt
MISSING = "Xero's answer has no element for this bill"


@dataclass(frozen=True)
class _Sent:
    """What the last send of a key's generation allows: resends done, and whether more may go."""

    generation: int
    resends: int
    resendable: bool


class Sending:
    """Sends prepared invoices for one adapter, remembering (in this process) what each key's
    last send allows."""

    def __init__(self, ledger: XeroLedger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._sent: dict[str, _Sent] = {}

    def may_resend(self, key: str, entry: SendEntry) -> bool:
        """Whether an unanswered single send may go again identically (not looked up first)."""
        with self._lock:
            sent = self._sent.get(key)
        return (
            sent is not None
            and sent.generation == entry.generation
            and sent.resendable
            and sent.resends < MAX_RESENDS
            and self._ledger.in_window(entry)
        )

    def _remember(self, group: list[Prepared], resends: int, resendable: bool) -> None:
        with self._lock:
            for one in group:
                before = self._sent.get(one.key)
                done = resends + (before.resends if before and one.resend else 0)
                self._sent[one.key] = _Sent(one.generation, done, resendable and len(group) == 1)

    # -- one request ------------------------------------------------------------------------

    def send(self, group: list[Prepared]) -> list[PostResult]:
        """One result per prepared invoice, in order."""
        ledger = self._ledger
        if len(group) == 1:
            one = group[0]
            key = invoices.idempotency_key(ledger.tenant_id, one.key, one.generation)
            route = "posting"
        else:
            items = [(p.key, p.generation) for p in group]
            key, route = invoices.batch_key(ledger.tenant_id, items), "batch"
        body = invoices.request_body([p.invoice for p in group])
        try:
            reply, reading, resends = self._exchange(group, key, body, route)
        except (Unsent, CredentialsError, DayPaused) as exc:
            return self._unsent(group, exc)
        if reply is None or reading is None:
            self._remember(group, resends, resends < MAX_RESENDS)
            text = messages.uncertain_message(None)
            return [uncertain(self._ledger, p, text, None, resendable=True) for p in group]
        resendable = reading.verdict in (Verdict.RESEND, Verdict.RATE_LIMITED, Verdict.DAY_LIMIT)
        self._remember(group, resends, resendable and resends < MAX_RESENDS)
        if reading.verdict == Verdict.BOOKED:
            return self._elements(group, reply)
        return [self._whole(p, reading) for p in group]

    def _exchange(
        self, group: list[Prepared], key: str, body: bytes, route: str
    ) -> tuple[Reply | None, Reading | None, int]:
        """Send, resending identically while allowed; the last reply and its reading (None,
        None: no answer) and the resends made."""
        ledger = self._ledger
        resends = 0
        last: tuple[Reply | None, Reading | None] = (None, None)
        while True:
            ledger.note_sending(group)
            try:
                last = self._put(group, key, body, route)
            except (Unsent, CredentialsError, DayPaused):
                if resends == 0:
                    raise
                return last[0], last[1], resends  # a resend never left: the first is as it was
            reply, reading = last
            again = reading is None or reading.verdict in (Verdict.RESEND, Verdict.RATE_LIMITED)
            wait = (reading.retry_after if reading else None) or 1.0 * (resends + 1)
            if not again or resends >= MAX_RESENDS or wait > MAX_INLINE_WAIT:
                return reply, reading, resends
            entry = ledger.log.entry(ledger.scope, group[0].key)
            if entry is None or not ledger.in_window(entry):
                return reply, reading, MAX_RESENDS
            resends += 1
            ledger.sleep(wait)

    def _put(
        self, group: list[Prepared], key: str, body: bytes, route: str
    ) -> tuple[Reply | None, Reading | None]:
        """One PUT and its reading; (None, None) when it was sent and no answer came."""
        ledger = self._ledger
        try:
            reply = ledger.api.put("/Invoices", body, key, route)
        except Lost:
            return None, None
        source = group[0].posting.source_id if len(group) == 1 else None
        return reply, read_answer(ledger, reply, source)

    def _unsent(self, group: list[Prepared], exc: Exception) -> list[PostResult]:
        """Nothing left: fresh sends are noted answered; an earlier unanswered one stays so."""
        ledger = self._ledger
        ledger.note_answered([p.key for p in group if not p.resend])
        if isinstance(exc, DayPaused):
            return [ledger.day_paused(p.key, exc.pause) for p in group]
        if isinstance(exc, CredentialsError):
            text = auth_failure(messages.auth_expired(), exc)
            return [ledger.failed(p.key, text, ErrorClass.AUTH) for p in group]
        text = f"Xero could not be reached; nothing was sent: {exc}"
        return [ledger.failed(p.key, text, ErrorClass.TRANSIENT) for p in group]

    # -- answers ----------------------------------------------------------------------------

    def _elements(self, group: list[Prepared], reply: Reply) -> list[PostResult]:
        """A 2xx with `Invoices`: each prepared invoice read from the element of its number."""
        by_number: dict[str, dict[str, Any]] = {}
        for found in invoices.answer_invoices(reply.data):
            number = found.get("InvoiceNumber")
            if isinstance(number, str) and number not in by_number:
                by_number[number] = found
        results: list[PostResult] = []
        booked: list[str] = []
        refused: list[str] = []
        for one in group:
            element = by_number.get(one.invoice["InvoiceNumber"])
            if element is None:
                self._remember([one], MAX_RESENDS, False)
                results.append(
                    uncertain(self._ledger, one, MISSING, reply.status, resendable=False)
                )
                continue
            reading = read_element(element, source_id=one.posting.source_id)
            if reading.verdict == Verdict.BOOKED and reading.invoice_id is not None:
                booked.append(one.key)
                results.append(
                    PostResult(one.key, Outcome.SUCCEEDED, reply.status, reading.invoice_id)
                )
            elif reading.verdict == Verdict.REFUSED:
                refused.append(one.key)
                self._forget(one.posting, reading)
                results.append(self._failed(one, reading))
            else:
                self._remember([one], MAX_RESENDS, False)
                results.append(uncertain(self._ledger, one, reading.text, 200, resendable=False))
        self._ledger.note_answered(booked)
        self._ledger.note_answered(refused, next_generation=True)
        return results

    def _whole(self, one: Prepared, reading: Reading) -> PostResult:
        """An answer for the whole request, as one item's result."""
        ledger, verdict = self._ledger, reading.verdict
        if verdict in (Verdict.RESEND, Verdict.LOOKUP):
            return uncertain(
                self._ledger, one, reading.text, reading.status, verdict == Verdict.RESEND
            )
        if verdict in (Verdict.RATE_LIMITED, Verdict.DAY_LIMIT):
            # Left unanswered: nothing is booked [U], the same key may go again.
            pause = ledger.paused() if verdict == Verdict.DAY_LIMIT else None
            if pause is not None:  # Xero's own words follow, as in every fault row
                return ledger.day_paused(one.key, pause, reading.raw)
            wait = reading.retry_after or 1.0
            return ledger.failed(one.key, reading.text, ErrorClass.TRANSIENT, 429, wait)
        if verdict == Verdict.AUTH and reading.status == 403:
            ledger.note_answered([one.key])
            return ledger.failed(one.key, forbidden_text(ledger, reading), ErrorClass.AUTH, 403)
        refused = verdict == Verdict.REFUSED
        if refused:
            self._forget(one.posting, reading)
        ledger.note_answered([one.key], next_generation=refused)
        return self._failed(one, reading)

    def _failed(self, one: Prepared, reading: Reading) -> PostResult:
        error_class = reading.error_class or ErrorClass.NEEDS_ATTENTION
        return self._ledger.failed(one.key, reading.text, error_class, reading.status)

    def _forget(self, posting: Posting, reading: Reading) -> None:
        if reading.names_contact:
            self._ledger.resolver.forget_contact(posting.payee_id)
        if reading.names_account:
            self._ledger.resolver.forget_accounts()
