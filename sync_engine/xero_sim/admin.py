"""The Xero double's admin endpoints under /_sim/, for tests and demos in another process.

Set-up: `POST organisations` {name, base_currency?, currencies?}, `contacts` {name,
account_number?, status?}, `accounts` {code, name, type?, status?}, `archive` {contact_id} or
{account_code}, `invoice-status` {invoice_id, status}, `lock-date` {date | null},
`subscription` {status}, `connect` {}, `faults` (GET, POST a list, DELETE), `config` {...},
`clock` {advance}, `reset`. Every set-up body may name `tenant_id` (default: the first
organisation). Inspection: `GET stats`, `GET invoices` (?number=), `GET requests`.
`/_sim/oauth/...` is the OAuth double's own admin.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.oauth_sim import admin as oauth_admin
from sync_engine.xero_sim.faults import XeroFault
from sync_engine.xero_sim.org import ORG_STATUSES
from sync_engine.xero_sim.wire import json_answer

if TYPE_CHECKING:
    from sync_engine.xero_sim.simulator import XeroSimulator

PREFIX = "/_sim/"


def answer(sim: XeroSimulator, request: Request) -> Answer:
    """Answer one admin request; 400 with the reason on a bad body, 404 on an unknown path."""
    if request.path.startswith(oauth_admin.PREFIX):
        found = oauth_admin.answer(sim.oauth, request)
        return found if found is not None else json_answer(404, {"error": "no such admin route"})
    name = request.path[len(PREFIX) :].rstrip("/")
    try:
        data = json.loads(request.body) if request.body.strip() else {}
        if request.method == "GET":
            return json_answer(200, _inspect(sim, name, request))
        if request.method == "DELETE" and name == "faults":
            sim.faults.clear()
            return json_answer(200, {"faults": []})
        handler = _SETUP.get(name) if request.method == "POST" else None
        if handler is None:
            return json_answer(404, {"error": f"no admin route {request.method} {name[:80]}"})
        if not isinstance(data, dict | list):
            raise ValueError("expected a JSON object")
        return json_answer(200, handler(sim, data))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return json_answer(400, {"error": f"the body is not JSON: {exc}"})
    except (KeyError, TypeError, ValueError) as exc:
        return json_answer(400, {"error": str(exc)[:500]})


def _tenant(data: Any) -> str | None:
    tenant = data.get("tenant_id") if isinstance(data, dict) else None
    if tenant is not None and not (isinstance(tenant, str) and len(tenant) <= 64):
        raise ValueError("tenant_id must be a string")
    return tenant


def _pick(data: Any, *names: str) -> dict[str, Any]:
    return {n: data[n] for n in names if n in data}


def _organisation(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    currencies = tuple(data.get("currencies", ()))
    org = sim.add_organisation(
        data["name"], **_pick(data, "base_currency", "tenant_id"), currencies=currencies
    )
    return {"tenant_id": org.tenant_id, "connection_id": sim.connect(org.tenant_id).id}


def _contact(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    org = sim.org(_tenant(data))
    return org.add_contact(data["name"], **_pick(data, "account_number", "status")).to_json()


def _account(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    org = sim.org(_tenant(data))
    return org.add_account(data["code"], data["name"], **_pick(data, "type", "status")).to_json()


def _archive(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    org = sim.org(_tenant(data))
    with org.lock:
        if "contact_id" in data:
            contact = org.contacts[str(data["contact_id"])]
            contact.status = "ARCHIVED"
            return contact.to_json()
        account = org.accounts[str(data["account_code"]).lower()]
        account.status = "ARCHIVED"
        return account.to_json()


def _invoice_status(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    org = sim.org(_tenant(data))
    return org.set_status(str(data["invoice_id"]), data["status"]).to_json()


def _lock_date(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    org = sim.org(_tenant(data))
    value = data.get("date")
    org.lock_date = date.fromisoformat(value) if isinstance(value, str) else None
    if value is not None and org.lock_date is None:
        raise ValueError('expected {"date": "YYYY-MM-DD" or null}')
    return {"lock_date": value}


def _subscription(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    if data.get("status") not in ORG_STATUSES:
        raise ValueError(f"status must be one of {', '.join(ORG_STATUSES)}")
    sim.org(_tenant(data)).status = data["status"]
    return {"status": data["status"]}


def _faults(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    items = data if isinstance(data, list) else [data]
    if len(items) > 1000:
        raise ValueError("at most 1000 faults")
    for fault in [XeroFault.from_json(item) for item in items]:
        sim.faults.add(fault)
    return {"faults": sim.faults.to_json()}


def _clock(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    seconds = data["advance"]
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ValueError("advance must be a number of seconds")
    if not 0 <= seconds <= 366 * 86_400:
        raise ValueError("advance must be 0 to a year")
    sim.advance(float(seconds))
    return {"offset": sim.offset}


def _reset(sim: XeroSimulator, data: Any) -> dict[str, Any]:
    sim.reset()
    return {"reset": True}


_SETUP = {
    "organisations": _organisation,
    "contacts": _contact,
    "accounts": _account,
    "archive": _archive,
    "invoice-status": _invoice_status,
    "lock-date": _lock_date,
    "subscription": _subscription,
    "connect": lambda sim, data: {"connection_id": sim.connect(_tenant(data)).id},
    "faults": _faults,
    "config": lambda sim, data: sim.set_config(**data).to_json(),
    "clock": _clock,
    "reset": _reset,
}


def _inspect(sim: XeroSimulator, name: str, request: Request) -> object:
    tenant = request.query.get("tenant_id")
    if name == "stats":
        return sim.stats(tenant)
    if name == "faults":
        return {"faults": sim.faults.to_json()}
    if name == "invoices":
        number = request.query.get("number")
        found = sim.bills_by_number(tenant)
        picked = {number: found.get(number, [])} if number is not None else found
        return {n: [i.to_json() for i in bills] for n, bills in picked.items()}
    if name == "requests":
        return {"requests": [asdict(entry) for entry in sim.requests()]}
    raise KeyError(f"no admin route GET {name[:80]}")
