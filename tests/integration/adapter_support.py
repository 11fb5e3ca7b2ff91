"""What the QuickBooks and Xero adapter harnesses share (tests/integration/qbo_harness.py,
tests/integration/xero_harness.py): the secret key and OAuth client the tests connect with,
the record they post, a recording HTTP transport, the adapter factory, and the engines their
rigs (tests/integration/ledger_rigs.py, tests/integration/xero_rig.py) build.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from cryptography.fernet import Fernet

from storage.db import Database
from sync_engine.build import build_engine
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from sync_engine.ledger import Ledger, make_ledger
from sync_engine.send_log import SendLog
from sync_engine.settings import Settings
from tests.conftest import FakeClock

SECRET_KEY = Fernet.generate_key().decode()
CLIENT_ID, CLIENT_SECRET = "sim-client-id", "sim-client-secret"

Adapter = TypeVar("Adapter")


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


def make_adapter(
    kind: type[Adapter],
    settings: Settings,
    database: Database,
    clock: FakeClock,
    made: list[Adapter],
    **options: Any,
) -> Adapter:
    """An adapter of `kind` built by `make_ledger` on the test's database and clock, kept in
    `made` for the harness to close at the end of the test."""
    ledger = make_ledger(settings, send_log=SendLog(database, clock), **options)
    assert isinstance(ledger, kind)
    made.append(ledger)
    return ledger


class Recording(httpx.HTTPTransport):
    """The real HTTP transport, keeping each request (method, URL, headers, body) it sends;
    `writes()` are the requests of `write_method` (the ledger's writes)."""

    write_method = "POST"

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
        """The writes sent."""
        return [r for r in self.sent if r.method == self.write_method]


class Engines:
    """The engines a ledger rig builds with `build_engine` on the test's database and clock,
    closed together at the end of the test."""

    def __init__(self, database: Database, clock: FakeClock) -> None:
        self.database, self.clock = database, clock
        self._made: list[SyncEngine] = []

    def build(
        self,
        settings: Callable[..., Settings],
        overrides: dict[str, object],
        ledger: Callable[[Settings], Ledger] | None = None,
    ) -> SyncEngine:
        """An engine on `settings(**overrides)` (an `rng` among them is the engine's, else a
        seeded one) and, if `ledger` is given, the adapter it builds on them."""
        values = dict(overrides)
        rng = values.pop("rng", None)
        assert rng is None or isinstance(rng, random.Random)
        made_settings = settings(**values)
        made = build_engine(
            made_settings,
            database=self.database,
            ledger=None if ledger is None else ledger(made_settings),
            clock=self.clock,
            rng=rng or random.Random(7),
        )
        self._made.append(made)
        return made

    def close(self) -> None:
        """Close the engines made."""
        for made in self._made:
            made.close()
