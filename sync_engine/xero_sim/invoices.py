"""Checking and booking the invoices of one `PUT`/`POST /Invoices`, element by element."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sync_engine.xero_sim.org import Contact, Invoice, Organisation

TYPES = ("ACCPAY", "ACCREC")
STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
LINE_AMOUNT_TYPES = ("NoTax", "Exclusive", "Inclusive")
MAX_NUMBER = 255
MAX_DESCRIPTION = 4000
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")


class BadContactId(Exception):
    """A ContactID that is no GUID: Xero answers the whole request 500, not a validation error."""


@dataclass
class Element:
    """One invoice's answer element, and the bill it booked (None: refused)."""

    body: dict[str, Any]
    invoice: Invoice | None


def check_contact_ids(items: list[object]) -> None:
    """Raise BadContactId if any item names a ContactID that is not a GUID."""
    for item in items:
        contact = item.get("Contact") if isinstance(item, dict) else None
        cid = contact.get("ContactID") if isinstance(contact, dict) else None
        if cid is not None:
            try:
                uuid.UUID(str(cid))
            except ValueError as exc:
                raise BadContactId(str(cid)[:64]) from exc


def book_element(org: Organisation, item: object, today: date) -> Element:
    """Check one invoice and book it, or the element with its ValidationErrors."""
    if not isinstance(item, dict):
        return _refused({}, ["An invoice must be a JSON object"])
    errors: list[str] = []
    with org.lock:
        contact = _contact(org, item.get("Contact"), errors)
        lines, total = _lines(org, item.get("LineItems"), errors)
        fields = _fields(org, item, today, errors)
        if errors:
            return _refused(item, errors)
        if contact is None or fields is None:  # pragma: no cover - errors say why
            return _refused(item, ["The invoice is incomplete"])
        if contact.contact_id not in org.contacts:  # named by an unknown Name: Xero creates it
            org.contacts[contact.contact_id] = contact
            org.contacts_created += 1
        kind, number, day, due, currency, status, amounts = fields
        invoice = Invoice(kind, contact, number, day, due, currency, status, amounts, lines, total)
        org.book(invoice)
    body = invoice.to_json()
    warnings = _warnings(item, total)
    body["HasErrors"] = False
    body["StatusAttributeString"] = "WARNING" if warnings else "OK"
    if warnings:
        body["Warnings"] = [{"Message": w} for w in warnings]
    return Element(body, invoice)


def _refused(item: dict[str, Any], errors: list[str]) -> Element:
    echo: dict[str, Any] = {
        k: item[k] for k in ("Type", "InvoiceNumber", "Contact", "Date") if k in item
    }
    body: dict[str, Any] = {
        **echo,
        "HasErrors": True,
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": e} for e in errors],
    }
    return Element(body, None)


def _contact(org: Organisation, given: object, errors: list[str]) -> Contact | None:
    if not isinstance(given, dict) or not given:
        errors.append("A Contact must be specified for this type of transaction")
        return None
    cid = given.get("ContactID")
    if cid is not None:
        found = org.contacts.get(str(uuid.UUID(str(cid))))
        if found is None:
            errors.append(f"Contact with ContactID {cid} could not be found")
        elif found.status != "ACTIVE":
            errors.append(f"The contact {found.name} is archived and cannot be used")
        return found
    name = given.get("Name")
    if not isinstance(name, str) or not 0 < len(name.strip()) <= 255:
        errors.append("The Contact must have a ContactID or a Name of 1 to 255 characters")
        return None
    wanted = name.strip().lower()
    for contact in org.contacts.values():
        if contact.name.strip().lower() == wanted and contact.status == "ACTIVE":
            return contact
    return Contact(name.strip(), created_by_invoice=True)


def _amount(value: object, what: str, errors: list[str]) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        errors.append(f"{what} must be a number")
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        errors.append(f"{what} must be a number")
        return None
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or abs(amount) > MAX_AMOUNT or exponent < -4:
        errors.append(f"{what} must be a number of at most 4 decimals below {MAX_AMOUNT}")
        return None
    return amount


def _lines(
    org: Organisation, given: object, errors: list[str]
) -> tuple[list[dict[str, Any]], Decimal]:
    if not isinstance(given, list) or not 0 < len(given) <= 100:
        errors.append("An invoice must have 1 to 100 LineItems")
        return [], Decimal(0)
    lines, total = [], Decimal(0)
    for line in given:
        if not isinstance(line, dict):
            errors.append("A line item must be a JSON object")
            continue
        text = line.get("Description")
        if not isinstance(text, str) or not 0 < len(text) <= MAX_DESCRIPTION:
            errors.append(f"Description must be 1 to {MAX_DESCRIPTION} characters")
        quantity = _amount(line.get("Quantity", Decimal(1)), "Quantity", errors)
        unit = _amount(line.get("UnitAmount"), "UnitAmount", errors)
        code = line.get("AccountCode")
        account = org.accounts.get(code.lower()) if isinstance(code, str) else None
        if account is None or account.status != "ACTIVE":
            errors.append(f"Account code '{str(code)[:20]}' is not a valid code for this document.")
        if quantity is None or unit is None or account is None:
            continue
        amount = (quantity * unit).quantize(CENT)
        total += amount
        lines.append(
            {
                "LineItemID": str(uuid.uuid4()),
                "Description": text,
                "Quantity": quantity,
                "UnitAmount": unit,
                "AccountCode": account.code,
                "LineAmount": amount,
                "TaxAmount": Decimal("0.00"),
            }
        )
    return lines, total


def _day(value: object, what: str, errors: list[str]) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if isinstance(value, str) else None
    except ValueError:
        errors.append(f"{what} must be a date, YYYY-MM-DD")
        return None


def _fields(
    org: Organisation, item: dict[str, Any], today: date, errors: list[str]
) -> tuple[str, str, date, date | None, str, str, str] | None:
    kind = item.get("Type")
    if kind not in TYPES:
        errors.append(f"Type must be one of {', '.join(TYPES)}")
    number = item.get("InvoiceNumber", "")
    if not isinstance(number, str) or len(number) > MAX_NUMBER:
        errors.append(f"InvoiceNumber must be at most {MAX_NUMBER} characters")
    day = _day(item.get("Date"), "Date", errors) or today  # omitted: today, Xero's default
    due = _day(item.get("DueDate"), "DueDate", errors)
    if org.lock_date is not None and day <= org.lock_date:
        lock = org.lock_date.isoformat()
        errors.append(f"The document date cannot be before the period lock date of {lock}")
    currency = item.get("CurrencyCode", org.base_currency)
    if currency not in org.currencies:
        errors.append(f"The currency code {str(currency)[:8]} is not enabled for this organisation")
    status = item.get("Status", "DRAFT")
    if status not in STATUSES:
        errors.append(f"Status must be one of {', '.join(STATUSES)}")
    amounts = item.get("LineAmountTypes", "Exclusive")
    if amounts not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}")
    if errors:
        return None
    return str(kind), str(number), day, due, str(currency), str(status), str(amounts)


def _warnings(item: dict[str, Any], total: Decimal) -> list[str]:
    sent = item.get("Total")
    if isinstance(sent, Decimal) and sent != total:
        return [f"The Total {sent} differs from the line total {total} and was ignored"]
    return []
