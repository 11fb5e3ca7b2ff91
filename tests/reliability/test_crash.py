"""Crash: a Retry All of 2,000 failed records killed with SIGKILL at five moments, then recovered.

After each kill and a restart: every record is succeeded or back in the failed queue, none stays
`syncing` past its lease, the gateway booked each key at most once, and once recovery has settled
the records (a retry resends the same keys; the gateway replays what it had booked) every booked
posting is `succeeded` with exactly one succeeded attempt.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Attempt, Record, SyncLogEntry
from sync_engine.engine import utcnow
from sync_engine.gateway_sim import Fault
from tests.conftest import TOKEN, posting

RECORDS = 2000
LEASE = 3.0

# The doomed process: a Retry All that SIGKILLs itself at the n-th time it reaches a checkpoint
# (or, with "outside", runs until the test kills it).
DOOMED = textwrap.dedent(
    """
    import os, signal, sys, threading
    from sync_engine.build import build_engine
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings
    url, gateway, token, where, nth, lease = sys.argv[1:7]
    settings = Settings(database_url=url, gateway_url=gateway, gateway_token=token,
                        lease_seconds=float(lease), concurrency=5, batch_size=30)
    seen, lock = [0], threading.Lock()
    def die(name, ids):
        if name != where:
            return
        with lock:
            seen[0] += 1
            if seen[0] == int(nth):
                os.kill(os.getpid(), signal.SIGKILL)
    build_engine(settings, checkpoint=die).retry_all(requested_by="doomed", via="cli")
    """
)

MOMENTS = {
    # where, nth: the process dies ...
    "before the first request": ("claimed", 1),  # its first chunk claimed, nothing sent
    "as a request leaves": ("sent", 8),  # chunks in flight on other threads
    "mid-batch, requests in flight": ("outside", 0),  # killed from outside while posting
    "between the answer and the commit": ("answered", 12),  # the ledger booked, no row written
    "after some chunks were committed": ("committed", 30),
}


def states(database: Database) -> Counter[str]:
    with database.reading() as session:
        return Counter(session.scalars(select(SyncLogEntry.state)))


def booked_keys(sim) -> Counter[str]:
    return Counter({key: sim.booking_count(key) for key in sim.bookings()})


def kill_outside(proc: subprocess.Popen[bytes], sim, before: int) -> None:
    """SIGKILL the process once it has sent a few dozen requests, with more in flight."""
    deadline = time.monotonic() + 60
    while len(sim.requests()) < before + 20:
        assert time.monotonic() < deadline, "the doomed retry never got going"
        assert proc.poll() is None, "the doomed retry ended before it was killed"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_retry_all_killed_mid_flight_loses_nothing_and_books_nothing_twice(
    database, make_engine_for, sim, clock, database_url, moment
):
    where, nth = MOMENTS[moment]
    engine = make_engine_for(outage_threshold=10**6, lease_seconds=LEASE)
    engine.submit([posting(n) for n in range(1, RECORDS + 1)])
    sim.faults.add(Fault(kind="unavailable"))
    assert len(engine.sync(requested_by="t", via="cli").initial.failed) == RECORDS
    sim.faults.clear()
    sim.config.latency_seconds = 0.03  # requests stay in flight long enough to be cut off
    before = len(sim.requests())

    proc = subprocess.Popen(
        [sys.executable, "-c", DOOMED, database_url, sim.url, TOKEN, where, str(nth), str(LEASE)],
        stdout=subprocess.DEVNULL,
    )
    if where == "outside":
        kill_outside(proc, sim, before)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    sim.config.latency_seconds = 0.0
    killed = states(database)
    assert killed["syncing"] > 0 and killed["succeeded"] < RECORDS, killed
    assert max(booked_keys(sim).values(), default=0) <= 1

    # A restart: before the lease runs out nobody may take the held records; after it, the
    # recovery returns every one of them to the failed queue.
    assert engine.recover_leases() == 0
    clock.now = utcnow() + timedelta(seconds=LEASE + 1)
    assert engine.recover_leases() == killed["syncing"]
    recovered = states(database)
    assert set(recovered) <= {"failed", "succeeded"}
    assert recovered["failed"] + recovered["succeeded"] == RECORDS

    # Settling: a retry of the queue resends the same keys; what the ledger booked before the
    # kill is replayed, never booked again.
    result = engine.retry_all(requested_by="t", via="cli")
    assert not result.failed and not result.skipped
    assert states(database) == Counter({"succeeded": RECORDS})
    booked = booked_keys(sim)
    assert len(booked) == RECORDS and set(booked.values()) == {1}
    assert sim.stats()["duplicate_bookings"] == 0
    with database.reading() as session:
        succeeded_attempts = Counter(
            session.scalars(select(Attempt.record_id).where(Attempt.outcome == "succeeded"))
        )
        keys = dict(session.execute(select(Record.id, Record.idempotency_key)).all())
        total = session.scalar(select(func.count()).select_from(Attempt))
    assert len(succeeded_attempts) == RECORDS and set(succeeded_attempts.values()) == {1}
    # Every attempt row written belongs to one request the gateway received (none invented).
    assert set(keys.values()) == set(booked)
    assert total <= RECORDS * 3
