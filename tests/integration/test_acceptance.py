"""The user's six acceptance criteria, end to end: real database, real HTTP to the simulator."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Attempt, Record, RetryEvent, RetryEventItem, SyncLogEntry
from sync_engine.gateway_sim import Fault
from sync_engine.policy import BackoffSettings, step_ceiling
from tests.conftest import LongestWait, posting


def sent_keys(sim, since: int = 0) -> list[str]:
    """Idempotency keys the gateway received in posting requests (single or batch)."""
    keys: list[str] = []
    for request in sim.requests()[since:]:
        if request.method == "POST":
            keys += request.idempotency_keys
    return keys


def key_of(database: Database, source_id: str) -> str:
    with database.session() as session:
        return session.scalars(
            select(Record.idempotency_key).where(Record.source_id == source_id)
        ).one()


def log_of(database: Database, source_id: str) -> SyncLogEntry:
    with database.session() as session:
        return session.scalars(
            select(SyncLogEntry)
            .join(Record, Record.id == SyncLogEntry.record_id)
            .where(Record.source_id == source_id)
        ).one()


def failing_queue(make_engine_for, sim, n: int = 5, **overrides):
    """An engine whose first `n` records all failed on their first posting (ledger offline)."""
    engine = make_engine_for(**overrides)
    engine.submit(
        [posting(i, kind="honorarium" if i % 2 else "reimbursement") for i in range(1, n + 1)]
    )
    sim.faults.add(Fault(kind="unavailable"))
    result = engine.sync(requested_by="tester", via="cli")
    assert len(result.initial.failed) == n
    sim.faults.clear()
    return engine


def test_1_failed_records_listed_with_errors_and_details(make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1), posting(2, payee_id="VOL-404", kind="honorarium"), posting(3)])
    sim.faults.add(
        Fault(kind="validation", payee_ids=("VOL-404",), detail="Payee VOL-404 does not exist")
    )
    engine.sync(requested_by="tester", via="cli")

    page = engine.list_failed()
    assert [r.source_id for r in page.items] == ["HON-2026-0002"]
    row = page.items[0]
    assert (row.kind, row.payee_id, str(row.amount), row.currency) == (
        "honorarium",
        "VOL-404",
        "2.25",
        "USD",
    )
    assert row.error_class == "needs_attention"
    assert "422" in row.last_error and "VOL-404" in row.last_error
    assert row.errors == (row.last_error,)
    assert engine.status().by_state["failed"] == 1
    assert engine.list_failed(kind="reimbursement").items == ()
    assert engine.list_failed(error_class="transient").items == ()


def test_2_retry_selected_sends_exactly_those(database, make_engine_for, sim):
    engine = failing_queue(make_engine_for, sim, 5)
    before = len(sim.requests())
    result = engine.retry_selected(
        ["RMB-2026-0002", "HON-2026-0005"], requested_by="U1", via="slack"
    )

    assert sorted(s.source_id for s in result.succeeded) == ["HON-2026-0005", "RMB-2026-0002"]
    assert sorted(sent_keys(sim, before)) == sorted(
        [key_of(database, "RMB-2026-0002"), key_of(database, "HON-2026-0005")]
    )
    assert {r.source_id for r in engine.list_failed().items} == {
        "HON-2026-0001",
        "HON-2026-0003",
        "RMB-2026-0004",
    }
    with database.session() as session:
        event = session.get(RetryEvent, result.retry_event_id)
        assert (event.kind, event.via, event.requested_by, event.succeeded) == (
            "selected",
            "slack",
            "U1",
            2,
        )


def test_3_retry_all_is_one_event_through_the_batch_endpoint(database, make_engine_for, sim):
    engine = failing_queue(make_engine_for, sim, 45)
    before = len(sim.requests())
    result = engine.retry_all(requested_by="U1", via="slack")

    assert len(result.succeeded) == 45 and not result.failed
    batches = [r for r in sim.requests()[before:] if r.path == "/v1/postings:batch"]
    assert sorted(len(r.idempotency_keys) for r in batches) == [15, 30]
    assert len(sent_keys(sim, before)) == 45
    with database.session() as session:
        events = session.scalars(select(RetryEvent).where(RetryEvent.kind == "all")).all()
        assert len(events) == 1 and events[0].succeeded == 45
        items = session.scalars(
            select(RetryEventItem).where(RetryEventItem.retry_event_id == events[0].id)
        ).all()
        assert len(items) == 45
    assert engine.list_failed().total == 0


def test_4_success_leaves_the_queue_and_names_the_retry_event(database, make_engine_for, sim):
    engine = failing_queue(make_engine_for, sim, 2)
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")

    entry = log_of(database, "HON-2026-0001")
    assert entry.state == "succeeded"
    assert entry.retry_event_id == result.retry_event_id
    assert entry.accounting_ref == result.succeeded[0].accounting_ref
    assert sim.bookings()[key_of(database, "HON-2026-0001")].id == entry.accounting_ref
    assert [r.source_id for r in engine.list_failed().items] == ["RMB-2026-0002"]
    history = engine.history("HON-2026-0001")
    assert history.sync_log_retry_event_id == result.retry_event_id
    assert [a.outcome for a in history.attempts] == ["failed", "succeeded"]


def test_5_failing_again_appends_the_error_and_counts_the_retry(database, make_engine_for, sim):
    engine = failing_queue(make_engine_for, sim, 1)
    first_error = engine.list_failed().items[0].last_error
    sim.faults.add(Fault(kind="validation", detail="Accounting period 2026-10 is closed"))
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")

    assert result.failed[0].retry_count == 1
    row = engine.list_failed().items[0]
    assert row.retry_count == 1
    assert row.errors[0] == first_error and "closed" in row.errors[1]
    assert row.last_error == row.errors[1]
    with database.session() as session:
        attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    assert [a.error_class for a in attempts] == ["transient", "needs_attention"]
    assert log_of(database, "HON-2026-0001").state == "failed"


def test_6_manual_retry_beats_pending_backoff_and_restarts_it(
    database, make_engine_for, sim, clock
):
    engine = failing_queue(
        make_engine_for, sim, 1, backoff_base_seconds=3600, max_auto_attempts=8, rng=LongestWait()
    )
    # Walk the streak to step 3 so its next automatic retry is hours away.
    sim.faults.add(Fault(kind="unavailable"))
    for _ in range(2):
        clock.now = log_of(database, "HON-2026-0001").next_attempt_at + timedelta(seconds=1)
        engine.sync(requested_by="scheduler", via="scheduler")
    entry = log_of(database, "HON-2026-0001")
    assert entry.auto_streak == 2
    assert entry.next_attempt_at == clock() + timedelta(hours=4)  # step 3: 3600 s * 2**2

    # The manual retry is sent now, not when the backoff says; it fails again...
    before = len(sim.requests())
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="slack")
    assert sent_keys(sim, before) == [key_of(database, "HON-2026-0001")]
    assert result.failed and result.failed[0].retry_count == 3

    # ...and the next automatic retry is scheduled from the first backoff step again.
    entry = log_of(database, "HON-2026-0001")
    assert entry.auto_streak == 0
    first_step = step_ceiling(1, BackoffSettings(3600, 21600, 8))
    assert entry.next_attempt_at == clock() + timedelta(seconds=first_step)  # 1 h, not 8 h
    # Nothing is sent before that time.
    before = len(sim.requests())
    engine.sync(requested_by="scheduler", via="scheduler")
    assert sent_keys(sim, before) == []
