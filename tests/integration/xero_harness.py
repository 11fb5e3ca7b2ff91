"""The Xero adapter against the Xero double over real HTTP: shared set-up.

`XeroRig` is a running double with one contact (Jane Doe, account number VOL-88) and one
expense account (code 6100), a stored connection for its tenant (tokens from the double's
grant) and a factory for adapters built by `make_ledger` on the test's database and clock.
Pacing never sleeps for real: `SkipTime` moves a monotonic clock (and the double's clock) on
instead, so the adapter's limits hold on the double's own clock. The record, the recording
transport and the adapter factory are tests/integration/adapter_support.py's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from storage.db import Database
from sync_engine.credentials import XERO, Tokens, connect
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings
from sync_engine.xero.adapter import XeroLedger
from sync_engine.xero_sim import Account, Contact, XeroSimulator
from tests.conftest import FakeClock
from tests.integration.adapter_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET_KEY,
    make_adapter,
    record,
)
from tests.integration.adapter_support import Recording as SharedRecording

__all__ = ["SECRET_KEY", "Recording", "SkipTime", "XeroRig", "record", "xero", "xero_settings"]


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
        settings = self.settings(**overrides)
        return make_adapter(
            XeroLedger, settings, self.database, self.clock, self.ledgers, **options
        )

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


class Recording(SharedRecording):
    """The real HTTP transport, keeping each request it sends; `writes()`: the PUTs (invoice
    writes)."""

    write_method = "PUT"
