"""The outage pause: it engages on a streak of transient failures or an auth failure, alerts
once, stops automatic sends, probes on backoff, and resumes by itself."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import AlertOutbox, SyncLogEntry
from sync_engine.gateway_sim import Fault
from tests.conftest import posting

ALERTS = "C0ALERTS"


def outbox(database: Database, kind=None):
    with database.reading() as session:
        query = select(AlertOutbox.kind, AlertOutbox.payload).order_by(AlertOutbox.id)
        rows = session.execute(query).all()
    return [(k, json.loads(p)) for k, p in rows if kind is None or k == kind]


def posted(sim):
    """Posting requests the gateway received (lookups aside)."""
    return [r for r in sim.requests() if r.method == "POST"]


def test_five_transient_failures_in_a_row_pause_automatic_sends(
    database, make_engine_for, sim, clock
):
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 9)])
    sim.faults.add(Fault(kind="unavailable"))

    result = engine.sync(requested_by="scheduler", via="scheduler")

    # Singles are separate requests: the fifth failure begins the outage; nothing more is sent.
    assert len(posted(sim)) == 5
    assert result.outage is not None and result.outage.since == clock()
    assert "5 transient failures in a row" in result.outage.reason
    assert "503" in result.outage.reason
    [(_, alert)] = outbox(database, "outage")
    assert alert["reason"] == result.outage.reason
    # The five failures were written together, with the outage: its message replaces theirs.
    assert outbox(database, "first_failure") == []
    assert engine.status().by_state["pending"] == 3

    # The next tick, before the probe is due, sends nothing at all.
    clock.advance(seconds=5)
    again = engine.sync(requested_by="scheduler", via="scheduler")
    assert again.outage == result.outage
    assert len(sim.requests()) == 5


def test_429s_do_not_count_and_a_whole_failed_batch_counts_once(make_engine_for, sim):
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 9)])
    sim.faults.add(Fault(kind="rate_limit", retry_after=0))
    assert engine.sync(requested_by="s", via="scheduler").outage is None
    assert len(posted(sim)) == 8

    batches = make_engine_for(batch_size=10, concurrency=1)
    batches.submit([posting(n) for n in range(11, 51)])  # four batches of 10
    sim.faults.clear()
    sim.faults.add(Fault(kind="unavailable"))
    assert batches.sync(requested_by="s", via="scheduler").outage is None
    batches.submit([posting(n) for n in range(51, 61)])  # the fifth failed request
    assert batches.sync(requested_by="s", via="scheduler").outage is not None


def test_an_answer_from_a_working_gateway_resets_the_streak(make_engine_for, sim):
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 5)])
    sim.faults.add(Fault(kind="unavailable", count=4))
    engine.sync(requested_by="s", via="scheduler")
    engine.submit([posting(5)])
    engine.sync(requested_by="s", via="scheduler")  # succeeds: the streak starts again
    engine.submit([posting(n) for n in range(6, 10)])
    sim.faults.add(Fault(kind="unavailable", count=4))
    assert engine.sync(requested_by="s", via="scheduler").outage is None
    assert engine.outage() is None


def test_an_auth_failure_pauses_at_once_and_recovery_returns_its_records(
    database, make_engine_for, sim, clock
):
    engine = make_engine_for(batch_size=1, concurrency=1, backoff_base_seconds=60)
    engine.submit([posting(n) for n in range(1, 4)])
    sim.faults.add(Fault(kind="auth"))
    result = engine.sync(requested_by="s", via="scheduler")
    assert len(posted(sim)) == 1
    assert result.outage is not None and result.outage.reason.startswith("credentials refused")
    first = engine.history("RMB-2026-0001")
    assert first.error_class == "auth" and first.parked
    assert outbox(database, "first_failure") == [] and outbox(database, "parked") == []

    # The probe is due after the probe base (15 s); while the token is refused it fails, and
    # the next one waits twice as long.
    clock.advance(seconds=16)
    still = engine.sync(requested_by="s", via="scheduler")
    assert still.outage is not None and still.outage.probes == 1
    assert still.outage.next_probe_at == clock() + timedelta(seconds=30)
    lookups = [r for r in sim.requests() if r.method == "GET"]
    assert len(lookups) == 1 and lookups[0].status == 401

    sim.faults.clear()
    clock.advance(seconds=31)
    resumed = engine.sync(requested_by="s", via="scheduler")
    assert resumed.outage is None and engine.outage() is None
    # The pending records went out in the same tick; the parked one is back at step 1.
    assert {s.source_id for s in resumed.initial.succeeded} == {"RMB-2026-0002", "RMB-2026-0003"}
    back = engine.history("RMB-2026-0001")
    assert not back.parked and back.sync_log_state == "failed"
    assert clock() <= back.next_attempt_at <= clock() + timedelta(seconds=60)
    with database.reading() as session:
        entry = session.scalars(select(SyncLogEntry).where(SyncLogEntry.record_id == 1)).one()
        assert entry.auto_streak == 0
    [(_, recovered)] = outbox(database, "recovered")
    assert recovered["returned"] == 1 and recovered["reason"].startswith("credentials refused")


def test_manual_retries_still_send_during_an_outage(make_engine_for, sim):
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 6)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="s", via="scheduler")
    assert engine.outage() is not None
    before = len(posted(sim))

    # The gateway is still down: the manual attempt is sent all the same, and fails.
    result = engine.retry_selected(["RMB-2026-0003"], requested_by="U1", via="slack")
    assert [f.source_id for f in result.failed] == ["RMB-2026-0003"]
    assert len(posted(sim)) == before + 1
    assert engine.outage() is not None  # a failure ends nothing (a success would: see
    # tests/integration/test_outage_end.py)


def test_the_outage_message_replaces_the_unposted_record_alerts(
    database, make_engine_for, sim, clock
):
    engine = make_engine_for(batch_size=1, concurrency=1, backoff_base_seconds=3600)
    engine.submit([posting(n) for n in range(1, 4)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="s", via="scheduler")  # three first failures, alerted
    assert len(outbox(database, "first_failure")) == 3
    engine.submit([posting(n) for n in range(4, 6)])
    engine.sync(requested_by="s", via="scheduler")  # two more: the outage, no record alerts
    assert len(outbox(database, "first_failure")) == 3

    draft = engine.alert_outbox().next_outage_draft(ALERTS)
    assert draft.kind == "outage" and draft.ts is None and len(draft.outbox_ids) == 4
    engine.alert_outbox().posted_outage(draft, "9.0009")
    assert engine.alert_outbox().next_draft(ALERTS) is None  # the four record alerts went with it
    assert engine.alert_outbox().next_outage_draft(ALERTS) is None

    sim.faults.clear()
    clock.advance(seconds=16)
    engine.sync(requested_by="s", via="scheduler")
    recovered = engine.alert_outbox().next_outage_draft(ALERTS)
    assert (recovered.kind, recovered.ts) == ("recovered", "9.0009")  # the same message
    assert recovered.until == clock()
