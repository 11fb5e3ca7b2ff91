"""One ledger behind the engine, for tests that must hold whatever the ledger is.

A `LedgerRig` builds engines on the test's database with one ledger (the gateway simulator,
the QuickBooks double, ...), makes postings fail (transiently, or as `needs_attention`) and
heals them, and says what the ledger received and booked, per record. The `ledger_rig`
fixture runs a test once per rig (and, through `database`, once per database); a test module
using it imports the fixtures `ledger_rig`, `quickbooks_rig`, `qbo`, `xero_rig` and `xero` from
here. A new ledger adds a rig class, its name to `LEDGERS` and a branch in `ledger_rig`; the
Xero rig lives in tests/integration/xero_rig.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Protocol

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Record
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, GatewaySimulator
from sync_engine.quickbooks_sim import PlannedFault
from tests.conftest import FakeClock, posting
from tests.integration.adapter_support import Engines
from tests.integration.qbo_harness import Qbo, qbo
from tests.integration.xero_harness import XeroRig as XeroHarness
from tests.integration.xero_harness import xero
from tests.integration.xero_rig import XeroRig

__all__ = [
    "LEDGERS",
    "LedgerRig",
    "XeroRig",
    "ledger_rig",
    "qbo",
    "quickbooks_rig",
    "records",
    "xero",
    "xero_rig",
]

LEDGERS = ("gateway", "quickbooks", "xero")
VENDORS = 45  # payees VOL-1 .. VOL-45 exist in every ledger (`records` uses them)


class LedgerRig(Protocol):
    """What a ledger-independent test needs from the ledger behind the engine."""

    name: str
    database: Database
    clock: FakeClock

    def engine(self, **overrides: object) -> SyncEngine:
        """An engine on the test's database, clock and this ledger (settings `overrides`)."""
        ...

    def fail_transiently(self) -> None:
        """Every posting from now fails as the ledger being unavailable (503), until `heal`."""
        ...

    def refuse_payee(self, payee_id: str) -> tuple[str, ...]:
        """Postings to `payee_id` fail as `needs_attention` (the payee is unknown), until
        `heal`; the words the failed queue's error must carry."""
        ...

    def close_books(self) -> tuple[str, ...]:
        """Every posting fails as `needs_attention` (a closed period), until `heal`; the
        words the failed queue's error must carry."""
        ...

    def heal(self) -> None:
        """Undo every failure set up above: postings succeed again."""
        ...

    def mark(self) -> int:
        """A position in the ledger's request log, for `sent` and `batch_sizes`."""
        ...

    def sent(self, since: int = 0) -> list[str]:
        """Source ids of the records the ledger received in writes after `since`."""
        ...

    def batch_sizes(self, since: int = 0) -> list[int]:
        """How many records each batch request after `since` carried, in arrival order."""
        ...

    def booked(self) -> dict[str, int]:
        """Source id -> how many times the ledger booked it (more than 1: a double booking)."""
        ...

    def references(self, source_id: str) -> list[str]:
        """The ledger's references of what it booked for `source_id`."""
        ...

    def rate_limited(self) -> int:
        """How many requests the ledger refused with a 429."""
        ...


def records(n: int) -> list[Posting]:
    """Records 1..n, honoraria (odd) and reimbursements (even), each with its own payee."""
    assert n <= VENDORS
    return [
        posting(i, kind="honorarium" if i % 2 else "reimbursement", payee_id=f"VOL-{i}")
        for i in range(1, n + 1)
    ]


class GatewayRig:
    """The accounting gateway's simulator, keyed by idempotency key (mapped back to records)."""

    name = "gateway"

    def __init__(
        self,
        sim: GatewaySimulator,
        build: Callable[..., SyncEngine],
        database: Database,
        clock: FakeClock,
    ) -> None:
        self.sim, self._build, self.database, self.clock = sim, build, database, clock

    def engine(self, **overrides: object) -> SyncEngine:
        """An engine from conftest's `make_engine_for` (closed at the end of the test)."""
        return self._build(**overrides)

    def fail_transiently(self) -> None:
        """The gateway answers 503 to everything."""
        self.sim.faults.add(Fault(kind="unavailable"))

    def refuse_payee(self, payee_id: str) -> tuple[str, ...]:
        """A 422 for the payee's postings, as the gateway words an unknown payee."""
        detail = f"Payee {payee_id} does not exist"
        self.sim.faults.add(Fault(kind="validation", payee_ids=(payee_id,), detail=detail))
        return ("422", payee_id)

    def close_books(self) -> tuple[str, ...]:
        """A 422 for every posting: the period is closed."""
        self.sim.faults.add(Fault(kind="validation", detail="Accounting period 2026-10 is closed"))
        return ("422", "closed")

    def heal(self) -> None:
        """No more faults."""
        self.sim.faults.clear()

    def mark(self) -> int:
        """Requests answered so far."""
        return len(self.sim.requests())

    def sent(self, since: int = 0) -> list[str]:
        """Records whose idempotency key a posting request carried (a stranger key: `?key`)."""
        names = self._source_ids()
        return [
            names.get(key, f"?{key}")
            for request in self.sim.requests()[since:]
            if request.method == "POST"
            for key in request.idempotency_keys
        ]

    def batch_sizes(self, since: int = 0) -> list[int]:
        """Keys per request to the batch endpoint."""
        return [
            len(r.idempotency_keys)
            for r in self.sim.requests()[since:]
            if r.path == "/v1/postings:batch"
        ]

    def booked(self) -> dict[str, int]:
        """Bookings per record, through its idempotency key."""
        names = self._source_ids()
        return {names.get(k, f"?{k}"): n for k, n in self.sim.booking_counts().items()}

    def references(self, source_id: str) -> list[str]:
        """The booking's id under the record's key."""
        keys = {name: key for key, name in self._source_ids().items()}
        booking = self.sim.bookings().get(keys[source_id])
        return [] if booking is None else [booking.id]

    def rate_limited(self) -> int:
        """429s answered."""
        return int(self.sim.stats()["rate_limited"])

    def _source_ids(self) -> dict[str, str]:
        with self.database.session() as session:
            rows = session.execute(select(Record.idempotency_key, Record.source_id)).all()
        return {key: source_id for key, source_id in rows}


class QuickBooksRig:
    """The QuickBooks double through the adapter, Bills found by their `syncbot:` marker."""

    name = "quickbooks"

    def __init__(self, qbo: Qbo) -> None:
        self.qbo, self.database, self.clock = qbo, qbo.database, qbo.clock
        self._engines = Engines(qbo.database, qbo.clock)
        self._missing: list[str] = []
        for n in range(1, VENDORS + 1):
            qbo.sim.add_vendor(f"Volunteer VOL-{n}", acct_num=f"VOL-{n}")

    def engine(self, **overrides: object) -> SyncEngine:
        """`build_engine` with `ACCOUNTING_LEDGER=quickbooks`; looked up at once when uncertain."""
        values: dict[str, object] = {"qbo_settle_seconds": 0}
        values.update(overrides)
        return self._engines.build(self.qbo.settings, values)

    def close(self) -> None:
        """Close the engines made."""
        self._engines.close()

    def fail_transiently(self) -> None:
        """Bill creates and batches answer 503 (nothing booked)."""
        self.qbo.sim.faults.add(PlannedFault(kind="unavailable", routes=("bill", "batch")))

    def refuse_payee(self, payee_id: str) -> tuple[str, ...]:
        """The everyday case: QuickBooks has no vendor for the payee."""
        vendors = self.qbo.sim.company().vendors
        assert all(v.acct_num != payee_id for v in vendors.values()), payee_id
        self._missing.append(payee_id)
        return (f"QuickBooks has no active vendor with account no. '{payee_id}'",)

    def close_books(self) -> tuple[str, ...]:
        """The books are closed through the end of November (6210)."""
        self.qbo.sim.company().closed_through = date(2026, 11, 30)
        return ("QuickBooks books are closed for 2026-11-30", "6210")

    def heal(self) -> None:
        """No more faults, the books open, the missing vendors created (by account number)."""
        self.qbo.sim.faults.clear()
        self.qbo.sim.company().closed_through = None
        for payee_id in self._missing:
            self.qbo.sim.add_vendor(f"Volunteer {payee_id}", acct_num=payee_id)
        self._missing.clear()

    def mark(self) -> int:
        """Requests answered so far."""
        return len(self.qbo.sim.requests())

    def sent(self, since: int = 0) -> list[str]:
        """Markers of the Bills in each create or batch."""
        return [
            marker
            for request in self.qbo.sim.requests()[since:]
            if request.method == "POST"
            for marker in request.source_ids
        ]

    def batch_sizes(self, since: int = 0) -> list[int]:
        """Bills per batch request."""
        return [
            len(r.source_ids)
            for r in self.qbo.sim.requests()[since:]
            if r.method == "POST" and r.path.endswith("/batch")
        ]

    def booked(self) -> dict[str, int]:
        """Bills per marker."""
        return self.qbo.sim.marker_counts()

    def references(self, source_id: str) -> list[str]:
        """The ids of the Bills carrying the record's marker."""
        return [bill.id for bill in self.qbo.bills_of(source_id)]

    def rate_limited(self) -> int:
        """429s answered."""
        return int(self.qbo.sim.stats()["rate_limited"])


@pytest.fixture
def quickbooks_rig(qbo: Qbo) -> Iterator[QuickBooksRig]:
    """The QuickBooks rig on the `qbo` harness (vendors VOL-1..45 created); engines closed."""
    rig = QuickBooksRig(qbo)
    yield rig
    rig.close()


@pytest.fixture
def xero_rig(xero: XeroHarness) -> Iterator[XeroRig]:
    """The Xero rig on the `xero` harness (contacts VOL-1..45 added); engines closed."""
    rig = XeroRig(xero, VENDORS)
    yield rig
    rig.close()


@pytest.fixture(params=LEDGERS)
def ledger_rig(request: pytest.FixtureRequest, database: Database, clock: FakeClock) -> LedgerRig:
    """Each ledger in turn, on the test's database (SQLite, PostgreSQL) and clock."""
    if request.param == "quickbooks":
        found: QuickBooksRig = request.getfixturevalue("quickbooks_rig")
        return found
    if request.param == "xero":
        on_xero: XeroRig = request.getfixturevalue("xero_rig")
        return on_xero
    sim: GatewaySimulator = request.getfixturevalue("sim")
    return GatewayRig(sim, request.getfixturevalue("make_engine_for"), database, clock)
