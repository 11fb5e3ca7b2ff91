"""The QuickBooks adapter against the QuickBooks double over real HTTP: shared set-up.

`Qbo` is a running double with one vendor (Jane Doe, account no. VOL-88) and one expense
account (6100 Travel), a stored connection (tokens from the double's Playground-style grant)
and a factory for adapters on the test's database and clock. The record, the recording
transport (writes: POSTs) and the adapter factory are tests/integration/adapter_support.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from storage.db import Database
from sync_engine.credentials import QUICKBOOKS, Tokens, connect
from sync_engine.quickbooks.adapter import QuickBooksLedger
from sync_engine.quickbooks_sim import Account, QuickBooksSimulator, Vendor
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings
from tests.conftest import FakeClock
from tests.integration.adapter_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    SECRET_KEY,
    Recording,
    make_adapter,
    record,
)

__all__ = ["SECRET_KEY", "Qbo", "Recording", "qbo", "qbo_settings", "record"]


def qbo_settings(database_url: str, sim_url: str, realm_id: str, **overrides: object) -> Settings:
    """Settings choosing the QuickBooks ledger, every URL on the double; fast, no pacing."""
    values: dict[str, object] = {
        "database_url": database_url,
        "ledger": "quickbooks",
        "secret_key": SECRET_KEY,
        "qbo_api_base_url": sim_url,
        "qbo_auth_url": f"{sim_url}/connect/oauth2",
        "qbo_token_url": f"{sim_url}/oauth2/v1/tokens/bearer",
        "qbo_revoke_url": f"{sim_url}/v2/oauth2/tokens/revoke",
        "qbo_client_id": CLIENT_ID,
        "qbo_client_secret": CLIENT_SECRET,
        "qbo_realm_id": realm_id,
        "qbo_account_reimbursement": "6100",
        "qbo_account_honorarium": "6100",
        "qbo_rate_per_second": 1000,
        "qbo_rate_per_minute": 60000,
        "qbo_batch_per_minute": 6000,
        "qbo_timeout_seconds": 5.0,
        "qbo_settle_seconds": 180.0,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class Qbo:
    """A running double, the test's database and clock, and the adapters made on them."""

    sim: QuickBooksSimulator
    database: Database
    database_url: str
    clock: FakeClock
    vendor: Vendor
    account: Account
    ledgers: list[QuickBooksLedger] = field(default_factory=list)
    granted: Any = None  # the token set stored by `connect`

    def settings(self, **overrides: object) -> Settings:
        """The adapter's settings on this double."""
        return qbo_settings(self.database_url, self.sim.url, self.sim.realm_id, **overrides)

    def connect(self) -> None:
        """Store a connection with tokens from the double (as `syncbot connect` would)."""
        granted = self.granted = self.sim.grant()
        tokens = Tokens(
            granted.access_token,
            granted.refresh_token,
            granted.expires_in,
            granted.refresh_expires_in,
        )
        box = SecretBox(SECRET_KEY)
        connect(self.database, box, QUICKBOOKS, self.sim.realm_id, tokens, clock=self.clock)

    def ledger(
        self, transport: httpx.BaseTransport | None = None, **overrides: object
    ) -> QuickBooksLedger:
        """An adapter built by `make_ledger`, closed at the end of the test."""
        options: dict[str, Any] = {} if transport is None else {"transport": transport}
        settings = self.settings(**overrides)
        return make_adapter(
            QuickBooksLedger, settings, self.database, self.clock, self.ledgers, **options
        )

    def bills_of(self, source_id: str) -> list[Any]:
        """The double's Bills carrying the record's marker."""
        return self.sim.bills_by_marker().get(source_id, [])


@pytest.fixture
def qbo(database: Database, database_url: str, clock: FakeClock) -> Iterator[Qbo]:
    """The double with Jane Doe and account 6100, connected; adapters closed afterwards."""
    with QuickBooksSimulator() as sim:
        vendor = sim.add_vendor("Jane Doe", acct_num="VOL-88")
        account = sim.add_account("Travel", acct_num="6100")
        harness = Qbo(sim, database, database_url, clock, vendor, account)
        harness.connect()
        yield harness
        for made in harness.ledgers:
            made.close()
