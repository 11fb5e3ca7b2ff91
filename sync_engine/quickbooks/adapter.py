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
from datetime import timedelta
from typing import Any

import httpx

from storage.vocabulary import ErrorClass, Kind, Outcome
from sync_engine.contract import Posting
from sync_engine.credentials import QUICKBOOKS, CredentialsError, TokenKeeper, Tokens
from sync_engine.errors import GatewayUnreachable
from sync_engine.ledger import LedgerLimits, LedgerPause
from sync_engine.post_result import PostResult
from sync_engine.quickbooks import bills
from sync_engine.quickbooks.api import Lost, Pace, QboApi, Reply, Unsent
from sync_engine.quickbooks.faults import Fault, Verdict, raw_text, read_faults, verdict_of
from sync_engine.quickbooks.messages import AUTH_EXPIRED, admin_message, duplicate_message
from sync_engine.quickbooks.oauth import QuickBooksOAuth
from sync_engine.quickbooks.resolve import QueryFailed, Resolver, Unresolved
from sync_engine.secret_box import SecretBox
from sync_engine.send_log import SendEntry, SendLog
from sync_engine.settings import Settings

MAX_ID_CHARS = 64


@dataclass(frozen=True)
class Prepared:
    """A record ready to send: its key, generation and Bill body."""

    key: str
    posting: Posting
    generation: int
    body: dict[str, Any]


def _bill_id(body: object) -> str | None:
    bill = body.get("Bill") if isinstance(body, dict) else None
    found = bill.get("Id") if isinstance(bill, dict) else None
    return found if isinstance(found, str) and 0 < len(found) <= MAX_ID_CHARS else None


class QuickBooksLedger:
    """One QuickBooks company as a `Ledger` (see the module's docstring)."""

    def __init__(
        self,
        settings: Settings,
        send_log: SendLog,
        *,
        observe: Callable[[str, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        refresh: Callable[[str], Tokens] | None = None,
    ) -> None:
        # Without QBO_REALM_ID no connection is found: every call fails `auth` (not connected),
        # and the engine still starts (so that `syncbot connect quickbooks` can be run).
        self.realm_id = settings.qbo_realm_id
        self._settings, self._log = settings, send_log
        self._scope = f"{QUICKBOOKS}:{self.realm_id}"
        self._oauth: QuickBooksOAuth | None = None
        if refresh is None:
            self._oauth = QuickBooksOAuth(settings)
            refresh = self._oauth.refresh
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
        self._limits = LedgerLimits(
            settings.qbo_batch_size, settings.qbo_concurrency, settings.qbo_timeout_seconds
        )

    @property
    def limits(self) -> LedgerLimits:
        """Items per batch, requests at once and the request timeout, as configured."""
        return self._limits

    def reserve(self) -> None:
        """Take this thread's next slot under the rate limit now."""
        self.api.limiter.reserve()

    def paused(self) -> LedgerPause | None:
        """Never: this ledger imposes no pause of its own (its limits answer 429)."""
        return None

    def close(self) -> None:
        """Close the connection pools."""
        self.api.close()
        if self._oauth is not None:
            self._oauth.close()

    def probe(self) -> str | None:
        """The company's name from CompanyInfo; GatewayUnreachable if QuickBooks cannot say."""
        try:
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
        entry = self._log.entry(self._scope, key)
        if entry is None:
            return None
        wait = self._wait(entry)
        if wait > 0 and not entry.answered:
            raise GatewayUnreachable(
                f"QuickBooks cannot tell yet: the last send may still be booking (ask again"
                f" in {wait:.0f} s)"
            )
        try:
            bill = self.find_ours(entry.source_id)
        except (Unsent, Lost, QueryFailed, CredentialsError) as exc:
            raise GatewayUnreachable(f"the QuickBooks lookup failed: {exc}") from exc
        return None if bill is None else _bill_id({"Bill": bill})

    def _wait(self, entry: SendEntry) -> float:
        settle = timedelta(seconds=self._settings.qbo_settle_seconds)
        return (entry.last_sent_at + settle - self._log.clock()).total_seconds()

    # -- posting ------------------------------------------------------------------------------

    def post(self, key: str, posting: Posting) -> PostResult:
        """Post one record as one Bill (looking up first if an earlier send is unanswered)."""
        return self.post_batch([(key, posting)])[0]

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        """Post records (batches of `QBO_BATCH_SIZE`); one result per item, in the order given."""
        results: list[PostResult] = []
        size = self._limits.max_batch
        for start in range(0, len(items), size):
            results.extend(self._post_group(items[start : start + size]))
        return results

    def _post_group(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        from sync_engine.quickbooks.sending import Sending

        entries = self._log.entries(self._scope, [key for key, _ in items])
        done: dict[int, PostResult] = {}
        ready: list[tuple[int, Prepared]] = []
        for index, (key, posting) in enumerate(items):
            entry = entries.get(key)
            generation = entry.generation if entry is not None else 0
            if entry is not None and not entry.answered:
                settled = self.settle_entry(key, posting, entry)
                if settled is not None:
                    done[index] = settled
                    continue
                generation += 1  # none of ours: the next send is a new request
            prepared = self._prepare(key, posting, generation)
            if isinstance(prepared, PostResult):
                done[index] = prepared
            else:
                ready.append((index, prepared))
        sent = Sending(self).send([p for _, p in ready]) if ready else []
        for (index, _), result in zip(ready, sent, strict=True):
            done[index] = result
        return [done[i] for i in range(len(items))]

    def _prepare(self, key: str, posting: Posting, generation: int) -> Prepared | PostResult:
        """Resolve the vendor, account and currency and write the Bill; a failure result if not."""
        try:
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
            return self.failed(key, f"{AUTH_EXPIRED} ({exc})", ErrorClass.AUTH)
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

    def uncertain(self, key: str, posting: Posting, text: str, status: int | None) -> PostResult:
        """A write that may have been booked: looked up now if the settle time is 0, else later."""
        entry = self._log.entry(self._scope, key)
        if entry is not None and self._wait(entry) <= 0:
            settled = self.settle_entry(key, posting, entry)
            if settled is not None:
                return settled
            note = f"{text}; the lookup found nothing booked (sent again on the next attempt)"
            return PostResult(key, Outcome.FAILED, status, None, note, ErrorClass.TRANSIENT)
        wait = self._wait(entry) if entry is not None else self._settings.qbo_settle_seconds
        note = f"{text}; QuickBooks is asked for the Bill in {max(wait, 0):.0f} s before any resend"
        return PostResult(
            key, Outcome.UNCERTAIN, status, None, note, ErrorClass.TRANSIENT, max(wait, 0.0)
        )

    def settle_entry(self, key: str, posting: Posting, entry: SendEntry) -> PostResult | None:
        """Settle an unanswered send by lookup: its result, or None if nothing was booked."""
        wait = self._wait(entry)
        if wait > 0:
            text = (
                "an earlier send is unanswered: QuickBooks is asked for the Bill in"
                f" {wait:.0f} s before any resend"
            )
            return PostResult(key, Outcome.UNCERTAIN, None, None, text, ErrorClass.TRANSIENT, wait)
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
                key, Outcome.UNCERTAIN, None, None, f"{AUTH_EXPIRED} ({exc})", ErrorClass.AUTH
            )
        if bill is None:
            self._log.answered(self._scope, [key], next_generation=True)
            return None
        return self._booked(key, posting, bill)

    def _booked(self, key: str, posting: Posting, bill: dict[str, Any]) -> PostResult:
        bill_id = _bill_id({"Bill": bill})
        differs = self._differences(posting, bill)
        if differs or bill_id is None:
            # Left unanswered on purpose: every later attempt looks up again, never resends.
            text = (
                f"QuickBooks has Bill {bill_id} for {posting.source_id}, but its "
                f"{', '.join(differs) or 'Id'} differ from the record (edited by hand?): check "
                "the Bill, then resolve the record by hand."
            )
            return PostResult(key, Outcome.FAILED, 200, None, text, ErrorClass.NEEDS_ATTENTION)
        self._log.answered(self._scope, [key])
        return PostResult(key, Outcome.SUCCEEDED, 200, bill_id, "found booked by lookup")

    def _differences(self, posting: Posting, bill: dict[str, Any]) -> list[str]:
        txn_date = bills.bill_dates(
            posting, self._settings.qbo_ledger_timezone, self._settings.qbo_due_days
        )[0]
        vendor = self.resolver.cached_vendor(posting.payee_id)
        return bills.differences(posting, bill, txn_date, vendor)

    # -- answers ------------------------------------------------------------------------------

    def read_answer(
        self,
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
        bill_id = _bill_id(body)
        if 200 <= status < 300 and not faults:
            if bill_id is None:
                return self.uncertain(
                    key, posting, f"QuickBooks answered {status} unreadably", status
                )
            if booked is None:
                self._log.answered(self._scope, [key])
            else:
                booked.append(key)
            return PostResult(key, Outcome.SUCCEEDED, status, bill_id)
        verdict, error_class = verdict_of(status, faults)
        text = self.fault_text(prepared, status, faults, tid, retry_after)
        if verdict == Verdict.UNCERTAIN:
            return self.uncertain(key, posting, text, status)
        if verdict == Verdict.DUPLICATE:
            return self._duplicate(prepared, status, faults, tid)
        self._forget(faults, posting.payee_id)
        refused = verdict in (Verdict.REFUSED, Verdict.TOO_LARGE)
        self._log.answered(self._scope, [key], next_generation=refused)
        reply = Reply(status, body, tid, retry_after)
        return self.failed(key, text, error_class, reply)

    def _duplicate(
        self, prepared: Prepared, status: int, faults: list[Fault], tid: str | None
    ) -> PostResult:
        entry = self._log.entry(self._scope, prepared.key)
        if entry is not None:
            try:
                bill = self.find_ours(prepared.posting.source_id)
            except (Unsent, Lost, QueryFailed, CredentialsError) as exc:
                text = f"QuickBooks reported a duplicate number and the lookup failed: {exc}"
                return PostResult(
                    prepared.key, Outcome.UNCERTAIN, status, None, text, ErrorClass.TRANSIENT
                )
            if bill is not None:
                return self._booked(prepared.key, prepared.posting, bill)
        self._log.answered(self._scope, [prepared.key], next_generation=True)
        number = bills.doc_number(prepared.posting.source_id)
        message = duplicate_message(number, faults[0] if faults else None)
        text = f"{message} [{raw_text(status, faults, tid)}]"
        return PostResult(
            prepared.key, Outcome.FAILED, status, None, text, ErrorClass.NEEDS_ATTENTION
        )

    def _forget(self, faults: list[Fault], payee_id: str) -> None:
        if any(fault.code in ("2500", "610") for fault in faults):
            self.resolver.forget_accounts()
            self.resolver.forget_vendor(payee_id)

    def fault_text(
        self,
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
                close_date = self.resolver.currency(fresh=True).book_close_date
            except (Unsent, Lost, QueryFailed, CredentialsError):
                close_date = None
        message = admin_message(
            status,
            faults,
            prepared.posting,
            account_code=self.resolver.account_code(prepared.posting),
            close_date=close_date,
            txn_date=str(prepared.body.get("TxnDate", "")),
            retry_after=retry_after,
        )
        return f"{message} [{raw_text(status, faults, tid)}]"

    def note_sending(self, prepared: list[Prepared]) -> None:
        """Persist each write's generation and time before it leaves."""
        self._log.sending(
            self._scope, [(p.key, p.posting.source_id, p.generation) for p in prepared]
        )

    def note_answered(self, keys: list[str], *, next_generation: bool = False) -> None:
        """Writes answered (booked, or refused: `next_generation`, the next send is new)."""
        self._log.answered(self._scope, keys, next_generation=next_generation)
