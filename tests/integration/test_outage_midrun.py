"""A sync that meets an outage partway through its run: it ends without an exception, writes
nothing for the records it did not send, and leaves none of them `syncing`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Attempt, SyncLogEntry
from sync_engine.gateway_sim import Fault
from tests.conftest import posting

RECORDS = 20
WORKING = 2  # the first records get through; from the third on, the gateway answers 503


def states(database: Database) -> dict[str, int]:
    with database.reading() as session:
        rows = session.execute(select(SyncLogEntry.state)).scalars().all()
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


@pytest.mark.parametrize(
    "overrides",
    [
        # Chunks of one record each: a chunk drawn before the outage is claimed after it.
        pytest.param({"batch_size": 1, "concurrency": 1, "lease_seconds": 6.0}, id="one-record"),
        # Single postings claimed ten at a time, two threads: one trips, the other stops short.
        pytest.param({"batch_size": 1, "concurrency": 2}, id="singles"),
        # Batches of one record go out as single postings.
        pytest.param({"batch_size": 30, "concurrency": 1, "lease_seconds": 6.0}, id="batch-of-one"),
    ],
)
def test_a_sync_meeting_an_outage_midway_ends_cleanly(database, make_engine_for, sim, overrides):
    engine = make_engine_for(**overrides)
    if overrides["batch_size"] > 1:
        engine._claim_size = 1  # the last record of a queue alone in its chunk, every time
    engine.submit([posting(n) for n in range(1, RECORDS + 1)])
    failing = tuple(f"RMB-2026-{n:04d}" for n in range(WORKING + 1, RECORDS + 1))
    sim.faults.add(Fault(kind="unavailable", source_ids=failing))

    result = engine.sync(requested_by="scheduler", via="scheduler")

    assert result.outage is not None
    counts = states(database)
    assert counts.get("syncing", 0) == 0
    posted = [r for r in sim.requests() if r.method == "POST"]
    sent = {s for r in posted for s in r.source_ids}
    assert counts["succeeded"] == WORKING
    # Every record sent has exactly one attempt; every one not sent is pending, untouched.
    assert counts["failed"] == len(sent) - WORKING
    assert counts["pending"] == RECORDS - len(sent)
    with database.reading() as session:
        attempted = session.execute(select(Attempt.record_id)).scalars().all()
    assert len(attempted) == len(sent)
    held = engine.sync(requested_by="scheduler", via="scheduler")
    assert held.outage is not None and held.held_back == counts["pending"]


def test_a_success_answered_before_the_outage_began_does_not_end_it(database, make_engine_for, sim):
    """Two threads of single postings: the first record is answered slowly, and by the time its
    success is in, the other thread's failures have begun the outage. The thread stops short
    there, and its one success, older news than the outage, must not end it (the clock here
    does not move, so only the order of events can tell)."""
    engine = make_engine_for(batch_size=1, concurrency=2)
    engine.submit([posting(n) for n in range(1, RECORDS + 1)])
    failing = tuple(f"RMB-2026-{n:04d}" for n in range(WORKING + 1, RECORDS + 1))
    sim.faults.add(Fault(kind="unavailable", source_ids=failing))
    sim.faults.add(Fault(kind="slow", count=1, seconds=1.0, source_ids=("RMB-2026-0001",)))

    result = engine.sync(requested_by="scheduler", via="scheduler")

    assert result.outage is not None
    assert engine.outage() is not None
    counts = states(database)
    assert counts["succeeded"] == 1 and counts.get("syncing", 0) == 0
