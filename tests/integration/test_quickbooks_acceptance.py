"""The six acceptance criteria through `build_engine` with `ACCOUNTING_LEDGER=quickbooks`,
against the QuickBooks double: the engine sees only the port; the double's Bills prove it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import Record, SyncLogEntry
from sync_engine.build import build_engine
from sync_engine.engine import SyncEngine
from sync_engine.quickbooks_sim import PlannedFault
from tests.conftest import posting
from tests.integration.qbo_harness import Qbo, qbo

__all__ = ["qbo"]
Build = Callable[..., SyncEngine]


@pytest.fixture
def engine_for(qbo: Qbo) -> Iterator[Build]:
    """Engines on the test's database, clock and QuickBooks double (closed afterwards)."""
    for n in range(1, 46):
        qbo.sim.add_vendor(f"Volunteer VOL-{n}", acct_num=f"VOL-{n}")
    made: list[SyncEngine] = []

    def build(**overrides: object) -> SyncEngine:
        values: dict[str, object] = {"qbo_settle_seconds": 0}
        values.update(overrides)
        engine = build_engine(
            qbo.settings(**values), database=qbo.database, clock=qbo.clock, rng=random.Random(7)
        )
        made.append(engine)
        return engine

    yield build
    for engine in made:
        engine.close()


def records(n: int) -> list:
    """Records 1..n, honoraria and reimbursements, each with its own vendor."""
    return [
        posting(i, kind="honorarium" if i % 2 else "reimbursement", payee_id=f"VOL-{i}")
        for i in range(1, n + 1)
    ]


def failing_queue(qbo: Qbo, engine_for: Build, n: int) -> SyncEngine:
    """An engine whose first `n` records failed on their first posting (QuickBooks 503)."""
    engine = engine_for()
    engine.submit(records(n))
    qbo.sim.faults.add(PlannedFault(kind="unavailable", routes=("bill", "batch")))
    result = engine.sync(requested_by="tester", via="cli")
    assert len(result.initial.failed) == n
    qbo.sim.faults.clear()
    assert qbo.sim.bills() == []
    return engine


def test_1_failed_records_listed_with_the_admins_message(qbo: Qbo, engine_for: Build) -> None:
    engine = engine_for()
    missing = posting(2, payee_id="VOL-404", kind="honorarium")
    engine.submit([posting(1, payee_id="VOL-1"), missing, posting(3, payee_id="VOL-3")])
    engine.sync(requested_by="tester", via="cli")
    [row] = engine.list_failed().items
    assert (row.source_id, row.error_class) == ("HON-2026-0002", "needs_attention")
    assert "QuickBooks has no active vendor with account no. 'VOL-404'" in (row.last_error or "")
    assert set(qbo.sim.marker_counts()) == {"RMB-2026-0001", "RMB-2026-0003"}


def test_the_everyday_case_vendor_created_then_retry_selected_books(
    qbo: Qbo, engine_for: Build
) -> None:
    engine = engine_for()
    engine.submit([posting(7, payee_id="VOL-700", kind="honorarium")])
    engine.sync(requested_by="tester", via="cli")
    assert engine.list_failed().items[0].error_class == "needs_attention"
    qbo.sim.add_vendor("Volunteer VOL-700")  # the bookkeeper creates it (by name)
    result = engine.retry_selected(["HON-2026-0007"], requested_by="U1", via="slack")
    [bill] = qbo.bills_of("HON-2026-0007")
    assert result.succeeded[0].accounting_ref == bill.id
    assert engine.list_failed().total == 0


def test_2_retry_selected_sends_exactly_those(qbo: Qbo, engine_for: Build) -> None:
    engine = failing_queue(qbo, engine_for, 5)
    result = engine.retry_selected(["RMB-2026-0002", "HON-2026-0005"], requested_by="U1", via="cli")
    assert sorted(s.source_id for s in result.succeeded) == ["HON-2026-0005", "RMB-2026-0002"]
    assert qbo.sim.marker_counts() == {"HON-2026-0005": 1, "RMB-2026-0002": 1}
    assert {r.source_id for r in engine.list_failed().items} == {
        "HON-2026-0001",
        "HON-2026-0003",
        "RMB-2026-0004",
    }


def test_3_retry_all_goes_through_batches_one_bill_each(qbo: Qbo, engine_for: Build) -> None:
    engine = failing_queue(qbo, engine_for, 45)
    before = qbo.sim.requests_by_route().get("POST batch", 0)
    result = engine.retry_all(requested_by="U1", via="slack")
    assert len(result.succeeded) == 45 and not result.failed
    assert qbo.sim.requests_by_route()["POST batch"] - before == 2
    counts = qbo.sim.marker_counts()
    assert len(counts) == 45 and set(counts.values()) == {1}
    assert qbo.sim.stats()["rate_limited"] == 0


def test_4_success_leaves_the_queue_with_the_bill_id(qbo: Qbo, engine_for: Build) -> None:
    engine = failing_queue(qbo, engine_for, 2)
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")
    [bill] = qbo.bills_of("HON-2026-0001")
    assert result.succeeded[0].accounting_ref == bill.id
    assert [r.source_id for r in engine.list_failed().items] == ["RMB-2026-0002"]
    history = engine.history("HON-2026-0001")
    assert [a.outcome for a in history.attempts] == ["failed", "succeeded"]


def test_5_failing_again_appends_the_error(qbo: Qbo, engine_for: Build) -> None:
    engine = failing_queue(qbo, engine_for, 1)
    first_error = engine.list_failed().items[0].last_error
    qbo.sim.company().closed_through = date(2026, 11, 30)
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")
    assert result.failed[0].retry_count == 1
    row = engine.list_failed().items[0]
    assert row.errors[0] == first_error
    assert "QuickBooks books are closed for 2026-11-30" in row.errors[1]
    assert "6210" in row.errors[1] and row.error_class == "needs_attention"


def test_uncertain_postings_wait_to_be_looked_up_and_never_duplicate(
    qbo: Qbo, engine_for: Build
) -> None:
    engine = engine_for(qbo_settle_seconds=180)
    engine.submit(records(3))
    qbo.sim.faults.add(PlannedFault(kind="book_then_500", routes=("batch",), count=1))
    engine.sync(requested_by="tester", via="cli")
    assert engine.list_failed().total == 3
    assert all(row.error_class == "transient" for row in engine.list_failed().items)
    # A manual retry before the settle time neither sends nor books.
    engine.retry_all(requested_by="U1", via="cli")
    assert qbo.sim.requests_by_route().get("POST batch") == 1
    qbo.clock.advance(seconds=200)
    result = engine.retry_all(requested_by="U1", via="cli")
    assert len(result.succeeded) == 3
    assert qbo.sim.marker_counts() == {"HON-2026-0001": 1, "RMB-2026-0002": 1, "HON-2026-0003": 1}
    assert qbo.sim.requests_by_route().get("POST batch") == 1


def test_6_manual_retry_beats_pending_backoff_and_restarts_it(qbo: Qbo, engine_for: Build) -> None:
    engine = engine_for(backoff_base_seconds=3600, max_auto_attempts=8)
    engine.submit([posting(1, kind="honorarium", payee_id="VOL-1")])
    qbo.sim.faults.add(PlannedFault(kind="unavailable", routes=("bill", "batch")))
    engine.sync(requested_by="tester", via="cli")
    for _ in range(2):  # walk the streak to step 3: its next automatic retry is hours away
        qbo.clock.now = due(qbo, "HON-2026-0001") + timedelta(seconds=1)
        engine.sync(requested_by="scheduler", via="scheduler")
    entry = log_of(qbo, "HON-2026-0001")
    assert entry.auto_streak == 2 and due(qbo, "HON-2026-0001") > qbo.clock() + timedelta(hours=1)

    before = writes(qbo)
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="slack")
    assert writes(qbo) == before + 1  # sent now, not when the backoff says
    assert result.failed and result.failed[0].retry_count == 3
    entry = log_of(qbo, "HON-2026-0001")
    assert entry.auto_streak == 0
    assert due(qbo, "HON-2026-0001") <= qbo.clock() + timedelta(seconds=3600)
    before = writes(qbo)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert writes(qbo) == before  # nothing is sent before that time
    assert qbo.sim.bills() == []


def writes(qbo: Qbo) -> int:
    """Bill creates and batches the double answered."""
    routes = qbo.sim.requests_by_route()
    return routes.get("POST bill", 0) + routes.get("POST batch", 0)


def log_of(qbo: Qbo, source_id: str) -> SyncLogEntry:
    """The record's sync log entry, as stored."""
    with qbo.database.session() as session:
        return session.scalars(
            select(SyncLogEntry)
            .join(Record, Record.id == SyncLogEntry.record_id)
            .where(Record.source_id == source_id)
        ).one()


def due(qbo: Qbo, source_id: str) -> datetime:
    """When the record's next automatic attempt is due."""
    found = log_of(qbo, source_id).next_attempt_at
    assert found is not None
    return found


def test_a_revoked_connection_parks_records_and_reconnecting_books_them(
    qbo: Qbo, engine_for: Build
) -> None:
    engine = engine_for()
    engine.submit(records(3))
    qbo.sim.authority.revoke_all()  # the company disconnected the app
    qbo.sim.authority.expire_access_tokens()
    engine.sync(requested_by="tester", via="cli")
    failed = engine.list_failed().items
    assert {row.error_class for row in failed} == {"auth"} and len(failed) == 3
    assert "reconnect syncbot to QuickBooks" in (failed[0].last_error or "")
    assert engine.outage() is not None and qbo.sim.bills() == []

    qbo.connect()  # `syncbot connect quickbooks` stores a new token set
    qbo.clock.advance(hours=1)  # the outage's next probe is due
    engine.sync(requested_by="scheduler", via="scheduler")
    qbo.clock.advance(hours=1)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert engine.outage() is None
    assert qbo.sim.marker_counts() == {"HON-2026-0001": 1, "RMB-2026-0002": 1, "HON-2026-0003": 1}
    assert engine.list_failed().total == 0
