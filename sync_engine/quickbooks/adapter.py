"""`QuickBooksLedger`: the `Ledger` port on QuickBooks Online (one Bill per record).

Every write is noted in the send log before it leaves (its generation and time). A write whose
outcome is uncertain (no answer, a 5xx, 600, an unreadable 2xx, a batch item missing or
answered with a SystemFault) is never sent again before a lookup: not before
`QBO_SETTLE_SECONDS` after it was sent, the adapter asks QBO for Bills with its DocNumber and
takes the one whose note carries the record's marker as booked; finding none, it sends again
under the next generation (a new `requestid`). `requestid` is always sent, never relied on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from storage.vocabulary import ErrorClass, Kind, Outcome
from sync_engine.contract import Posting
from sync_engine.credentials import QUICKBOOKS, CredentialsError, TokenKeeper, Tokens
from sync_engine.errors import GatewayUnreachable
from sync_engine.ledger import LedgerLimits, LedgerPause
from sync_engine.ledger_groups import SendLogLedger, auth_failure, connected_company
from sync_engine.post_result import PostResult
from sync_engine.quickbooks import bills
from sync_engine.quickbooks.answers import bill_id_of
from sync_engine.quickbooks.api import Lost, Pace, QboApi, Reply, Unsent
from sync_engine.quickbooks.faults import raw_text, read_faults
from sync_engine.quickbooks.messages import AUTH_EXPIRED, admin_message
from sync_engine.quickbooks.oauth import QuickBooksOAuth
from sync_engine.quickbooks.resolve import QueryFailed, Resolver, Unresolved
from sync_engine.secret_box import SecretBox
from sync_engine.send_log import SendEntry, SendLog
from sync_engine.settings import Settings


@dataclass(frozen=True)
class Prepared:
    """A record ready to send: its key, generation and Bill body."""

    key: str
    posting: Posting
    generation: int
    body: dict[str, Any]


class QuickBooksLedger(SendLogLedger[Prepared]):
    """One QuickBooks company as a `Ledger` (see the module's docstring)."""

    title = "QuickBooks"
    noun = "Bill"
    api: QboApi
    oauth: QuickBooksOAuth | None

    def __init__(
        self,
        settings: Settings,
        send_log: SendLog,
        *,
        observe: Callable[[str, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        refresh: Callable[[str], Tokens] | None = None,
    ) -> None:
        # QBO_REALM_ID, or the one company connected. Without either every call fails `auth`
        # (not connected), and the engine still starts (so that `syncbot connect` can be run).
        self.realm_id, problem = connected_company(
            settings.qbo_realm_id, QUICKBOOKS, send_log, "QBO_REALM_ID"
        )
        limits = LedgerLimits(
            settings.qbo_batch_size, settings.qbo_concurrency, settings.qbo_timeout_seconds
        )
        super().__init__(settings, send_log, f"{QUICKBOOKS}:{self.realm_id}", limits, problem)
        self.oauth = None
        if refresh is None:
            self.oauth = QuickBooksOAuth(settings)
            refresh = self.oauth.refresh
        keeper = TokenKeeper(
            send_log.database,
            SecretBox(settings.secret_key),
            QUICKBOOKS,
            self.realm_id,
            refresh,
            clock=send_log.clock,
        )
        pace = Pace(
            settings.qbo_concurrency,
            settings.qbo_rate_per_second,
            settings.qbo_rate_per_minute,
            settings.qbo_batch_per_minute,
        )
        self.api = QboApi(
            settings.qbo_api_base_url,
            self.realm_id,
            keeper,
            minor_version=settings.qbo_minor_version,
            timeout=settings.qbo_timeout_seconds,
            pace=pace,
            transport=transport,
            observe=observe,
        )
        defaults: dict[str, str | None] = {
            Kind.REIMBURSEMENT: settings.qbo_account_reimbursement,
            Kind.HONORARIUM: settings.qbo_account_honorarium,
        }
        self.resolver = Resolver(self.api, defaults)

    @property
    def settle_seconds(self) -> float:
        """QBO_SETTLE_SECONDS: the wait after a send before an unanswered one is looked up."""
        return self._settings.qbo_settle_seconds

    def paused(self) -> LedgerPause | None:
        """Never: this ledger imposes no pause of its own (its limits answer 429)."""
        return None

    def probe(self) -> str | None:
        """The company's name from CompanyInfo; GatewayUnreachable if QuickBooks cannot say."""
        try:
            self.check_company()
            reply = self.api.get(f"/companyinfo/{self.realm_id}")
        except (Unsent, Lost, CredentialsError) as exc:
            raise GatewayUnreachable(f"QuickBooks could not be probed: {exc}") from exc
        info = reply.body.get("CompanyInfo") if isinstance(reply.body, dict) else None
        if reply.status != 200 or not isinstance(info, dict):
            faults = read_faults(reply.body)
            raise GatewayUnreachable(raw_text(reply.status, faults, reply.tid))
        name = info.get("CompanyName")
        return name[:256] if isinstance(name, str) else None

    # -- lookups ------------------------------------------------------------------------------

    def find_ours(self, source_id: str) -> dict[str, Any] | None:
        """The Bill with this record's DocNumber and marker, if QuickBooks has one."""
        return self.resolver.bill_of(source_id)

    def lookup(self, key: str) -> str | None:
        """The Id of the Bill booked under `key`, or None (nothing was ever sent, or no Bill)."""
        entry = self.entry_to_look_up(key)
        if entry is None:
            return None
        try:
            bill = self.find_ours(entry.source_id)
        except (Unsent, Lost, QueryFailed, CredentialsError) as exc:
            raise GatewayUnreachable(f"the QuickBooks lookup failed: {exc}") from exc
        return None if bill is None else bill_id_of({"Bill": bill})

    # -- posting ------------------------------------------------------------------------------

    def send(self, prepared: list[Prepared]) -> list[PostResult]:
        """One create, or one batch call (`sending.Sending`); one result per write, in order."""
        from sync_engine.quickbooks.sending import Sending

        return Sending(self).send(prepared)

    def prepare(
        self, key: str, posting: Posting, generation: int, resend: bool = False
    ) -> Prepared | PostResult:
        """Resolve the vendor, account and currency and write the Bill; a failure result if not."""
        try:
            self.check_company()
            vendor = self.resolver.vendor(posting)
            account = self.resolver.account(posting)
            currency = self.resolver.bill_currency(posting)
            dates = bills.bill_dates(
                posting, self._settings.qbo_ledger_timezone, self._settings.qbo_due_days
            )
            body = bills.bill_body(
                posting, vendor_id=vendor, account_id=account, currency=currency, dates=dates
            )
        except (Unresolved, bills.BillRefused) as exc:
            return self.failed(key, str(exc), ErrorClass.NEEDS_ATTENTION)
        except QueryFailed as exc:
            return self.failed(key, self.query_text(exc, posting), exc.error_class, exc.reply)
        except (Unsent, Lost) as exc:  # a read: nothing was written
            return self.failed(key, f"QuickBooks could not be asked: {exc}", ErrorClass.TRANSIENT)
        except CredentialsError as exc:
            return self.failed(key, auth_failure(AUTH_EXPIRED, exc), ErrorClass.AUTH)
        return Prepared(key, posting, generation, body)

    def query_text(self, exc: QueryFailed, posting: Posting) -> str:
        """The failure text of a query answered with an error."""
        message = admin_message(
            exc.reply.status,
            exc.faults,
            posting,
            account_code=self.resolver.account_code(posting),
            close_date=None,
            txn_date="",
            retry_after=exc.reply.retry_after,
        )
        return f"{message} [{exc}]"

    @staticmethod
    def failed(key: str, text: str, error_class: str, reply: Reply | None = None) -> PostResult:
        """A definite failure: nothing was booked."""
        status = reply.status if reply is not None else None
        retry_after = reply.retry_after if reply is not None else None
        if status == 429 and retry_after is None:
            retry_after = 60.0
        return PostResult(key, Outcome.FAILED, status, None, text, error_class, retry_after)

    # -- settling -----------------------------------------------------------------------------

    def settle_entry(self, key: str, posting: Posting, entry: SendEntry) -> PostResult | None:
        """Settle an unanswered send by lookup: its result, or None if nothing was booked."""
        waiting = self.not_settled(key, entry)
        if waiting is not None:
            return waiting
        try:
            bill = self.find_ours(posting.source_id)
        except QueryFailed as exc:
            text = f"the lookup before a resend failed: {exc}"
            return PostResult(key, Outcome.UNCERTAIN, exc.reply.status, None, text, exc.error_class)
        except (Unsent, Lost) as exc:
            text = f"the lookup before a resend failed: {exc}"
            return PostResult(key, Outcome.UNCERTAIN, None, None, text, ErrorClass.TRANSIENT)
        except CredentialsError as exc:
            return PostResult(
                key, Outcome.UNCERTAIN, None, None, auth_failure(AUTH_EXPIRED, exc), ErrorClass.AUTH
            )
        if bill is None:
            self.note_answered([key], next_generation=True)
            return None
        return self.found_result(key, posting, bill)

    def found_result(self, key: str, posting: Posting, bill: dict[str, Any]) -> PostResult:
        """A lookup's Bill as a result; one that differs stays unanswered on purpose."""
        bill_id = bill_id_of({"Bill": bill})
        differs = self._differences(posting, bill)
        if differs or bill_id is None:
            # Left unanswered on purpose: every later attempt looks up again, never resends.
            text = (
                f"QuickBooks has Bill {bill_id} for {posting.source_id}, but its "
                f"{', '.join(differs) or 'Id'} differ from the record (edited by hand?): check "
                "the Bill, then resolve the record by hand."
            )
            return PostResult(key, Outcome.FAILED, 200, None, text, ErrorClass.NEEDS_ATTENTION)
        self.note_answered([key])
        return PostResult(key, Outcome.SUCCEEDED, 200, bill_id, "found booked by lookup")

    def _differences(self, posting: Posting, bill: dict[str, Any]) -> list[str]:
        txn_date = bills.bill_dates(
            posting, self._settings.qbo_ledger_timezone, self._settings.qbo_due_days
        )[0]
        vendor = self.resolver.cached_vendor(posting.payee_id)
        return bills.differences(posting, bill, txn_date, vendor)
