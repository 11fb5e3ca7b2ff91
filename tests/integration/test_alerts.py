"""The alert outbox read as bursts: drafts, their merging within 60 s, marking, the lease."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, text

from storage.db import Database
from storage.migrate import upgrade
from storage.models import AlertMessage, AlertOutbox
from sync_engine.gateway_sim import Fault
from tests.conftest import open_database, posting

ALERTS = "C0ALERTS"


def fail(engine, sim, numbers, fault="unavailable"):
    """Submit records `numbers` and fail their first posting."""
    engine.submit([posting(n) for n in numbers])
    sim.faults.add(Fault(kind=fault))
    engine.sync(requested_by="tester", via="cli")
    sim.faults.clear()


def unposted(database: Database) -> int:
    with database.reading() as session:
        return session.scalar(
            select(func.count()).select_from(AlertOutbox).where(AlertOutbox.posted_at.is_(None))
        )


def test_first_failures_make_one_draft_with_the_first_five_shown(database, make_engine_for, sim):
    engine = make_engine_for()
    assert engine.alert_outbox().next_draft(ALERTS) is None
    fail(engine, sim, range(1, 8))

    draft = engine.alert_outbox().next_draft(ALERTS)
    assert (draft.alert_id, draft.ts, draft.failed, draft.parked) == (None, None, 7, 0)
    assert draft.queue_total == 7 and draft.more == 2 and len(draft.outbox_ids) == 7
    first = draft.shown[0]
    assert first.source_id == "RMB-2026-0001" and first.amount == Decimal("1.25")
    assert first.error_class == "transient" and first.next_attempt_at is not None
    assert "503" in first.error and not first.parked

    alert_id = engine.alert_outbox().posted(draft, "1700000000.000100")
    assert unposted(database) == 0
    assert engine.alert_outbox().next_draft(ALERTS) is None
    with database.reading() as session:
        kept = session.get(AlertMessage, alert_id)
        assert (kept.channel, kept.ts, kept.failed) == (ALERTS, "1700000000.000100", 7)


def test_failures_within_the_minute_join_the_burst_and_later_ones_open_a_new_one(
    make_engine_for, sim, clock
):
    engine = make_engine_for()
    fail(engine, sim, [1, 2])
    first_id = engine.alert_outbox().posted(engine.alert_outbox().next_draft(ALERTS), "1.0001")

    clock.advance(seconds=59)
    fail(engine, sim, [3])
    joined = engine.alert_outbox().next_draft(ALERTS)
    assert (joined.alert_id, joined.ts, joined.failed, joined.queue_total) == (
        first_id,
        "1.0001",
        3,
        3,
    )
    assert [r.source_id for r in joined.shown] == [
        "RMB-2026-0001",
        "RMB-2026-0002",
        "RMB-2026-0003",
    ]
    assert engine.alert_outbox().posted(joined, "1.0001") == first_id

    clock.advance(seconds=2)  # 61 s after the burst's first failure
    fail(engine, sim, [4])
    fresh = engine.alert_outbox().next_draft(ALERTS)
    assert (fresh.alert_id, fresh.ts, fresh.failed) == (None, None, 1)
    assert engine.alert_outbox().posted(fresh, "2.0002") != first_id


def test_a_record_failing_again_does_not_alert_until_it_is_parked(make_engine_for, sim, clock):
    engine = make_engine_for(max_auto_attempts=1, backoff_base_seconds=1.0)
    fail(engine, sim, [1])
    clock.advance(seconds=2)
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="scheduler", via="scheduler")  # the one automatic retry: parked

    draft = engine.alert_outbox().next_draft(ALERTS)
    assert (draft.failed, draft.parked, len(draft.outbox_ids)) == (1, 1, 2)
    [shown] = draft.shown  # shown once, as parked
    assert shown.parked and shown.next_attempt_at is None and shown.retry_count == 1

    engine.alert_outbox().posted(draft, "3.0003")
    clock.advance(seconds=5)
    engine.retry_selected(["RMB-2026-0001"], requested_by="U1", via="slack")
    assert engine.alert_outbox().next_draft(ALERTS) is None  # a manual failure is no new alert


def test_a_dropped_alert_marks_its_rows_and_the_next_burst_posts_again(
    database, make_engine_for, sim
):
    engine = make_engine_for()
    fail(engine, sim, [1])
    engine.alert_outbox().posted(engine.alert_outbox().next_draft(ALERTS), None)
    assert unposted(database) == 0
    fail(engine, sim, [2])
    draft = engine.alert_outbox().next_draft(ALERTS)
    # The dropped alert's burst is still open: its message is posted anew, with both records.
    assert draft.ts is None and draft.alert_id is not None and draft.failed == 2


def test_one_process_at_a_time_holds_the_flushing_lease(make_engine_for, clock):
    alerts = make_engine_for().alert_outbox()
    assert alerts.take_turn("a", 30)
    assert not alerts.take_turn("b", 30)
    assert alerts.take_turn("a", 30)  # renewed
    clock.advance(seconds=31)
    assert alerts.take_turn("b", 30)  # a's lease expired
    assert not alerts.take_turn("a", 30)
    alerts.give_up_turn("b")
    assert alerts.take_turn("a", 30)


def test_migration_0003_keeps_the_outbox_rows_unposted(database_url):
    with open_database(database_url, migrate=False) as opened:
        db = opened.engine
        upgrade(db, "0002")
        with db.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alert_outbox (kind, created_at, payload)"
                    " VALUES ('first_failure', '2026-11-20 15:04:05', '{}')"
                )
            )
        upgrade(db)
        with db.connect() as conn:
            row = conn.execute(text("SELECT posted_at, alert_id FROM alert_outbox")).one()
            assert tuple(row) == (None, None)
            assert conn.execute(text("SELECT count(*) FROM alert_messages")).scalar() == 0
