"""The Accounting API routes under /api.xro/2.0/: Invoices, Contacts, Accounts, Organisation.

Each function answers a request that passed the token, tenant, limit, fault and key checks.
"""

from __future__ import annotations

import random
import re
import time
from datetime import date
from typing import Any

from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.sim_json import loads
from sync_engine.xero_sim.invoices import BadContactId, Element, book_element, check_contact_ids
from sync_engine.xero_sim.org import Organisation
from sync_engine.xero_sim.wire import envelope, json_answer, server_error, text, validation

PREFIX = "/api.xro/2.0/"
MAX_WHERE = 500
MAX_NUMBERS = 100
_CLAUSE = re.compile(r'^\s*(\w+)\s*==\s*"([^"\\]{0,255})"\s*$')
CONTACT_FIELDS = {"Name": "name", "AccountNumber": "account_number", "ContactID": "contact_id"}


def resolve(request: Request) -> str | None:
    """The route ("PUT Invoices", "GET Contacts", ...) of an API path, or None."""
    if not request.path.startswith(PREFIX):
        return None
    resource, _, rest = request.path[len(PREFIX) :].rstrip("/").partition("/")
    if resource == "Invoices" and request.method in ("PUT", "POST") and not rest:
        return f"{request.method} Invoices"
    if request.method == "GET" and resource in ("Invoices", "Contacts", "Accounts", "Organisation"):
        return f"GET {resource}" if not rest else f"GET {resource}/id"
    return None


def invoice_numbers(request: Request) -> list[str | None]:
    """The InvoiceNumbers a write carries (for faults and the journal); [] if unreadable."""
    try:
        items = _items(loads(request.body))
    except ValueError:
        return []
    numbers = [i.get("InvoiceNumber") if isinstance(i, dict) else None for i in items]
    return [n if isinstance(n, str) else None for n in numbers]


def _items(data: object) -> list[object]:
    if isinstance(data, dict) and isinstance(data.get("Invoices"), list):
        return list(data["Invoices"])
    if isinstance(data, dict):
        return [data]  # Xero also takes one invoice, unwrapped
    raise ValueError('expected {"Invoices": [...]} or one invoice object')


def write(
    org: Organisation, request: Request, today: date, max_batch: int, rng: random.Random | None
) -> Answer:
    """PUT/POST /Invoices: book each valid invoice; per-element errors or a 400 of failures."""
    try:
        items = _items(loads(request.body))
    except ValueError as exc:
        return validation(str(exc))
    if not 0 < len(items) <= max_batch:
        return validation(f"send 1 to {max_batch} invoices per request")
    try:
        check_contact_ids(items)
    except BadContactId:
        return server_error()  # what Xero answered a non-GUID ContactID, not a validation error
    elements = [_element(org, request.method, item, today) for item in items]
    if rng is not None:
        rng.shuffle(elements)
    summarize = request.query.get("summarizeErrors", "true").lower() != "false"
    failed = [e.body for e in elements if e.invoice is None]
    if summarize and failed:
        # Not atomic: the valid invoices were booked, yet only the failures are listed.
        return validation("A validation exception occurred", failed)
    return json_answer(200, envelope(time.time(), Invoices=[e.body for e in elements]))


def _element(org: Organisation, method: str, item: object, today: date) -> Element:
    # POST also updates: an element naming a known InvoiceID changes that bill's Status only.
    invoice_id = item.get("InvoiceID") if isinstance(item, dict) else None
    if method != "POST" or invoice_id is None or not isinstance(item, dict):
        return book_element(org, item, today)
    try:
        invoice = org.set_status(str(invoice_id), str(item.get("Status", "")))
    except (KeyError, ValueError) as exc:
        body = {"InvoiceID": invoice_id, "HasErrors": True, "StatusAttributeString": "ERROR"}
        body["ValidationErrors"] = [{"Message": str(exc).strip("'")}]
        return Element(body, None)
    updated = {**invoice.to_json(), "HasErrors": False, "StatusAttributeString": "OK"}
    return Element(updated, invoice)


def read(org: Organisation, route: str, request: Request) -> Answer:
    """The GET routes."""
    if route == "GET Organisation":
        return json_answer(200, envelope(time.time(), Organisations=[org.to_json()]))
    if route == "GET Invoices/id":
        wanted = request.path.rstrip("/").rsplit("/", 1)[1]
        with org.lock:
            found = [i.to_json() for i in org.invoices if i.invoice_id == wanted]
        if not found:
            return text(404, "The resource you're looking for cannot be found")
        return json_answer(200, envelope(time.time(), Invoices=found))
    if route == "GET Invoices":
        return _invoices(org, request)
    where = request.query.get("where", "")
    if len(where) > MAX_WHERE:
        return validation(f"where is over {MAX_WHERE} characters")
    try:
        clauses = _where(where)
    except ValueError as exc:
        return validation(str(exc))
    if route == "GET Contacts":
        return _contacts(org, clauses, request.query.get("includeArchived") == "true")
    if route == "GET Accounts":
        return _accounts(org, clauses)
    return text(404, "The resource you're looking for cannot be found")


def _invoices(org: Organisation, request: Request) -> Answer:
    raw = request.query.get("InvoiceNumbers", "")
    numbers = [n for n in raw.split(",") if n]
    if len(raw) > 4000 or len(numbers) > MAX_NUMBERS:
        return validation(f"at most {MAX_NUMBERS} InvoiceNumbers")
    page = request.query.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        return validation("page must be a positive integer")
    with org.lock:
        found = org.find_invoices(numbers) if numbers else list(org.invoices)
        start = (int(page) - 1) * 100
        listed = [i.to_json() for i in found[start : start + 100]]
    return json_answer(200, envelope(time.time(), Invoices=listed))


def _where(where: str) -> list[tuple[str, str]]:
    if not where.strip():
        return []
    clauses = []
    for part in re.split(r"\s+AND\s+", where, flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise ValueError(f'the double reads only Field=="value" clauses, not {part[:80]!r}')
        clauses.append((match.group(1), match.group(2)))
    return clauses


def _contacts(org: Organisation, clauses: list[tuple[str, str]], archived: bool) -> Answer:
    for field, _ in clauses:
        if field not in CONTACT_FIELDS:
            return validation(f"the double cannot filter Contacts on {field}")
    with org.lock:
        found = [
            c.to_json()
            for c in org.contacts.values()
            if (archived or c.status == "ACTIVE") and _all(c, CONTACT_FIELDS, clauses)
        ]
    return json_answer(200, envelope(time.time(), Contacts=found))


def _accounts(org: Organisation, clauses: list[tuple[str, str]]) -> Answer:
    names = {"Code": "code", "Name": "name", "Type": "type", "Status": "status"}
    for field, _ in clauses:
        if field not in names:
            return validation(f"the double cannot filter Accounts on {field}")
    with org.lock:
        found = [a.to_json() for a in org.accounts.values() if _all(a, names, clauses)]
    return json_answer(200, envelope(time.time(), Accounts=found))


def _all(item: object, names: dict[str, str], clauses: list[tuple[str, str]]) -> bool:
    # Xero's filters ignore case (the contract's [U]): the adapter re-checks each match.
    def value(field: str) -> str:
        found: Any = getattr(item, names[field])
        return str(found or "").lower()

    return all(value(field) == wanted.lower() for field, wanted in clauses)
