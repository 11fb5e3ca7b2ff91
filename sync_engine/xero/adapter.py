"""`XeroLedger`: the `Ledger` port on Xero (one ACCPAY invoice, a bill, per record).

Every write is noted in the send log before it leaves (its generation and time) and carries an
`Idempotency-Key` derived from the tenant, the record's key and that generation (contract
section 5). An answer that leaves the write uncertain is handled by `sending.Sending`: a
timeout, a reset, a 429 or a 502-504 is resent identically under the same key while the key's
window lasts (at most 3 times); a 500, a key conflict or a closed window is never resent under
that key: the record is looked up by its InvoiceNumber no earlier than `XERO_SETTLE_SECONDS`
after the last send, and sent anew under the next generation only if nothing of ours is booked
(`settling`).
The tenant's daily budget (`budget.DailyBudget`) is spent before every call; `paused` tells it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from storage.vocabulary import ErrorClass, Kind, Outcome
from sync_engine.contract import Posting
from sync_engine.credentials import (
    XERO,
    CredentialsError,
    TokenKeeper,
    Tokens,
    connection_statuses,
)
from sync_engine.errors import GatewayUnreachable
from sync_engine.ledger import LedgerLimits, LedgerPause
from sync_engine.ledger_groups import SendLogLedger, auth_failure, connected_company
from sync_engine.post_result import PostResult
from sync_engine.secret_box import SecretBox
from sync_engine.send_log import SendEntry, SendLog
from sync_engine.settings import Settings
from sync_engine.xero import invoices, messages
from sync_engine.xero.api import DayPaused, Lost, Unsent, XeroApi
from sync_engine.xero.budget import DailyBudget
from sync_engine.xero.invoices import Found
from sync_engine.xero.resolve import QueryFailed, Resolver, Unresolved
from sync_engine.xero.sending import Sending
from sync_engine.xero.settling import booked_id, query_failed, settle

MAX_NAME = 256


@dataclass(frozen=True)
class Prepared:
    """A record ready to send: its key, generation, ContactID and invoice object."""

    key: str
    posting: Posting
    generation: int
    contact_id: str
    invoice: dict[str, Any]
    resend: bool = False  # an unanswered send of this generation, sent again identically


class XeroLedger(SendLogLedger[Prepared]):
    """One Xero organisation as a `Ledger` (see the module's docstring)."""

    title = "Xero"
    noun = "bill"
    api: XeroApi

    def __init__(
        self,
        settings: Settings,
        send_log: SendLog,
        *,
        observe: Callable[[str, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        refresh: Callable[[str], Tokens] | None = None,
        monotonic: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        # XERO_TENANT_ID, or the one Xero organisation connected.
        self.tenant_id, problem = connected_company(
            settings.xero_tenant_id, XERO, send_log, "XERO_TENANT_ID"
        )
        limits = LedgerLimits(
            settings.xero_batch_size, settings.xero_concurrency, settings.xero_timeout_seconds
        )
        super().__init__(settings, send_log, f"{XERO}:{self.tenant_id}", limits, problem)
        if refresh is None:
            from sync_engine.xero.oauth import XeroOAuth

            oauth = XeroOAuth(settings, transport=transport)
            self.oauth, refresh = oauth, oauth.refresh
        box = SecretBox(settings.secret_key)
        keeper = TokenKeeper(
            send_log.database, box, XERO, self.tenant_id, refresh, clock=send_log.clock
        )
        self.budget = DailyBudget(
            send_log.database, self.scope, settings.xero_daily_budget, send_log.clock
        )
        self.sleep = sleep or time.sleep
        self.api = XeroApi(
            settings.xero_api_base_url,
            settings.xero_connections_url,
            self.tenant_id,
            keeper,
            self.budget,
            timeout=settings.xero_timeout_seconds,
            concurrency=settings.xero_concurrency,
            rate_per_minute=settings.xero_rate_per_minute,
            transport=transport,
            observe=observe,
            monotonic=monotonic or time.monotonic,
            sleep=self.sleep,
        )
        defaults: dict[str, str | None] = {
            Kind.REIMBURSEMENT: settings.xero_account_reimbursement,
            Kind.HONORARIUM: settings.xero_account_honorarium,
        }
        self.resolver = Resolver(self.api, defaults, clock=monotonic or time.monotonic)
        self.sending = Sending(self)

    @property
    def settle_seconds(self) -> float:
        """XERO_SETTLE_SECONDS: the wait after a send before an unanswered one is looked up."""
        return self._settings.xero_settle_seconds

    def organisation_name(self) -> str | None:
        """The organisation's name as stored when it was connected (None if unknown)."""
        for status in connection_statuses(self._log.database):
            if status.ledger == XERO and status.company_id == self.tenant_id:
                return status.company_name
        return None

    def paused(self) -> LedgerPause | None:
        """The tenant's day pause: its budget spent, or Xero's daily limit answered."""
        return self.budget.paused()

    def probe(self) -> str | None:
        """The organisation's name; GatewayUnreachable if Xero cannot say."""
        try:
            self.check_company()
            reply = self.api.get("/Organisation")
        except (Unsent, Lost, CredentialsError, DayPaused) as exc:
            raise GatewayUnreachable(f"Xero could not be probed: {exc}") from exc
        listed = reply.data.get("Organisations") if isinstance(reply.data, dict) else None
        if reply.status != 200 or not isinstance(listed, list) or not listed:
            raise GatewayUnreachable(f"Xero answered the probe with HTTP {reply.status}")
        name = listed[0].get("Name") if isinstance(listed[0], dict) else None
        return name[:MAX_NAME] if isinstance(name, str) else None

    # -- lookups ------------------------------------------------------------------------------

    def find(self, posting: Posting) -> tuple[Found, dict[str, Any] | None]:
        """What Xero holds under the record's InvoiceNumber (QueryFailed, Unsent, ...)."""
        number = invoices.invoice_number(posting.source_id)
        found = self.resolver.invoices(number)
        contact = self.resolver.cached_contact(posting.payee_id)
        return invoices.find_ours(posting, found, contact)

    def lookup(self, key: str) -> str | None:
        """The InvoiceID of the bill booked under `key`, or None (never sent, or no bill)."""
        return booked_id(self, key)

    def in_window(self, entry: SendEntry) -> bool:
        """Whether the key of this send may still be sent again (Xero still holds it)."""
        window = timedelta(seconds=self._settings.xero_key_window_seconds)
        return self._log.clock() < entry.first_sent_at + window

    # -- posting ------------------------------------------------------------------------------

    def may_resend(self, key: str, entry: SendEntry) -> bool:
        """Whether an unanswered single send may go again identically (`Sending.may_resend`)."""
        return self.sending.may_resend(key, entry)

    def settle_entry(self, key: str, posting: Posting, entry: SendEntry) -> PostResult | None:
        """Settle an unanswered send by lookup (`settling.settle`)."""
        return settle(self, key, posting, entry)

    def send(self, prepared: list[Prepared]) -> list[PostResult]:
        """One `PUT /Invoices` for the group (`sending.Sending`); one result per write."""
        return self.sending.send(prepared)

    def prepare(
        self, key: str, posting: Posting, generation: int, resend: bool = False
    ) -> Prepared | PostResult:
        """Resolve the contact and account and write the invoice; a failure result if not."""
        try:
            self.check_company()
            contact = self.resolver.contact(posting)
            account = self.resolver.account(posting)
            dates = invoices.invoice_dates(
                posting, self._settings.xero_ledger_timezone, self._settings.xero_due_days
            )
            body = invoices.invoice_body(
                posting,
                contact_id=contact,
                account_code=account,
                status=self._settings.xero_bill_status,
                dates=dates,
            )
        except (Unresolved, invoices.InvoiceRefused) as exc:
            return self.failed(key, str(exc), ErrorClass.NEEDS_ATTENTION)
        except QueryFailed as exc:
            return query_failed(self, key, exc)
        except (Unsent, Lost) as exc:  # a read: nothing was written
            return self.failed(key, f"Xero could not be asked: {exc}", ErrorClass.TRANSIENT)
        except DayPaused as exc:
            return self.day_paused(key, exc.pause)
        except CredentialsError as exc:
            return self.failed(key, auth_failure(messages.auth_expired(), exc), ErrorClass.AUTH)
        return Prepared(key, posting, generation, contact, body, resend)

    @staticmethod
    def failed(
        key: str,
        text: str,
        error_class: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> PostResult:
        """A definite failure: nothing was booked."""
        return PostResult(key, Outcome.FAILED, status, None, text, error_class, retry_after)

    def day_paused(self, key: str, pause: LedgerPause, said: str = "") -> PostResult:
        """Nothing booked: the tenant's day is spent (429, until the pause ends); `said`:
        Xero's own words when it answered the 429 (none when syncbot's budget refused)."""
        wait = self.budget.seconds_left(pause)
        text = f"{pause.reason} [{said}]" if said else pause.reason
        return self.failed(key, text, ErrorClass.TRANSIENT, 429, wait)
