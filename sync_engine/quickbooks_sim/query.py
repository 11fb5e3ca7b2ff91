"""The query language subset: `select * from Vendor|Bill|Account [where <Field> = '<literal>']`.

Literals escape `'` and `\\` with a backslash (what integrators send; Intuit gives no rule).
As in QBO, name-list entities (Vendor, Account) answer only active members unless the query
filters on `Active`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sync_engine.quickbooks_sim.company import Company
from sync_engine.quickbooks_sim.wire import QboFault, validation

MAX_QUERY_CHARS = 4000
HEAD = re.compile(r"\s*select\s+\*\s+from\s+(\w+)\s*", re.IGNORECASE)
WHERE = re.compile(r"where\s+(\w+)\s*=\s*", re.IGNORECASE)
MAXRESULTS = re.compile(r"\s*maxresults\s+(\d{1,4})\s*$", re.IGNORECASE)
FIELDS = {
    "Vendor": ("Id", "DisplayName", "AcctNum", "Active"),
    "Account": ("Id", "Name", "AcctNum", "Active", "Classification", "AccountType"),
    "Bill": ("Id", "DocNumber", "TxnDate"),
}
NAME_LISTS = ("Vendor", "Account")


@dataclass(frozen=True)
class Query:
    """A parsed query: the entity, an optional `field = literal`, and MAXRESULTS."""

    entity: str
    field: str | None = None
    literal: str | None = None
    max_results: int = 100


def syntax_error(detail: str) -> QboFault:
    """400 code 4000, QBO's answer to a query it cannot parse."""
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}")


def parse(text: str) -> Query:
    """Parse `text` or raise a 4000 QboFault."""
    if len(text) > MAX_QUERY_CHARS:
        raise syntax_error(f"the query is over {MAX_QUERY_CHARS} characters")
    head = HEAD.match(text)
    if head is None:
        raise syntax_error("expected select * from <Entity>")
    entity = next((name for name in FIELDS if name.lower() == head.group(1).lower()), None)
    if entity is None:
        raise syntax_error(f"unknown entity {head.group(1)!r}")
    rest, field, literal = text[head.end() :], None, None
    where = WHERE.match(rest)
    if where is not None:
        field = next((f for f in FIELDS[entity] if f.lower() == where.group(1).lower()), None)
        if field is None:
            raise syntax_error(f"property {where.group(1)!r} is not queryable on {entity}")
        literal, rest = _literal(rest[where.end() :])
    limit = 100
    if rest.strip():
        found = MAXRESULTS.match(rest)
        if found is None:
            raise syntax_error(f"unexpected text {rest.strip()[:40]!r}")
        limit = max(1, min(1000, int(found.group(1))))
    return Query(entity, field, literal, limit)


def _literal(text: str) -> tuple[str, str]:
    if not text.startswith("'"):
        raise syntax_error("expected a quoted literal")
    out: list[str] = []
    index = 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == "'":
            return "".join(out), text[index + 1 :]
        out.append(char)
        index += 1
    raise syntax_error("unterminated literal")


def _value(entity: dict[str, Any], field: str) -> str:
    value = entity.get(field)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def run(company: Company, query: Query) -> dict[str, Any]:
    """The `QueryResponse` for `query`: no entity key at all when nothing matches."""
    with company.lock:
        if query.entity == "Vendor":
            entities = [vendor.entity() for vendor in company.vendors.values()]
        elif query.entity == "Account":
            entities = [account.entity() for account in company.accounts.values()]
        elif query.field == "DocNumber":
            entities = [bill.entity for bill in company.bills_numbered(query.literal or "")]
        else:
            entities = [bill.entity for bill in company.all_bills()]
    if query.entity in NAME_LISTS and query.field != "Active":
        entities = [entity for entity in entities if entity["Active"]]
    if query.field is not None:
        wanted = (query.literal or "").lower() if query.field == "Active" else query.literal
        entities = [e for e in entities if _value(e, query.field) == wanted]
    entities = entities[: query.max_results]
    if not entities:
        return {}
    return {query.entity: entities, "startPosition": 1, "maxResults": len(entities)}
