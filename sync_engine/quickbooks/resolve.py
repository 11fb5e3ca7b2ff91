"""Vendors, accounts and the company's currency preferences, found by query and cached.

The adapter never creates a vendor or an account (contract section 3): when none fits, the
record fails `needs_attention` with a message saying what to set up in QuickBooks. A query
QBO refuses with code 4000 (a field it will not filter on) skips that step. Threads asking
for the same vendor, account or preferences at once share one query (`SingleFlight`); a
failed query is shared with them but never cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from storage.vocabulary import ErrorClass
from sync_engine.contract import Posting
from sync_engine.quickbooks.api import QboApi, Reply
from sync_engine.quickbooks.bills import doc_number, escape_literal, is_ours
from sync_engine.quickbooks.faults import Fault, raw_text, read_faults, verdict_of
from sync_engine.resolving import CachedResolver, Unresolved
from sync_engine.single_flight import SingleFlight

ACCOUNT_TTL = 600.0
PREFERENCES_TTL = 3600.0
EXPENSE_TYPES = ("Expense", "Other Expense", "Cost of Goods Sold")
MAX_ENTITIES = 1000


class QueryFailed(Exception):
    """A query was answered with an error (its class decides what the posting becomes)."""

    def __init__(self, reply: Reply, faults: list[Fault]) -> None:
        self.reply, self.faults = reply, faults
        self.error_class = verdict_of(reply.status, faults)[1]
        super().__init__(raw_text(reply.status, faults, reply.tid))


def vendor_message(posting: Posting) -> str:
    """The admin's message for a payee with no active vendor (contract section 3)."""
    pid, name = posting.payee_id, posting.payee_name
    return (
        f"QuickBooks has no active vendor with account no. '{pid}' or named '{name}': create "
        f"(or reactivate) the vendor, or enter {pid} as its account no., then retry."
    )


def account_message(code: str, source_id: str) -> str:
    """The admin's message for an account code with no active expense account (section 4)."""
    return (
        f"QuickBooks has no active expense account with number or name '{code}': fix the "
        f"account code on {source_id} or the chart of accounts, then retry."
    )


@dataclass(frozen=True)
class Currency:
    """The company's currency preferences."""

    multicurrency: bool
    home: str
    book_close_date: str | None


class Resolver(CachedResolver[QboApi]):
    """One realm's vendor, account and preference lookups, with their caches."""

    def _new_caches(self) -> None:
        self._vendors: dict[str, str] = {}
        self._accounts: dict[str, tuple[str, float]] = {}
        self._prefs: tuple[Currency, float] | None = None
        # One preferences read at a time (cold cache); vendors and accounts: `resolved`.
        self._prefs_flight: SingleFlight[Currency] = SingleFlight()

    def _entities(
        self, entity: str, field: str, literal: str, skippable: bool = True
    ) -> list[dict[str, Any]] | None:
        """The entities a one-field query finds; None if QBO refuses that filter (4000) and
        the step may be skipped (never for a lookup: "not found" would mean "send again")."""
        statement = f"select * from {entity} where {field} = '{escape_literal(literal)}'"
        reply = self._api.query(statement)
        faults = read_faults(reply.body)
        refused_filter = reply.status == 400 and faults and faults[0].code == "4000"
        if refused_filter and skippable and field != "Id":
            return None
        if reply.status != 200 or faults or not isinstance(reply.body, dict):
            raise QueryFailed(reply, faults)
        found = (reply.body.get("QueryResponse") or {}).get(entity) or []
        return [e for e in found[:MAX_ENTITIES] if isinstance(e, dict)]

    def bill_of(self, source_id: str) -> dict[str, Any] | None:
        """The Bill numbered for `source_id` whose note carries its marker (the oldest if
        several); Bills with the number but not the marker are not ours."""
        found = self._entities("Bill", "DocNumber", doc_number(source_id), skippable=False) or []
        ours = [b for b in found if is_ours(b.get("PrivateNote"), source_id)]
        return min(ours, key=lambda b: str(b.get("Id")).zfill(20)) if ours else None

    def vendor(self, posting: Posting) -> str:
        """The Id of the one active vendor of the payee (by AcctNum, then by DisplayName)."""
        return self.resolved(
            ("vendor", posting.payee_id),
            partial(self.cached_vendor, posting.payee_id),
            partial(self._find_vendor, posting),
            vendor_message(posting),
        )

    def _find_vendor(self, posting: Posting) -> str | None:
        """Ask QuickBooks for the payee's vendor (one thread per payee at a time); cache it."""
        for field, literal in (("AcctNum", posting.payee_id), ("DisplayName", posting.payee_name)):
            found = self._entities("Vendor", field, literal)
            active = [e for e in found or [] if e.get("Active", True) is True]
            if len(active) == 1 and isinstance(active[0].get("Id"), str):
                with self._lock:
                    self._vendors[posting.payee_id] = active[0]["Id"]
                return str(active[0]["Id"])
        return None

    def cached_vendor(self, payee_id: str) -> str | None:
        """The vendor Id cached for a payee, if any (no query)."""
        with self._lock:
            return self._vendors.get(payee_id)

    def forget_vendor(self, payee_id: str) -> None:
        """Drop a cached vendor Id (QBO answered 2500 or 610 for it)."""
        with self._lock:
            self._vendors.pop(payee_id, None)

    def account(self, posting: Posting) -> str:
        """The Id of the one active expense account the record's code names."""
        code = self.account_code(posting)
        if not code:
            raise Unresolved(
                f"No QuickBooks account is set for {posting.kind} records: give {posting.source_id}"
                f" an account code or set QBO_ACCOUNT_{posting.kind.upper()}, then retry."
            )
        return self.resolved(
            ("account", code),
            lambda: self._cached_account(code, self._clock()),
            partial(self._find_account, code),
            account_message(code, posting.source_id),
        )

    def _cached_account(self, code: str, now: float) -> str | None:
        with self._lock:
            cached = self._accounts.get(code)
        return cached[0] if cached is not None and now - cached[1] < ACCOUNT_TTL else None

    def _find_account(self, code: str) -> str | None:
        """Ask QuickBooks for the code's account (one thread per code at a time); cache it."""
        now = self._clock()
        steps = (
            [("Id", code[3:])] if code.startswith("id:") else [("AcctNum", code), ("Name", code)]
        )
        for field, literal in steps:
            found = self._entities("Account", field, literal)
            fits = [e for e in found or [] if e.get("Active", True) is True and _expense(e)]
            if len(fits) == 1 and isinstance(fits[0].get("Id"), str):
                with self._lock:
                    self._accounts[code] = (fits[0]["Id"], now)
                return str(fits[0]["Id"])
            if found:
                break  # found, but inactive, not an expense or several: not a name to guess at
        return None

    def forget_accounts(self) -> None:
        """Drop cached account Ids (QBO answered 2500 or 610 for an account)."""
        with self._lock:
            self._accounts.clear()

    def currency(self, fresh: bool = False) -> Currency:
        """The company's currency preferences (cached an hour; `fresh` asks again)."""
        cached = None if fresh else self._cached_currency(self._clock())
        if cached is not None:
            return cached
        # A fresh read joins only fresh reads: a cached-or-not read may predate the caller's cause.
        return self._prefs_flight.run(("preferences", fresh), partial(self._read_currency, fresh))

    def _cached_currency(self, now: float) -> Currency | None:
        with self._lock:
            cached = self._prefs
        return cached[0] if cached is not None and now - cached[1] < PREFERENCES_TTL else None

    def _read_currency(self, fresh: bool) -> Currency:
        """Read the preferences from QuickBooks (one thread at a time); cache them."""
        now = self._clock()
        cached = None if fresh else self._cached_currency(now)
        if cached is not None:
            return cached  # read by the call just before this one
        reply = self._api.get("/preferences")
        faults = read_faults(reply.body)
        prefs = reply.body.get("Preferences") if isinstance(reply.body, dict) else None
        if reply.status != 200 or faults or not isinstance(prefs, dict):
            raise QueryFailed(reply, faults)
        currency = prefs.get("CurrencyPrefs") or {}
        home = (currency.get("HomeCurrency") or {}).get("value")
        closed = (prefs.get("AccountingInfoPrefs") or {}).get("BookCloseDate")
        found = Currency(
            currency.get("MultiCurrencyEnabled") is True,
            home if isinstance(home, str) else "USD",
            closed if isinstance(closed, str) else None,
        )
        with self._lock:
            self._prefs = (found, now)
        return found

    def bill_currency(self, posting: Posting) -> str | None:
        """The CurrencyRef to send (None: multicurrency off and the home currency)."""
        prefs = self.currency()
        if prefs.multicurrency:
            return posting.currency
        if posting.currency != prefs.home:
            raise Unresolved(
                f"QuickBooks has multicurrency off and its home currency is {prefs.home}: "
                f"{posting.source_id} is in {posting.currency}. Turn multicurrency on in "
                "QuickBooks or correct the record, then retry."
            )
        return None


def _expense(entity: dict[str, Any]) -> bool:
    return entity.get("Classification") == "Expense" or entity.get("AccountType") in EXPENSE_TYPES


__all__ = ["Currency", "ErrorClass", "QueryFailed", "Resolver", "Unresolved"]
