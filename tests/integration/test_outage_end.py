"""Any answer that proves the gateway back ends the outage at once, not only the probe: a manual
retry's posting, the lookup of a resolve or of a correction. The next sync sends what the outage
held back, and says how many it held back while it lasted."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import AlertOutbox, GatewayStatus, SyncLogEntry
from sync_engine.gateway_sim import Fault
from tests.conftest import posting

PENDING = ("RMB-2026-0002", "RMB-2026-0003", "RMB-2026-0004")


def outbox(database: Database, kind):
    with database.reading() as session:
        rows = session.execute(
            select(AlertOutbox.payload).where(AlertOutbox.kind == kind).order_by(AlertOutbox.id)
        ).scalars()
        return [json.loads(p) for p in rows]


def outage_row(database: Database):
    with database.reading() as session:
        row = session.get(GatewayStatus, 1)
        return row.outage_since, row.outage_reason, row.next_probe_at, row.last_answer


def sync_log(database: Database, record_id):
    with database.reading() as session:
        entry = session.get(SyncLogEntry, record_id)
        return entry.state, entry.parked, entry.auto_streak, entry.next_attempt_at


def auth_outage(database: Database, make_engine_for, sim, records=4):
    """An engine whose first posting was refused as auth: record 1 parked, the rest held back."""
    engine = make_engine_for(batch_size=1, concurrency=1, backoff_base_seconds=60)
    engine.submit([posting(n) for n in range(1, records + 1)])
    sim.faults.add(Fault(kind="auth"))
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert result.outage is not None and result.outage.reason.startswith("credentials refused")
    assert sync_log(database, 1)[:2] == ("failed", True)
    sim.faults.clear()  # the credentials are fixed; no probe is due yet
    return engine


def assert_ended_and_returned(database: Database, clock, proof):
    """The outage row is clear, the recovered alert written, record 1 back at step 1."""
    since, reason, next_probe, last_answer = outage_row(database)
    assert (since, reason, next_probe) == (None, None, None)
    if proof is not None:  # a posting's own answer is written over it (the gateway's last)
        assert last_answer == f"{proof}: the gateway is back"
    [recovered] = outbox(database, "recovered")
    assert recovered["returned"] == 1 and recovered["reason"].startswith("credentials refused")
    state, parked, streak, due = sync_log(database, 1)
    assert (state, parked, streak) == ("failed", False, 0)
    assert clock() <= due <= clock() + timedelta(seconds=60)


def assert_next_sync_sends_what_was_held(engine, sim, held):
    before = len(sim.requests())
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert result.outage is None and result.held_back == 0
    new = sim.requests()[before:]
    # No probe: the outage was over already. Exactly the held-back records were posted.
    assert all(r.method == "POST" and r.status == 201 for r in new)
    assert sorted(s for r in new for s in r.source_ids) == sorted(held)
    assert {s.source_id for s in result.initial.succeeded} == set(held)


def test_a_sync_during_an_outage_says_how_many_it_held_back(database, make_engine_for, sim, clock):
    engine = auth_outage(database, make_engine_for, sim)
    engine.submit([posting(9)])
    result = engine.sync(requested_by="scheduler", via="scheduler")
    # Records 2 to 4 and 9 are pending; record 1 is parked, so not due.
    assert result.outage is not None and result.held_back == 4
    assert result.initial.attempted == result.retries.attempted == 0


def test_a_manual_retry_that_succeeds_ends_an_auth_outage(database, make_engine_for, sim, clock):
    engine = auth_outage(database, make_engine_for, sim)
    clock.advance(seconds=5)  # the probe is due after 15 s: this is not the probe

    result = engine.retry_selected(["RMB-2026-0002"], requested_by="U1", via="slack")

    assert [s.source_id for s in result.succeeded] == ["RMB-2026-0002"]
    assert engine.outage() is None
    assert_ended_and_returned(database, clock, None)
    assert [r.method for r in sim.requests()] == ["POST", "POST"]  # no lookup was needed
    assert_next_sync_sends_what_was_held(engine, sim, PENDING[1:])


def test_a_lookup_that_is_answered_ends_an_auth_outage(database, make_engine_for, sim, clock):
    engine = auth_outage(database, make_engine_for, sim)
    clock.advance(seconds=5)

    resolved = engine.resolve("RMB-2026-0004", "booked by hand", by="U1")

    assert resolved.state == "resolved"  # the lookup answered 404: nothing booked
    assert_ended_and_returned(database, clock, "a lookup was answered")
    assert_next_sync_sends_what_was_held(engine, sim, PENDING[:2])


def test_a_correction_lookup_ends_an_outage(database, make_engine_for, sim, clock, tmp_path):
    engine = auth_outage(database, make_engine_for, sim)
    corrected = posting(3).to_wire() | {"memo": "corrected"}
    path = tmp_path / "fix.jsonl"
    path.write_text(json.dumps(corrected) + "\n", encoding="utf-8")

    result = engine.import_file(path, update=True, by="finance")

    assert result.corrected == ("RMB-2026-0003",)
    assert_ended_and_returned(database, clock, "a lookup was answered")
    assert_next_sync_sends_what_was_held(engine, sim, PENDING)


def test_a_refusal_of_the_data_does_not_end_an_auth_outage(database, make_engine_for, sim):
    # A 422 proves the gateway up, not that it takes our credentials again.
    engine = auth_outage(database, make_engine_for, sim)
    sim.faults.add(Fault(kind="validation", source_ids=("RMB-2026-0002",)))
    refused = engine.retry_selected(["RMB-2026-0002"], requested_by="U1", via="slack")
    assert refused.failed[0].error_class == "needs_attention"
    assert engine.outage() is not None and outbox(database, "recovered") == []
    assert sync_log(database, 1)[:2] == ("failed", True)


def test_a_refusal_of_the_data_ends_a_transient_outage(database, make_engine_for, sim):
    # The gateway answering at all is what was in doubt.
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 8)])
    sim.faults.add(Fault(kind="unavailable", count=5))
    sim.faults.add(Fault(kind="validation", source_ids=("RMB-2026-0006",)))
    assert engine.sync(requested_by="s", via="scheduler").outage is not None
    refused = engine.retry_selected(["RMB-2026-0006"], requested_by="U1", via="slack")
    assert refused.failed[0].error_class == "needs_attention"
    assert engine.outage() is None
    assert outage_row(database)[:3] == (None, None, None)
    [recovered] = outbox(database, "recovered")
    assert recovered["returned"] == 0
    assert_next_sync_sends_what_was_held(engine, sim, ["RMB-2026-0007"])


def test_a_success_older_than_the_failures_of_its_chunk_ends_nothing(
    database, make_engine_for, sim
):
    # Records 1 and 2 are booked, then five 503s begin the outage, all in one chunk of singles:
    # the chunk's successes came before the gateway went down.
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(n) for n in range(1, 9)])
    failing = tuple(f"RMB-2026-{n:04d}" for n in range(3, 9))
    sim.faults.add(Fault(kind="unavailable", source_ids=failing))
    engine.sync(requested_by="scheduler", via="scheduler")
    assert engine.outage() is not None  # the run's first answers did not end it
    assert outbox(database, "recovered") == []
