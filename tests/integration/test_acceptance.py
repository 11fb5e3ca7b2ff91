"""The user's six acceptance criteria, end to end, once per ledger (`ledger_rigs.LEDGERS`):
real database (SQLite, PostgreSQL), real HTTP to the ledger's double."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Attempt, Record, RetryEvent, RetryEventItem, SyncLogEntry
from sync_engine.engine import SyncEngine
from sync_engine.policy import BackoffSettings, step_ceiling
from tests.conftest import LongestWait, posting
from tests.integration.ledger_rigs import (
    LedgerRig,
    ledger_rig,
    qbo,
    quickbooks_rig,
    records,
    xero,
    xero_rig,
)

__all__ = ["ledger_rig", "qbo", "quickbooks_rig", "xero", "xero_rig"]  # fixtures


def log_of(database: Database, source_id: str) -> SyncLogEntry:
    """The record's sync log entry, as stored."""
    with database.session() as session:
        return session.scalars(
            select(SyncLogEntry)
            .join(Record, Record.id == SyncLogEntry.record_id)
            .where(Record.source_id == source_id)
        ).one()


def failing_queue(rig: LedgerRig, n: int = 5, **overrides: object) -> SyncEngine:
    """An engine whose first `n` records all failed on their first posting (ledger offline)."""
    engine = rig.engine(**overrides)
    engine.submit(records(n))
    rig.fail_transiently()
    result = engine.sync(requested_by="tester", via="cli")
    assert len(result.initial.failed) == n
    rig.heal()
    assert rig.booked() == {}
    return engine


def test_1_failed_records_listed_with_errors_and_details(ledger_rig: LedgerRig) -> None:
    engine = ledger_rig.engine()
    engine.submit([posting(1), posting(2, payee_id="VOL-404", kind="honorarium"), posting(3)])
    words = ledger_rig.refuse_payee("VOL-404")
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
    assert all(word in (row.last_error or "") for word in words), (words, row.last_error)
    assert row.errors == (row.last_error,)
    assert engine.status().by_state["failed"] == 1
    assert engine.list_failed(kind="reimbursement").items == ()
    assert engine.list_failed(error_class="transient").items == ()
    assert ledger_rig.booked() == {"RMB-2026-0001": 1, "RMB-2026-0003": 1}


def test_a_refused_record_books_once_its_cause_is_fixed(ledger_rig: LedgerRig) -> None:
    engine = ledger_rig.engine()
    engine.submit([posting(2, payee_id="VOL-404", kind="honorarium")])
    ledger_rig.refuse_payee("VOL-404")
    engine.sync(requested_by="tester", via="cli")
    assert engine.list_failed().items[0].error_class == "needs_attention"

    ledger_rig.heal()  # the payee is created in the ledger
    result = engine.retry_selected(["HON-2026-0002"], requested_by="U1", via="slack")
    assert [s.source_id for s in result.succeeded] == ["HON-2026-0002"]
    assert ledger_rig.references("HON-2026-0002") == [result.succeeded[0].accounting_ref]
    assert ledger_rig.booked() == {"HON-2026-0002": 1}
    assert engine.list_failed().total == 0


def test_2_retry_selected_sends_exactly_those(ledger_rig: LedgerRig) -> None:
    engine = failing_queue(ledger_rig, 5)
    before = ledger_rig.mark()
    result = engine.retry_selected(
        ["RMB-2026-0002", "HON-2026-0005"], requested_by="U1", via="slack"
    )

    assert sorted(s.source_id for s in result.succeeded) == ["HON-2026-0005", "RMB-2026-0002"]
    assert sorted(ledger_rig.sent(before)) == ["HON-2026-0005", "RMB-2026-0002"]
    assert ledger_rig.booked() == {"HON-2026-0005": 1, "RMB-2026-0002": 1}
    assert {r.source_id for r in engine.list_failed().items} == {
        "HON-2026-0001",
        "HON-2026-0003",
        "RMB-2026-0004",
    }
    with ledger_rig.database.session() as session:
        event = session.get(RetryEvent, result.retry_event_id)
        assert event is not None
        assert (event.kind, event.via, event.requested_by, event.succeeded) == (
            "selected",
            "slack",
            "U1",
            2,
        )


def test_3_retry_all_is_one_event_through_the_batch_endpoint(ledger_rig: LedgerRig) -> None:
    engine = failing_queue(ledger_rig, 45)
    before = ledger_rig.mark()
    result = engine.retry_all(requested_by="U1", via="slack")

    assert len(result.succeeded) == 45 and not result.failed
    assert sorted(ledger_rig.batch_sizes(before)) == [15, 30]
    assert len(ledger_rig.sent(before)) == 45
    booked = ledger_rig.booked()
    assert len(booked) == 45 and set(booked.values()) == {1}
    assert ledger_rig.rate_limited() == 0
    with ledger_rig.database.session() as session:
        events = session.scalars(select(RetryEvent).where(RetryEvent.kind == "all")).all()
        assert len(events) == 1 and events[0].succeeded == 45
        items = session.scalars(
            select(RetryEventItem).where(RetryEventItem.retry_event_id == events[0].id)
        ).all()
        assert len(items) == 45
    assert engine.list_failed().total == 0


def test_4_success_leaves_the_queue_and_names_the_retry_event(ledger_rig: LedgerRig) -> None:
    engine = failing_queue(ledger_rig, 2)
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")

    entry = log_of(ledger_rig.database, "HON-2026-0001")
    assert entry.state == "succeeded"
    assert entry.retry_event_id == result.retry_event_id
    assert entry.accounting_ref == result.succeeded[0].accounting_ref
    assert ledger_rig.references("HON-2026-0001") == [entry.accounting_ref]
    assert [r.source_id for r in engine.list_failed().items] == ["RMB-2026-0002"]
    history = engine.history("HON-2026-0001")
    assert history.sync_log_retry_event_id == result.retry_event_id
    assert [a.outcome for a in history.attempts] == ["failed", "succeeded"]


def test_5_failing_again_appends_the_error_and_counts_the_retry(ledger_rig: LedgerRig) -> None:
    engine = failing_queue(ledger_rig, 1)
    first_error = engine.list_failed().items[0].last_error
    words = ledger_rig.close_books()
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="cli")

    assert result.failed[0].retry_count == 1
    row = engine.list_failed().items[0]
    assert row.retry_count == 1 and row.error_class == "needs_attention"
    assert row.errors[0] == first_error
    assert all(word in row.errors[1] for word in words), (words, row.errors[1])
    assert row.last_error == row.errors[1]
    with ledger_rig.database.session() as session:
        attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    assert [a.error_class for a in attempts] == ["transient", "needs_attention"]
    assert log_of(ledger_rig.database, "HON-2026-0001").state == "failed"
    assert ledger_rig.booked() == {}


def test_6_manual_retry_beats_pending_backoff_and_restarts_it(ledger_rig: LedgerRig) -> None:
    database, clock = ledger_rig.database, ledger_rig.clock
    engine = failing_queue(
        ledger_rig, 1, backoff_base_seconds=3600, max_auto_attempts=8, rng=LongestWait()
    )
    # Walk the streak to step 3 so its next automatic retry is hours away.
    ledger_rig.fail_transiently()
    for _ in range(2):
        due = log_of(database, "HON-2026-0001").next_attempt_at
        assert due is not None
        clock.now = due + timedelta(seconds=1)
        engine.sync(requested_by="scheduler", via="scheduler")
    entry = log_of(database, "HON-2026-0001")
    assert entry.auto_streak == 2
    assert entry.next_attempt_at == clock() + timedelta(hours=4)  # step 3: 3600 s * 2**2

    # The manual retry is sent now, not when the backoff says; it fails again...
    before = ledger_rig.mark()
    result = engine.retry_selected(["HON-2026-0001"], requested_by="U1", via="slack")
    assert ledger_rig.sent(before) == ["HON-2026-0001"]
    assert result.failed and result.failed[0].retry_count == 3

    # ...and the next automatic retry is scheduled from the first backoff step again.
    entry = log_of(database, "HON-2026-0001")
    assert entry.auto_streak == 0
    first_step = step_ceiling(1, BackoffSettings(3600, 21600, 8))
    assert entry.next_attempt_at == clock() + timedelta(seconds=first_step)  # 1 h, not 8 h
    # Nothing is sent before that time.
    before = ledger_rig.mark()
    engine.sync(requested_by="scheduler", via="scheduler")
    assert ledger_rig.sent(before) == []
    assert ledger_rig.booked() == {}
