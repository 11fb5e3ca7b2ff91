"""Checking and booking one Bill, with the Faults QBO answers for each refusal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sync_engine.quickbooks_sim.company import Bill, Company
from sync_engine.quickbooks_sim.wire import QboFault, validation

MINOR_UNITS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "UGX": 0, "XAF": 0, "XOF": 0}
MINOR_UNITS.update(dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3))
MAX_AMOUNT = Decimal("99999999999")
MAX_LINES = 250
LIMITS = {"DocNumber": 21, "PrivateNote": 4000, "Description": 4000}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CURRENCY = re.compile(r"[A-Z]{3}")
INACTIVE = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


def business(detail: str) -> QboFault:
    """400 code 6000, QBO's catch-all business rule refusal."""
    return validation("6000", "A business validation error has occurred", detail)


def missing(element: str) -> QboFault:
    """400 code 2020: a required field is missing or not of its type."""
    detail = f"Required parameter {element} is missing in the request"
    return validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        detail,
        element,
    )


def _text(data: dict[str, Any], name: str, element: str | None = None) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise missing(element or name)
    limit = LIMITS[name]
    if len(value) > limit:
        detail = (
            "String length specified does not match the supported length. "
            f"Min:0 Max:{limit} supplied length:{len(value)}"
        )
        raise validation(
            "2050",
            "String length is either shorter or longer than supported by specification",
            detail,
            element or name,
        )
    return value


def _ref(data: object, name: str) -> str:
    ref = data.get(name) if isinstance(data, dict) else None
    value = ref.get("value") if isinstance(ref, dict) else None
    if not isinstance(value, str) or not 0 < len(value) <= 20:
        raise missing(name)
    return value


def _date(data: dict[str, Any], name: str, default: date) -> date:
    value = data.get(name)
    if value is None:
        return default
    try:
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise validation(
            "2010",
            "Request has invalid or unsupported property",
            f"{name}: {str(value)[:40]!r} is not a date yyyy-mm-dd",
            name,
        ) from None


@dataclass(frozen=True)
class Line:
    """One expense line as sent."""

    amount: Decimal
    account_id: str
    description: str | None


def _lines(data: dict[str, Any]) -> list[Line]:
    raw = data.get("Line")
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_LINES:
        raise missing("Line")
    lines = []
    for item in raw:
        if not isinstance(item, dict):
            raise missing("Line")
        if item.get("DetailType") != "AccountBasedExpenseLineDetail":
            raise validation(
                "2170",
                "Invalid Enumeration",
                f"Line.DetailType {str(item.get('DetailType'))[:40]!r} is not served by the double",
                "Line.DetailType",
            )
        amount = item.get("Amount")
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise missing("Line.Amount")
        account = _ref(item.get("AccountBasedExpenseLineDetail"), "AccountRef")
        lines.append(Line(amount, account, _text(item, "Description", "Line.Description")))
    return lines


def _check_amounts(lines: list[Line], currency: str) -> None:
    places = MINOR_UNITS.get(currency, 2)
    for line in lines:
        if line.amount <= 0 or line.amount > MAX_AMOUNT:
            raise business(
                f"Line amount {line.amount} must be greater than 0 and at most {MAX_AMOUNT}"
            )
        exponent = line.amount.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise business(
                f"Line amount {line.amount} has more decimals than {currency} allows ({places})"
            )


def _currency(company: Company, data: dict[str, Any], vendor_currency: str) -> str:
    ref = data.get("CurrencyRef")
    currency = company.home_currency if ref is None else _ref(data, "CurrencyRef")
    if not CURRENCY.fullmatch(currency):
        raise validation(
            "2170", "Invalid Enumeration", f"CurrencyRef {currency[:20]!r}", "CurrencyRef"
        )
    if not company.multicurrency and currency != company.home_currency:
        raise business(
            f"Multicurrency is off: a transaction in {currency} cannot be saved "
            f"in a {company.home_currency} company"
        )
    if company.multicurrency and currency != vendor_currency:
        raise business(
            f"The transaction currency {currency} must match "
            f"the vendor's currency {vendor_currency}"
        )
    return currency


def _check_refs(company: Company, vendor_id: str, lines: list[Line]) -> tuple[str, dict[str, str]]:
    vendor = company.vendors.get(vendor_id)
    if vendor is None:
        raise validation(
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : Names element id {vendor_id} not found",
            "VendorRef",
        )
    if not vendor.active:
        raise validation("610", "Object Not Found", INACTIVE, "VendorRef")
    names = {}
    for line in lines:
        account = company.accounts.get(line.account_id)
        if account is None:
            raise validation(
                "2500",
                "Invalid Reference Id",
                f"Invalid Reference Id : Accounts element id {line.account_id} not found",
                "AccountRef",
            )
        if not account.active:
            raise validation("610", "Object Not Found", INACTIVE, "AccountRef")
        names[account.id] = account.name
    return vendor.currency, names


def book(company: Company, data: object, today: date, duplicate_check: bool) -> Bill:
    """Check `data` as QBO checks a Bill create and book it, or raise the QboFault it answers."""
    if not isinstance(data, dict):
        raise validation(
            "2010", "Request has invalid or unsupported property", "the body must be a Bill object"
        )
    if not company.active:
        raise validation(
            "6190",
            "Invalid Company Status",
            "Subscription period has ended or canceled or there was a billing problem",
        )
    vendor_id, lines = _ref(data, "VendorRef"), _lines(data)
    doc_number, note = _text(data, "DocNumber"), _text(data, "PrivateNote") or ""
    txn_date = _date(data, "TxnDate", today)
    due_date = _date(data, "DueDate", txn_date)
    with company.lock:
        vendor_currency, account_names = _check_refs(company, vendor_id, lines)
        currency = _currency(company, data, vendor_currency)
        _check_amounts(lines, currency)
        if company.closed_through is not None and txn_date <= company.closed_through:
            # As integrators quote it: the closing date is not in the Fault, only in Preferences.
            detail = (
                "The account period has closed and the account books cannot be updated through "
                "the QBO Services API. Please use the QBO website to make these changes."
            )
            message = "Account Period Closed, Cannot update through Services API"
            raise validation("6210", message, detail, "TxnDate")
        if duplicate_check and doc_number:
            _check_duplicate(company, vendor_id, doc_number)
        bill_id = company.next_id()
        total = sum((line.amount for line in lines), Decimal(0))
        entity = _entity(
            company, bill_id, data, lines, account_names, currency, total, txn_date, due_date
        )
        bill = Bill(bill_id, doc_number, vendor_id, txn_date, note, total, currency, entity)
        company.add_bill(bill)
        return bill


def _check_duplicate(company: Company, vendor_id: str, doc_number: str) -> None:
    for bill in company.bills_numbered(doc_number):
        if bill.vendor_id == vendor_id:
            detail = (
                "You must specify a different number. This number has already been used. "
                f"DocNumber={doc_number} is assigned to TxnType=Bill with TxnId={bill.id}"
            )
            raise validation("6140", "Duplicate Document Number Error", detail, "DocNumber")


def _entity(
    company: Company,
    bill_id: str,
    data: dict[str, Any],
    lines: list[Line],
    names: dict[str, str],
    currency: str,
    total: Decimal,
    txn_date: date,
    due_date: date,
) -> dict[str, Any]:
    vendor = company.vendors[_ref(data, "VendorRef")]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    entity: dict[str, Any] = {"Id": bill_id, "SyncToken": "0", "domain": "QBO", "sparse": False}
    if data.get("DocNumber"):
        entity["DocNumber"] = data["DocNumber"]
    entity.update(
        {
            "TxnDate": txn_date.isoformat(),
            "DueDate": due_date.isoformat(),
            "CurrencyRef": {"value": currency},
            "PrivateNote": data.get("PrivateNote") or "",
            "Line": [_line(index, line, names) for index, line in enumerate(lines, start=1)],
            "VendorRef": {"value": vendor.id, "name": vendor.display_name},
            "APAccountRef": {"value": "33", "name": "Accounts Payable (A/P)"},
            "TotalAmt": total,
            "Balance": total,
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        }
    )
    return entity


def _line(index: int, line: Line, names: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": str(index),
        "LineNum": index,
        "Amount": line.amount,
        "DetailType": "AccountBasedExpenseLineDetail",
    }
    if line.description is not None:
        body["Description"] = line.description
    body["AccountBasedExpenseLineDetail"] = {
        "AccountRef": {"value": line.account_id, "name": names[line.account_id]},
        "BillableStatus": "NotBillable",
        "TaxCodeRef": {"value": "NON"},
    }
    return body
