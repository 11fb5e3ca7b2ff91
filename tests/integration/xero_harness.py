"""The Xero adapter against the Xero double over real HTTP: shared set-up.

`XeroRig` is a running double with one contact (Jane Doe, account number VOL-88) and one
expense account (code 6100), a stored connection for its tenant (tokens from the double's
grant) and a factory for adapters built by `make_ledger` on the test's database and clock.
Pacing never sleeps for real: `SkipTime` moves a monotonic clock (and the double's clock) on
instead, so the adapter's limits hold on the double's own clock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from storage.db import Database
from sync_engine.contract import Posting
from sync_engine.credentials import XERO, Tokens, connect
from sync_engine.ledger import make_ledger
from sync_engine.secret_box import SecretBox
from sync_engine.send_log import SendLog
from sync_engine.settings import Settings
from sync_engine.xero.adapter import XeroLedger
from sync_engine.xero_sim import Account, Contact, XeroSimulator
from tests.conftest import FakeClock

SECRET_KEY = Fernet.generate_key().decode()
CLIENT_ID, CLIENT_SECRET = "sim-client-id", "sim-client-secret"


def xero_settings(database_url: str, sim_url: str, tenant_id: str, **overrides: object) -> Settings:
    """Settings choosing the Xero ledger, every XERO_* URL on the double."""
    values: dict[str, object] = {
        "database_url": database_url,
        "ledger": "xero",
        "secret_key": SECRET_KEY,
        "xero_api_base_url": f"{sim_url}/api.xro/2.0",
        "xero_connections_url": f"{sim_url}/connections",
        "xero_auth_url": f"{sim_url}/identity/connect/authorize",
        "xero_token_url": f"{sim_url}/connect/token",
        "xero_client_id": CLIENT_ID,
        "xero_client_secret": CLIENT_SECRET,
        "xero_tenant_id": tenant_id,
        "xero_account_reimbursement": "6100",
        "xero_account_honorarium": "6100",
        "xero_concurrency": 5,
        "xero_rate_per_minute": 60,
        "xero_timeout_seconds": 5.0,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def record(source_id: str = "RMB-2026-0142", **extra: object) -> Posting:
    """An approved reimbursement for Jane Doe (VOL-88)."""
    values: dict[str, object] = {
        "source_id": source_id,
        "kind": "reimbursement",
        "payee_id": "VOL-88",
        "payee_name": "Jane Doe",
        "amount": Decimal("42.50"),
        "currency": "USD",
        "description": "Mileage, food bank drive 2026-11-14",
        "approved_at": datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC),
        "approved_by": "Finance lead",
    }
    values.update(extra)
    return Posting(**values)  # type: ignore[arg-type]


class SkipTime:
    """A monotonic clock that a `sleep` moves on at once, moving the double's clock too."""

    def __init__(self, sim: XeroSimulator) -> None:
        self._sim, self._lock = sim, threading.Lock()
        self.now, self.slept = 1000.0, 0.0

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self.now += seconds
            self.slept += seconds
            self._sim.advance(seconds)


@dataclass
class XeroRig:
    """A running double, the test's database and clock, and the adapters made on them."""

    sim: XeroSimulator
    database: Database
    database_url: str
    clock: FakeClock
    contact: Contact
    account: Account
    time: SkipTime
    ledgers: list[XeroLedger] = field(default_factory=list)

    @property
    def tenant_id(self) -> str:
        return self.sim.tenant_id

    def settings(self, **overrides: object) -> Settings:
        """The adapter's settings on this double."""
        return xero_settings(self.database_url, self.sim.url, self.tenant_id, **overrides)

    def connect(self, tenant_id: str | None = None) -> None:
        """Store a connection with tokens from the double (as `syncbot connect xero` would)."""
        granted = self.sim.grant()
        tokens = Tokens(granted.access_token, granted.refresh_token, granted.expires_in)
        box = SecretBox(SECRET_KEY)
        org = self.sim.org(tenant_id)
        connect(
            self.database,
            box,
            XERO,
            org.tenant_id,
            tokens,
            company_name=org.name,
            clock=self.clock,
        )

    def connect_as(self, tenant_id: str) -> None:
        """Store a connection under a tenant id the double does not serve (a wrong tenant)."""
        granted = self.sim.grant()
        tokens = Tokens(granted.access_token, granted.refresh_token, granted.expires_in)
        connect(self.database, SecretBox(SECRET_KEY), XERO, tenant_id, tokens, clock=self.clock)

    def ledger(
        self, transport: httpx.BaseTransport | None = None, **overrides: object
    ) -> XeroLedger:
        """An adapter built by `make_ledger`, closed at the end of the test."""
        options: dict[str, Any] = {"monotonic": self.time.monotonic, "sleep": self.time.sleep}
        if transport is not None:
            options["transport"] = transport
        made = make_ledger(
            self.settings(**overrides), send_log=SendLog(self.database, self.clock), **options
        )
        assert isinstance(made, XeroLedger)
        self.ledgers.append(made)
        return made

    def puts(self) -> list[Any]:
        """The writes the double received, by arrival."""
        return [r for r in self.sim.requests() if r.method == "PUT"]


@pytest.fixture
def xero(database: Database, database_url: str, clock: FakeClock) -> Iterator[XeroRig]:
    """The double with Jane Doe and account 6100, connected; adapters closed afterwards."""
    with XeroSimulator() as sim:
        org = sim.org()
        contact = org.add_contact("Jane Doe", account_number="VOL-88")
        account = org.add_account("6100", "Volunteer expenses")
        rig = XeroRig(sim, database, database_url, clock, contact, account, SkipTime(sim))
        rig.connect()
        yield rig
        for made in rig.ledgers:
            made.close()


class Recording(httpx.HTTPTransport):
    """The real HTTP transport, keeping each request (method, URL, headers, body) it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self._lock:
            self.sent.append(request)
        return super().handle_request(request)

    def writes(self) -> list[httpx.Request]:
        """The PUTs sent (invoice writes)."""
        return [r for r in self.sent if r.method == "PUT"]
