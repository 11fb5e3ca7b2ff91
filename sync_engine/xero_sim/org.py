"""One Xero organisation (a tenant): its contacts, accounts, bills, lock date and status."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sync_engine.xero_sim.wire import xero_date

CONTACT_STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")
ACCOUNT_STATUSES = ("ACTIVE", "ARCHIVED")
INVOICE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
ORG_STATUSES = ("ACTIVE", "SUSPENDED", "CANCELLED")  # the subscription state
MAX_NAME = 255
MAX_ACCOUNT_NUMBER = 50


def _text(name: str, value: object, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        raise ValueError(f"{name} must be a string of {0 if empty else 1} to {limit} characters")
    return value


@dataclass
class Contact:
    """A contact: who a bill is owed to."""

    name: str
    account_number: str | None = None
    status: str = "ACTIVE"
    contact_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_by_invoice: bool = False

    def __post_init__(self) -> None:
        _text("Name", self.name, MAX_NAME)
        if self.account_number is not None:
            _text("AccountNumber", self.account_number, MAX_ACCOUNT_NUMBER)
        if self.status not in CONTACT_STATUSES:
            raise ValueError(f"ContactStatus must be one of {', '.join(CONTACT_STATUSES)}")

    def to_json(self) -> dict[str, Any]:
        """The contact as the API lists it."""
        body: dict[str, Any] = {
            "ContactID": self.contact_id,
            "ContactStatus": self.status,
            "Name": self.name,
        }
        if self.account_number is not None:
            body["AccountNumber"] = self.account_number
        return body


@dataclass
class Account:
    """An account of the chart of accounts, by its short code."""

    code: str
    name: str
    type: str = "EXPENSE"
    status: str = "ACTIVE"
    account_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        _text("Code", self.code, 10)
        _text("Name", self.name, 150)
        _text("Type", self.type, 30)
        if self.status not in ACCOUNT_STATUSES:
            raise ValueError(f"Status must be one of {', '.join(ACCOUNT_STATUSES)}")

    def to_json(self) -> dict[str, Any]:
        """The account as the API lists it."""
        return {
            "AccountID": self.account_id,
            "Code": self.code,
            "Name": self.name,
            "Type": self.type,
            "Status": self.status,
        }


@dataclass
class Invoice:
    """A booked invoice (a bill when ACCPAY)."""

    type: str
    contact: Contact
    number: str
    day: date
    due: date | None
    currency: str
    status: str
    line_amount_types: str
    lines: list[dict[str, Any]]
    total: Decimal
    invoice_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def to_json(self) -> dict[str, Any]:
        """The invoice as the API answers it."""
        body: dict[str, Any] = {
            "Type": self.type,
            "InvoiceID": self.invoice_id,
            "InvoiceNumber": self.number,
            "Contact": {"ContactID": self.contact.contact_id, "Name": self.contact.name},
            "Date": xero_date(self.day),
            "DateString": f"{self.day.isoformat()}T00:00:00",
            "Status": self.status,
            "LineAmountTypes": self.line_amount_types,
            "LineItems": self.lines,
            "SubTotal": self.total,
            "TotalTax": Decimal("0.00"),
            "Total": self.total,
            "CurrencyCode": self.currency,
        }
        if self.due is not None:
            body["DueDate"] = xero_date(self.due)
            body["DueDateString"] = f"{self.due.isoformat()}T00:00:00"
        return body


class Organisation:
    """A tenant's books; one lock guards contacts, accounts and bills."""

    def __init__(
        self,
        name: str = "Demo Company (US)",
        tenant_id: str | None = None,
        base_currency: str = "USD",
        currencies: tuple[str, ...] = (),
    ) -> None:
        self.name = _text("name", name, MAX_NAME)
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.base_currency = base_currency
        self.currencies = {base_currency, *currencies}
        self.lock_date: date | None = None
        self.status = "ACTIVE"
        self.lock = threading.RLock()
        self.contacts: dict[str, Contact] = {}
        self.accounts: dict[str, Account] = {}
        self.invoices: list[Invoice] = []
        self.by_number: dict[str, list[Invoice]] = {}  # lower-cased InvoiceNumber -> bills
        self.contacts_created = 0  # contacts made by an invoice naming an unknown Name

    def add_contact(self, name: str, **fields: Any) -> Contact:
        """Add a contact (`account_number`, `status` optional)."""
        contact = Contact(name, **fields)
        with self.lock:
            self.contacts[contact.contact_id] = contact
        return contact

    def add_account(self, code: str, name: str, **fields: Any) -> Account:
        """Add (or replace) the account with `code` (`type`, `status` optional)."""
        account = Account(code, name, **fields)
        with self.lock:
            self.accounts[code.lower()] = account
        return account

    def book(self, invoice: Invoice) -> None:
        """Store a bill."""
        with self.lock:
            self.invoices.append(invoice)
            self.by_number.setdefault(invoice.number.lower(), []).append(invoice)

    def set_status(self, invoice_id: str, status: str) -> Invoice:
        """Change a bill's status (a person voided, deleted or paid it); KeyError if unknown."""
        if status not in INVOICE_STATUSES:
            raise ValueError(f"Status must be one of {', '.join(INVOICE_STATUSES)}")
        with self.lock:
            for invoice in self.invoices:
                if invoice.invoice_id == invoice_id:
                    invoice.status = status
                    return invoice
        raise KeyError(f"no invoice {invoice_id[:64]}")

    def find_invoices(self, numbers: list[str]) -> list[Invoice]:
        """Bills whose InvoiceNumber is one of `numbers`, ignoring case (as Xero's filter may)."""
        with self.lock:
            seen = dict.fromkeys(n.lower() for n in numbers)
            return [i for n in seen for i in self.by_number.get(n, [])]

    def to_json(self) -> dict[str, Any]:
        """The `Organisation` element of `GET /Organisation`."""
        body: dict[str, Any] = {
            "Name": self.name,
            "BaseCurrency": self.base_currency,
            "OrganisationStatus": self.status,
            "OrganisationID": self.tenant_id,
        }
        if self.lock_date is not None:
            body["PeriodLockDate"] = xero_date(self.lock_date)
        return body

    def forget_invoices(self) -> None:
        """Drop every bill (contacts and accounts stay)."""
        with self.lock:
            self.invoices.clear()
            self.by_number.clear()
