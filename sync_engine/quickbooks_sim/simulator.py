"""The QuickBooks Online double: the OAuth endpoints and the API of one or more companies."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sync_engine.gateway_sim.config import SimConfig
from sync_engine.gateway_sim.journal import Journal, ReceivedRequest
from sync_engine.gateway_sim.limits import Limiter
from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.gateway_sim.service import serve_until_interrupted
from sync_engine.oauth_sim import OAuthConfig, OAuthEndpoints, TokenAuthority, TokenSet
from sync_engine.quickbooks_sim import admin
from sync_engine.quickbooks_sim.api import Api, Call, resolve
from sync_engine.quickbooks_sim.company import Account, Bill, Company, Vendor
from sync_engine.quickbooks_sim.config import QboConfig
from sync_engine.quickbooks_sim.faults import QboFaultPlan
from sync_engine.quickbooks_sim.replays import RequestIds
from sync_engine.quickbooks_sim.wire import (
    QboFault,
    answer,
    auth_failed,
    decode,
    fault_answer,
    forbidden,
    throttled,
)
from sync_engine.sim_service import LoopbackService

INVALID_TOKEN = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}


class QuickBooksSimulator(LoopbackService):
    """QuickBooks Online for tests, the demo and benchmarks; `with` starts and stops it."""

    name = "quickbooks-sim"

    def __init__(
        self,
        config: QboConfig | None = None,
        faults: QboFaultPlan | None = None,
        oauth: OAuthConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.config = config if config is not None else QboConfig()
        self.faults = faults if faults is not None else QboFaultPlan()
        self.authority = TokenAuthority(oauth if oauth is not None else OAuthConfig(), clock)
        self.oauth = OAuthEndpoints(self.authority)
        self._clock = clock
        self._lock = threading.Lock()
        self._companies: dict[str, Company] = {}
        self._limits: dict[str, tuple[Limiter, Limiter]] = {}
        self._journal = Journal()
        self._routes: Counter[str] = Counter()
        self._replays = RequestIds()
        self._api = Api(lambda: self.config, self.faults, self._replays, self.pause, self.today)
        self.add_company(self.realm_id)

    @property
    def realm_id(self) -> str:
        """The company the authorize step hands out (the default for every admin call)."""
        return self.authority.config.realm_id or "1"

    def today(self) -> date:
        """The company's today (UTC), what QBO puts in a Bill sent without TxnDate."""
        return datetime.fromtimestamp(self._clock(), UTC).date()

    # -- set-up, as the bookkeeper would do it in QuickBooks --------------------------------

    def add_company(self, realm_id: str, **fields: Any) -> Company:
        """Create (or replace) the company `realm_id`."""
        company = Company(realm_id, **fields)
        with self._lock:
            self._companies[realm_id] = company
        return company

    def company(self, realm_id: str | None = None) -> Company:
        """The company `realm_id` (default: the authorize step's); KeyError if there is none."""
        with self._lock:
            return self._companies[realm_id or self.realm_id]

    def add_vendor(self, display_name: str, realm_id: str | None = None, **fields: Any) -> Vendor:
        """Create a vendor (`acct_num`, `active`, `currency` optional)."""
        return self.company(realm_id).add_vendor(display_name, **fields)

    def add_account(self, name: str, realm_id: str | None = None, **fields: Any) -> Account:
        """Create an account (`acct_num`, `classification`, `account_type`, `active` optional)."""
        return self.company(realm_id).add_account(name, **fields)

    def grant(self, realm_id: str | None = None) -> TokenSet:
        """Tokens for `realm_id` as from Intuit's OAuth Playground (no browser step)."""
        return self.authority.grant(realm_id)

    def set_config(self, **changes: Any) -> QboConfig:
        """Change settings while serving (limits start a fresh window)."""
        self.config = self.config.changed(changes)
        with self._lock:
            self._limits.clear()
        if "seed" in changes:  # the batch shuffle starts again from the new seed
            self._api = Api(lambda: self.config, self.faults, self._replays, self.pause, self.today)
        return self.config

    # -- inspection ---------------------------------------------------------------------------

    def bills(self, realm_id: str | None = None) -> list[Bill]:
        """Every Bill of the company, oldest first."""
        return self.company(realm_id).all_bills()

    def bills_by_marker(self, realm_id: str | None = None) -> dict[str, list[Bill]]:
        """Source id of each `syncbot:` marker -> its Bills (more than one: a duplicate)."""
        found: dict[str, list[Bill]] = {}
        for bill in self.bills(realm_id):
            if bill.marker is not None:
                found.setdefault(bill.marker, []).append(bill)
        return found

    def marker_counts(self, realm_id: str | None = None) -> dict[str, int]:
        """Source id -> how many Bills carry its marker."""
        return {marker: len(bills) for marker, bills in self.bills_by_marker(realm_id).items()}

    def requests_by_route(self) -> dict[str, int]:
        """Route ("POST bill", "GET query", "POST token", ...) -> requests answered."""
        with self._lock:
            return dict(sorted(self._routes.items()))

    def requests(self) -> list[ReceivedRequest]:
        """Every answered request (admin ones aside), by arrival."""
        return self._journal.entries()

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, Bills, duplicated markers, refreshes."""
        counts = self.marker_counts()
        by_status = self._journal.by_status()
        return {
            "requests_by_route": self.requests_by_route(),
            "by_status": by_status,
            "rate_limited": by_status.get("429", 0),
            "bills": len(self.bills()),
            "duplicate_markers": {m: n for m, n in counts.items() if n > 1},
            "refreshes": self.authority.refreshes,
        }

    def reset(self) -> None:
        """Forget Bills, requests, faults, stored requestids and limit windows (not vendors)."""
        with self._lock:
            companies = list(self._companies.values())
            self._routes.clear()
            self._limits.clear()
        for company in companies:
            company.forget_bills()
        self._journal.reset()
        self._replays.reset()
        self.faults.clear()

    # -- serving ------------------------------------------------------------------------------

    def refuse_body(self, status: int, detail: str) -> Answer:
        """A Fault for a body the double will not read."""
        return fault_answer(QboFault(status, "ValidationFault", "2010", "Request refused", detail))

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request (the HTTP server's entry point) and record it."""
        if request.path.startswith(admin.PREFIX):
            return admin.answer(self, request)
        route = self.oauth.routes().get(request.path.rstrip("/"))
        if route is not None:
            found = self.oauth.answer(request)
            assert found is not None
            return self._record(request, route, (), found, received_at)
        place = resolve(request)
        if place is None:
            missing = answer(404, {"message": f"no route {request.method} {request.path[:200]}"})
            return self._record(request, "other", (), missing, received_at)
        call = _call(request, *place)
        reply = self._admit(call)
        return self._record(
            request, f"{request.method} {call.route}", call.markers, reply, received_at
        )

    def _admit(self, call: Call) -> Answer:
        # Intuit's order as the contract reads it: token, company, limits, then the call.
        scheme, _, token = (call.request.header("Authorization") or "").partition(" ")
        check = self.authority.check_access(token.strip()) if scheme.lower() == "bearer" else None
        if check is None or check.status != "valid":
            reason = "Token expired" if check and check.status == "expired" else "Token invalid"
            return fault_answer(auth_failed(reason), headers=INVALID_TOKEN)
        with self._lock:
            company = self._companies.get(call.realm)
        if company is None or check.realm_id != call.realm:
            return fault_answer(forbidden(call.realm))
        general, batches = self._limiters(call.realm)
        refusal = general.acquire()
        if refusal is None and call.route == "batch":
            refusal = batches.acquire()
            if refusal is None:
                batches.release()  # the batch limit is per minute only
            else:
                general.release()
        if refusal is not None:
            after = (
                {"Retry-After": str(refusal.retry_after)} if self.config.limit_retry_after else {}
            )
            return fault_answer(throttled(f"{refusal.problem} limit"), headers=after)
        try:
            self.pause(self.config.latency_seconds)
            return self._api.serve(call, company)
        finally:
            general.release()

    def _limiters(self, realm: str) -> tuple[Limiter, Limiter]:
        with self._lock:
            if realm not in self._limits:
                config = self.config
                general = SimConfig(
                    rate_per_minute=config.rate_per_minute, concurrency=config.concurrency
                )
                batch = SimConfig(rate_per_minute=config.batch_per_minute)
                self._limits[realm] = (Limiter(general), Limiter(batch))
            return self._limits[realm]

    def _record(
        self, request: Request, route: str, markers: tuple[str, ...], reply: Answer, at: float
    ) -> Answer:
        rid = request.query.get("requestid")
        entry = ReceivedRequest(
            request.method, request.path, [rid] if rid else [], list(markers), reply.status, at
        )
        self._journal.add(entry)
        with self._lock:
            self._routes[route] += 1
        return reply


def _call(request: Request, realm: str, route: str) -> Call:
    """The call with the DocNumbers and markers its Bills carry (for faults and the journal)."""
    if route not in ("bill", "batch"):
        return Call(request, realm, route)
    try:
        data = decode(request.body)
    except QboFault:
        return Call(request, realm, route)
    bills: list[object] = [data]
    if route == "batch":
        items = data.get("BatchItemRequest") if isinstance(data, dict) else None
        bills = (
            [item.get("Bill") for item in items if isinstance(item, dict)]
            if isinstance(items, list)
            else []
        )
    docs, markers = [], []
    for bill in bills:
        if isinstance(bill, dict):
            doc, note = bill.get("DocNumber"), bill.get("PrivateNote")
            docs.append(doc if isinstance(doc, str) else None)
            if isinstance(note, str) and note.startswith("syncbot:"):
                markers.append(note[len("syncbot:") :].split(" ", 1)[0])
    return Call(request, realm, route, tuple(docs), tuple(markers))


def serve_forever(
    config: QboConfig, faults: QboFaultPlan, host: str, port: int, oauth: OAuthConfig | None = None
) -> None:
    """Serve until interrupted (`syncbot ledger-sim quickbooks`); prints the settings to use."""
    sim = QuickBooksSimulator(config, faults, oauth)

    def announce(url: str) -> list[str]:
        settings = {
            "QBO_API_BASE_URL": url,
            "QBO_TOKEN_URL": url + sim.oauth.paths.token,
            "QBO_AUTH_URL": url + sim.oauth.paths.authorize,
            "QBO_REVOKE_URL": url + sim.oauth.paths.revoke,
            "QBO_CLIENT_ID": sim.authority.config.client_id,
            "QBO_REALM_ID": sim.realm_id,
        }
        return [f"QuickBooks Online double listening on {url}", json.dumps(settings)]

    serve_until_interrupted(sim, host, port, announce)
