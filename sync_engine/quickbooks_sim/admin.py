"""Admin endpoints under /_sim/, for a double running in another process (demo, benchmarks).

They need no token, pass no limits or faults, and are not recorded. Each takes a JSON object;
`realm_id` is optional everywhere (default: the company the authorize step hands out).

- `POST /_sim/companies` {realm_id, name?, home_currency?, multicurrency?, country?}
- `POST /_sim/vendors` {display_name, acct_num?, active?, currency?};
  `POST /_sim/vendors/update` {id, display_name?, acct_num?, active?, currency?, deleted?}
- `POST /_sim/accounts` {name, acct_num?, classification?, account_type?, active?};
  `POST /_sim/accounts/update` {id, ..., deleted?}
- `POST /_sim/preferences` {home_currency?, multicurrency?}; `POST /_sim/close-books`
  {through: "YYYY-MM-DD" or null}; `POST /_sim/company-status` {active}
- `GET|POST|DELETE /_sim/faults`; `GET|POST /_sim/config`; `POST /_sim/reset`
- `GET /_sim/stats`; `GET /_sim/bills?marker=`; `GET /_sim/requests`; `/_sim/oauth/...`
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from sync_engine.gateway_sim.messages import Answer, Request, json_answer
from sync_engine.oauth_sim import admin as oauth_admin
from sync_engine.quickbooks_sim.company import Company
from sync_engine.quickbooks_sim.faults import QboFaultPlan
from sync_engine.quickbooks_sim.wire import encode

if TYPE_CHECKING:
    from sync_engine.quickbooks_sim.simulator import QuickBooksSimulator

PREFIX = "/_sim/"
TEXT = {"display_name": 500, "name": 100, "acct_num": 20, "realm_id": 64, "id": 20}
CODES = {"currency": 3, "home_currency": 3, "country": 2}
FLAGS = ("active", "multicurrency", "deleted")
VENDOR_FIELDS = ("display_name", "acct_num", "active", "currency")
ACCOUNT_FIELDS = ("name", "acct_num", "classification", "account_type", "active")


class Refused(ValueError):
    """A bad admin request: answered 400 with the reason."""


def answer(sim: QuickBooksSimulator, request: Request) -> Answer:
    """Answer one admin request."""
    found = oauth_admin.answer(sim.oauth, request)
    if found is not None:
        return found
    try:
        return _route(sim, request)
    except Refused as exc:
        return json_answer(400, {"error": str(exc)})
    except KeyError as exc:
        return json_answer(404, {"error": f"no such company or entity: {exc}"})


def _route(sim: QuickBooksSimulator, request: Request) -> Answer:
    route = (request.method, request.path.rstrip("/"))
    if route[0] == "GET":
        return _inspect(sim, request, route[1])
    if route == ("DELETE", "/_sim/faults"):
        sim.faults.clear()
        return json_answer(200, {"faults": []})
    if route[0] != "POST":
        return json_answer(404, {"error": f"no admin endpoint {request.method} {request.path}"})
    data = _object(request.body)
    name = route[1][len(PREFIX) :]
    if name == "faults":
        try:
            plan = QboFaultPlan.from_json([data] if isinstance(data, dict) else data)
        except (TypeError, ValueError) as exc:
            raise Refused(f"expected a JSON list of faults: {exc}") from exc
        sim.faults.extend(plan.faults())
        return json_answer(200, {"faults": sim.faults.to_json()})
    if not isinstance(data, dict):
        raise Refused("expected a JSON object")
    return _change(sim, name, data)


def _change(sim: QuickBooksSimulator, name: str, data: dict[str, Any]) -> Answer:
    if name == "config":
        try:
            return json_answer(200, sim.set_config(**data).to_json())
        except (TypeError, ValueError) as exc:
            raise Refused(str(exc)) from exc
    if name == "reset":
        sim.reset()
        return json_answer(200, {"reset": True})
    if name == "companies":
        fields = _fields(data, ("name", "home_currency", "multicurrency", "country"))
        company = sim.add_company(_required(data, "realm_id"), **fields)
        return _entity({"realm_id": company.realm_id, **company.info()})
    company = sim.company(_text(data, "realm_id"))
    if name in ("vendors", "accounts"):
        if name == "vendors":
            fields = _fields(data, VENDOR_FIELDS[1:])
            return _entity(company.add_vendor(_required(data, "display_name"), **fields).entity())
        fields = _fields(data, ACCOUNT_FIELDS[1:])
        return _entity(company.add_account(_required(data, "name"), **fields).entity())
    if name in ("vendors/update", "accounts/update"):
        return _update(company, name.split("/")[0], data)
    return _company_setting(company, name, data)


def _company_setting(company: Company, name: str, data: dict[str, Any]) -> Answer:
    with company.lock:
        if name == "preferences":
            fields = _fields(data, ("home_currency", "multicurrency"))
            company.home_currency = fields.get("home_currency", company.home_currency)
            company.multicurrency = fields.get("multicurrency", company.multicurrency)
            return _entity(company.preferences())
        if name == "close-books":
            through = data.get("through")
            try:
                company.closed_through = None if through is None else date.fromisoformat(through)
            except (TypeError, ValueError) as exc:
                raise Refused('through must be "YYYY-MM-DD" or null') from exc
            return _entity(company.preferences())
        if name == "company-status":
            company.active = _fields(data, ("active",)).get("active", company.active)
            return json_answer(200, {"active": company.active})
    raise KeyError(name)


def _update(company: Company, kind: str, data: dict[str, Any]) -> Answer:
    entity_id = _required(data, "id")
    with company.lock:
        store: dict[str, Any] = company.vendors if kind == "vendors" else company.accounts
        entity = store[entity_id]
        allowed = VENDOR_FIELDS if kind == "vendors" else ACCOUNT_FIELDS
        fields = _fields(data, (*allowed, "deleted"))
        if fields.pop("deleted", False):
            del store[entity_id]
            return json_answer(200, {"deleted": entity_id})
        for key, value in fields.items():
            setattr(entity, key, value)
        return _entity(entity.entity())


def _inspect(sim: QuickBooksSimulator, request: Request, path: str) -> Answer:
    if path == "/_sim/stats":
        return json_answer(200, sim.stats())
    if path == "/_sim/faults":
        return json_answer(200, {"faults": sim.faults.to_json()})
    if path == "/_sim/config":
        return json_answer(200, sim.config.to_json())
    if path == "/_sim/requests":
        return json_answer(200, {"requests": [asdict(entry) for entry in sim.requests()]})
    if path == "/_sim/bills":
        realm = request.query.get("realm_id")
        marker = request.query.get("marker")
        by_marker = sim.bills_by_marker(realm)
        bills = by_marker.get(marker, []) if marker is not None else sim.bills(realm)
        counts = {key: len(found) for key, found in by_marker.items()}
        return _entity({"by_marker": counts, "bills": [bill.entity for bill in bills]})
    return json_answer(404, {"error": f"no admin endpoint GET {path}"})


def _entity(body: dict[str, Any]) -> Answer:
    return Answer(200, encode(body))


def _object(body: bytes) -> object:
    try:
        return json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Refused(f"the body is not JSON: {exc}") from exc


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not (isinstance(value, str) and 0 < len(value) <= TEXT[name]):
        raise Refused(f"{name} must be a string of 1 to {TEXT[name]} characters")
    return value


def _required(data: dict[str, Any], name: str) -> str:
    value = _text(data, name)
    if value is None:
        raise Refused(f"{name} is required")
    return value


def _fields(data: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The given fields of `names`, each checked for its type and length."""
    fields: dict[str, Any] = {}
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if name in FLAGS:
            if not isinstance(value, bool):
                raise Refused(f"{name} must be true or false")
        elif name in CODES:
            if not (isinstance(value, str) and value.isalpha() and len(value) == CODES[name]):
                raise Refused(f"{name} must be {CODES[name]} letters")
            value = value.upper()
        elif name == "acct_num" and value is None:
            pass
        elif not (isinstance(value, str) and 0 < len(value) <= TEXT.get(name, 100)):
            raise Refused(f"{name} must be a string of 1 to {TEXT.get(name, 100)} characters")
        fields[name] = value
    return fields
