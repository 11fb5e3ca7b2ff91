"""The Xero double: Xero's identity endpoints, the connections list and the Accounting API."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sync_engine.gateway_sim.config import SimConfig
from sync_engine.gateway_sim.journal import Journal, ReceivedRequest
from sync_engine.gateway_sim.limits import Limiter, Refusal
from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.oauth_sim import OAuthConfig, OAuthEndpoints, TokenAuthority, TokenSet
from sync_engine.sim_service import DROP, LoopbackService
from sync_engine.xero_sim import admin, api
from sync_engine.xero_sim.config import XeroConfig
from sync_engine.xero_sim.faults import BOOKING_KINDS, REQUEST_KINDS, XeroFaultPlan
from sync_engine.xero_sim.keys import BUSY, CONFLICT, KeyStore, fingerprint
from sync_engine.xero_sim.org import Invoice, Organisation
from sync_engine.xero_sim.tenancy import (
    CONNECTIONS,
    DAY_SECONDS,
    XERO_PATHS,
    Connection,
    xero_oauth,
)
from sync_engine.xero_sim.wire import (
    forbidden,
    json_answer,
    problem,
    server_error,
    text,
    unauthorized,
    validation,
)


class XeroSimulator(LoopbackService):
    """Xero for tests, the demo and benchmarks; `with` starts and stops it."""

    name = "xero-sim"

    def __init__(
        self,
        config: XeroConfig | None = None,
        faults: XeroFaultPlan | None = None,
        oauth: OAuthConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.config = config if config is not None else XeroConfig()
        self.faults = faults if faults is not None else XeroFaultPlan()
        self._base_clock = clock
        self.offset = 0.0  # moved by `advance` (or POST /_sim/clock) so tests need not wait
        self.authority = TokenAuthority(oauth if oauth is not None else xero_oauth(), self.now)
        self.oauth = OAuthEndpoints(self.authority, XERO_PATHS)
        self.keys = KeyStore(self.now, lambda: self.config.key_window_seconds)
        self._lock = threading.Lock()
        self._orgs: dict[str, Organisation] = {}
        self._connections: dict[str, Connection] = {}
        self._limits: dict[str, tuple[Limiter, Limiter]] = {}
        self._app_limit = Limiter(
            SimConfig(rate_per_minute=self.config.app_rate_per_minute), self.now
        )
        self._journal = Journal()
        self._routes: Counter[str] = Counter()
        self.replays = 0  # writes answered from the key store
        self.tenant_id = self.add_organisation("Demo Company (US)").tenant_id

    def now(self) -> float:
        """The double's clock (the given clock plus `offset`)."""
        return self._base_clock() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the clock on: key windows, token lifetimes and limit windows see it."""
        self.offset += seconds

    def today(self) -> date:
        """The organisation's today (UTC): the Date of an invoice sent without one."""
        return datetime.fromtimestamp(self.now(), UTC).date()

    # -- set-up ----------------------------------------------------------------------------

    def add_organisation(self, name: str, **fields: Any) -> Organisation:
        """Create an organisation and connect it to the app."""
        org = Organisation(name, **fields)
        with self._lock:
            self._orgs[org.tenant_id] = org
            self._connections[org.tenant_id] = Connection(org.tenant_id, org.name)
        return org

    def org(self, tenant_id: str | None = None) -> Organisation:
        """The organisation `tenant_id` (default: the first); KeyError if there is none."""
        with self._lock:
            return self._orgs[tenant_id or self.tenant_id]

    def connect(self, tenant_id: str | None = None) -> Connection:
        """Connect (again) an organisation, as a new consent would."""
        org = self.org(tenant_id)
        with self._lock:
            connection = self._connections.setdefault(
                org.tenant_id, Connection(org.tenant_id, org.name)
            )
        return connection

    def connections(self) -> list[Connection]:
        """The connected tenants."""
        with self._lock:
            return list(self._connections.values())

    def disconnect(self, connection_id: str) -> bool:
        """Remove a connection (`DELETE /connections/{id}`); False when there is none."""
        with self._lock:
            for tenant, connection in list(self._connections.items()):
                if connection.id == connection_id:
                    del self._connections[tenant]
                    return True
        return False

    def grant(self) -> TokenSet:
        """A token set without the browser step."""
        return self.authority.grant()

    def set_config(self, **changes: Any) -> XeroConfig:
        """Change settings while serving (limits start fresh windows)."""
        self.config = self.config.changed(changes)
        with self._lock:
            self._limits.clear()
            app = SimConfig(rate_per_minute=self.config.app_rate_per_minute)
            self._app_limit = Limiter(app, self.now)
        return self.config

    # -- inspection ------------------------------------------------------------------------

    def bills(self, tenant_id: str | None = None) -> list[Invoice]:
        """Every invoice of the organisation, oldest first."""
        org = self.org(tenant_id)
        with org.lock:
            return list(org.invoices)

    def bills_by_number(self, tenant_id: str | None = None) -> dict[str, list[Invoice]]:
        """InvoiceNumber (exact) -> its bills (more than one: a duplicate)."""
        found: dict[str, list[Invoice]] = {}
        for invoice in self.bills(tenant_id):
            found.setdefault(invoice.number, []).append(invoice)
        return found

    def number_counts(self, tenant_id: str | None = None) -> dict[str, int]:
        """InvoiceNumber -> how many bills carry it."""
        return {n: len(b) for n, b in self.bills_by_number(tenant_id).items()}

    def requests_by_route(self) -> dict[str, int]:
        """Route ("PUT Invoices", "GET Contacts", "POST token", ...) -> requests answered."""
        with self._lock:
            return dict(sorted(self._routes.items()))

    def requests(self) -> list[ReceivedRequest]:
        """Every answered request (admin ones aside), by arrival."""
        return self._journal.entries()

    def stats(self, tenant_id: str | None = None) -> dict[str, Any]:
        """Requests by route and status, bills, duplicated numbers, contacts created, refreshes."""
        counts = self.number_counts(tenant_id)
        by_status = self._journal.by_status()
        return {
            "requests_by_route": self.requests_by_route(),
            "by_status": by_status,
            "rate_limited": by_status.get("429", 0),
            "bills": sum(counts.values()),
            "duplicate_numbers": {n: c for n, c in counts.items() if c > 1},
            "contacts_created": self.org(tenant_id).contacts_created,
            "replays": self.replays,
            "refreshes": self.authority.refreshes,
        }

    def reset(self) -> None:
        """Forget bills, requests, faults, keys and limit windows (not contacts or accounts)."""
        with self._lock:
            orgs = list(self._orgs.values())
            self._routes.clear()
            self._limits.clear()
            self.replays = 0
        for org in orgs:
            org.forget_invoices()
        self._journal.reset()
        self.keys.reset()
        self.faults.clear()

    # -- serving ---------------------------------------------------------------------------

    def refuse_body(self, status: int, detail: str) -> Answer:
        """A plain answer for a body the double will not read."""
        return text(status, detail)

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request (the HTTP server's entry point) and record it."""
        if request.path.startswith(admin.PREFIX):
            return admin.answer(self, request)
        oauth_route = self.oauth.routes().get(request.path.rstrip("/"))
        if oauth_route is not None:
            found = self.oauth.answer(request)
            assert found is not None
            return self._record(request, oauth_route, found, received_at)
        if request.path.rstrip("/") == CONNECTIONS or request.path.startswith(CONNECTIONS + "/"):
            route = f"{request.method} connections"
            return self._record(request, route, self._connections_call(request), received_at)
        api_route = api.resolve(request)
        if api_route is None:
            missing = text(404, "The resource you're looking for cannot be found")
            return self._record(request, "other", missing, received_at)
        return self._record(request, api_route, self._admit(request, api_route), received_at)

    def _bearer(self, request: Request) -> Answer | None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        check = self.authority.check_access(token.strip()) if scheme.lower() == "bearer" else None
        if check is not None and check.status == "valid":
            return None
        if check is not None and check.status == "expired":
            at = datetime.fromtimestamp(self.now(), UTC).isoformat(timespec="seconds")
            return unauthorized(f"TokenExpired: token expired at {at}")
        return unauthorized("AuthenticationUnsuccessful")

    def _connections_call(self, request: Request) -> Answer:
        refused = self._bearer(request)
        if refused is not None:
            return refused
        rest = request.path.rstrip("/")[len(CONNECTIONS) :].lstrip("/")
        if request.method == "GET" and not rest:
            event = request.query.get("authEventId")
            listed = [c.to_json() for c in self.connections() if event in (None, c.auth_event_id)]
            return json_answer(200, listed)
        if request.method == "DELETE" and rest and len(rest) <= 64:
            return Answer(204, b"") if self.disconnect(rest) else text(404, "Not Found")
        return text(404, "Not Found")

    def _admit(self, request: Request, route: str) -> Answer:
        # Token, tenant, then limits, all before the fault plan and the key store.
        refused = self._bearer(request)
        if refused is not None:
            return refused
        tenant = request.header("xero-tenant-id") or ""
        with self._lock:
            org = self._orgs.get(tenant) if tenant in self._connections else None
        if org is None:
            return forbidden()
        if org.status != "ACTIVE" and route != "GET Organisation":
            return problem(403, "Forbidden", f"OrganisationNotActive: subscription {org.status}")
        held, refusal = self._acquire(tenant)
        try:
            if refusal is not None:
                after = {"Retry-After": str(refusal.retry_after)}
                after["X-Rate-Limit-Problem"] = refusal.problem
                return self._with_limits(tenant, text(429, "Rate limit exceeded", after))
            self.pause(self.config.latency_seconds)
            if route.endswith(" Invoices") and route != "GET Invoices":
                return self._with_limits(tenant, self._write(org, request))
            return self._with_limits(tenant, api.read(org, route, request))
        finally:
            for limiter in held:
                limiter.release()

    def _acquire(self, tenant: str) -> tuple[list[Limiter], Refusal | None]:
        with self._lock:
            if tenant not in self._limits:
                c = self.config
                minute = SimConfig(rate_per_minute=c.rate_per_minute, concurrency=c.concurrency)
                day = SimConfig(rate_per_minute=c.daily_limit)
                self._limits[tenant] = (
                    Limiter(minute, self.now),
                    Limiter(day, self.now, window_seconds=DAY_SECONDS),
                )
            minute_limit, day_limit = self._limits[tenant]
            app = self._app_limit
        held: list[Limiter] = []
        for limiter, name in ((minute_limit, None), (day_limit, "day"), (app, "appminute")):
            refusal = limiter.acquire()
            if refusal is not None:
                return held, Refusal(name or refusal.problem, refusal.retry_after)
            held.append(limiter)
        return held, None

    def _with_limits(self, tenant: str, reply: Answer) -> Answer:
        if reply.status == DROP.status:
            return reply
        with self._lock:
            minute_limit, day_limit = self._limits[tenant]
            app = self._app_limit
        headers = dict(reply.headers)
        for name, limiter in (
            ("X-MinLimit-Remaining", minute_limit),
            ("X-DayLimit-Remaining", day_limit),
            ("X-AppMinLimit-Remaining", app),
        ):
            left = limiter.remaining()
            headers[name] = str(left if left is not None else 1_000_000)
        return Answer(reply.status, reply.body, headers, reply.content_type)

    def _write(self, org: Organisation, request: Request) -> Answer:
        numbers = api.invoice_numbers(request)
        fault = self.faults.take(REQUEST_KINDS, numbers)
        if fault is not None:
            if fault.kind == "key_store_down":
                return server_error("The idempotency store is unavailable")
            return text(503, "Organisation offline" if fault.kind == "offline" else "Not Available")
        key = request.header("Idempotency-Key")
        if key is None:
            return self._book(org, request, numbers)[0]
        if not 0 < len(key) <= 128:
            return validation("The Idempotency-Key header must be 1 to 128 characters")
        held = self.keys.begin(
            org.tenant_id, key, fingerprint(request), self.config.key_wait_seconds
        )
        if held == CONFLICT:
            return validation("The Idempotency-Key has been used with a different request")
        if held == BUSY:
            return problem(409, "Conflict", "The request holding this Idempotency-Key is running")
        if isinstance(held, Answer):
            with self._lock:
                self.replays += 1
            return held
        stored: Answer | None = None
        try:
            sent, stored = self._book(org, request, numbers)
        finally:
            self.keys.finish(org.tenant_id, key, stored)
        return sent

    def _book(
        self, org: Organisation, request: Request, numbers: list[str | None]
    ) -> tuple[Answer, Answer]:
        """What the write answers now, and what its key replays."""
        fault = self.faults.take(BOOKING_KINDS, numbers)
        kind = fault.kind if fault is not None else None
        if fault is not None and kind == "book_late":
            self.pause(fault.seconds)
        rng = random.Random(self.config.seed) if kind == "shuffle" else None
        reply = api.write(org, request, self.today(), self.config.max_batch, rng)
        if kind == "book_then_500":
            failed = server_error()
            return failed, failed  # Xero caches a 500 under the key too
        if kind == "book_then_drop":
            return DROP, reply
        return reply, reply

    def _record(self, request: Request, route: str, reply: Answer, at: float) -> Answer:
        key = request.header("Idempotency-Key")
        numbers = api.invoice_numbers(request) if request.method in ("PUT", "POST") else []
        entry = ReceivedRequest(
            request.method,
            request.path,
            [key[:128]] if key else [],
            [n for n in numbers if n],
            reply.status,
            at,
        )
        self._journal.add(entry)
        with self._lock:
            self._routes[route] += 1
        return reply
