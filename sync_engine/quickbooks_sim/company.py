"""One simulated QuickBooks company (a realm): its vendors, accounts, preferences and Bills."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

MARKER = "syncbot:"
# Name-list entities answer queries with their active members unless the query names `Active`.
EXPENSE_CLASSIFICATION = "Expense"


@dataclass
class Vendor:
    """A vendor the bookkeeper created."""

    id: str
    display_name: str
    acct_num: str | None = None
    active: bool = True
    currency: str = "USD"

    def entity(self) -> dict[str, Any]:
        """The Vendor as a query answers it."""
        body: dict[str, Any] = {
            "Id": self.id,
            "SyncToken": "0",
            "DisplayName": self.display_name,
            "PrintOnCheckName": self.display_name,
            "Active": self.active,
            "Vendor1099": False,
            "CurrencyRef": {"value": self.currency},
            "domain": "QBO",
            "sparse": False,
        }
        if self.acct_num is not None:
            body["AcctNum"] = self.acct_num
        return body


@dataclass
class Account:
    """An account of the chart of accounts."""

    id: str
    name: str
    acct_num: str | None = None
    classification: str = EXPENSE_CLASSIFICATION
    account_type: str = "Expense"
    active: bool = True

    def entity(self) -> dict[str, Any]:
        """The Account as a query answers it."""
        body: dict[str, Any] = {
            "Id": self.id,
            "SyncToken": "0",
            "Name": self.name,
            "FullyQualifiedName": self.name,
            "Active": self.active,
            "Classification": self.classification,
            "AccountType": self.account_type,
            "CurrentBalance": Decimal(0),
            "domain": "QBO",
            "sparse": False,
        }
        if self.acct_num is not None:
            body["AcctNum"] = self.acct_num
        return body


@dataclass
class Bill:
    """A booked Bill: the entity as answered, and when it was booked."""

    id: str
    doc_number: str | None
    vendor_id: str
    txn_date: date
    private_note: str
    total: Decimal
    currency: str
    entity: dict[str, Any]
    booked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def marker(self) -> str | None:
        """The source id of the `syncbot:` marker the note starts with, if it does."""
        if not self.private_note.startswith(MARKER):
            return None
        return self.private_note[len(MARKER) :].split(" ", 1)[0] or None


class Company:
    """A realm's state under one lock; ids come from one sequence, as QBO's do per company."""

    def __init__(
        self,
        realm_id: str,
        name: str = "Sandbox Company_US_1",
        home_currency: str = "USD",
        multicurrency: bool = False,
        country: str = "US",
    ) -> None:
        self.realm_id = realm_id
        self.name = name
        self.home_currency = home_currency
        self.multicurrency = multicurrency
        self.country = country
        self.closed_through: date | None = None
        self.active = True  # False: the subscription ended (6190 on every write)
        self.lock = threading.RLock()
        self.vendors: dict[str, Vendor] = {}
        self.accounts: dict[str, Account] = {}
        self.bills: dict[str, Bill] = {}
        # DocNumber -> its Bills' ids: lookups and the duplicate check stay cheap at scale.
        self.by_doc_number: dict[str, list[str]] = {}
        self._ids = itertools.count(100)

    def next_id(self) -> str:
        """The next entity id of this company."""
        with self.lock:
            return str(next(self._ids))

    def add_vendor(self, display_name: str, **fields: Any) -> Vendor:
        """Create a vendor (the bookkeeper's act; the adapter never does it)."""
        with self.lock:
            vendor = Vendor(self.next_id(), display_name, **fields)
            self.vendors[vendor.id] = vendor
            return vendor

    def add_account(self, name: str, **fields: Any) -> Account:
        """Create an account."""
        with self.lock:
            account = Account(self.next_id(), name, **fields)
            self.accounts[account.id] = account
            return account

    def add_bill(self, bill: Bill) -> None:
        """Keep a booked Bill."""
        with self.lock:
            self.bills[bill.id] = bill
            if bill.doc_number:
                self.by_doc_number.setdefault(bill.doc_number, []).append(bill.id)

    def bills_numbered(self, doc_number: str) -> list[Bill]:
        """The Bills with `doc_number`, oldest first."""
        with self.lock:
            return [
                self.bills[i] for i in self.by_doc_number.get(doc_number, []) if i in self.bills
            ]

    def forget_bills(self) -> None:
        """Forget every Bill (the double's reset)."""
        with self.lock:
            self.bills.clear()
            self.by_doc_number.clear()

    def all_bills(self) -> list[Bill]:
        """Every Bill, oldest first."""
        with self.lock:
            return sorted(self.bills.values(), key=lambda bill: int(bill.id))

    def info(self) -> dict[str, Any]:
        """The CompanyInfo entity."""
        return {
            "CompanyName": self.name,
            "LegalName": self.name,
            "Country": self.country,
            "Id": "1",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
        }

    def preferences(self) -> dict[str, Any]:
        """The Preferences entity, with the currency settings the adapter reads."""
        prefs: dict[str, Any] = {
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": self.multicurrency,
                "HomeCurrency": {"value": self.home_currency},
            },
            "Id": "1",
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
        }
        if self.closed_through is not None:
            prefs["AccountingInfoPrefs"] = {"BookCloseDate": self.closed_through.isoformat()}
        return prefs
