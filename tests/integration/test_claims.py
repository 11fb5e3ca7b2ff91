"""Claims and leases: concurrent retries never send a record twice; expired leases come back."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Attempt, SyncLogEntry
from sync_engine.gateway_sim import Fault
from tests.conftest import TOKEN, posting


def fail_all(engine, sim, n: int) -> None:
    """Give the engine `n` records that failed their first posting."""
    engine.submit([posting(i) for i in range(1, n + 1)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()


def posted_keys(sim) -> Counter[str]:
    """How many posting requests carried each idempotency key."""
    counts: Counter[str] = Counter()
    for request in sim.requests():
        if request.method == "POST":
            counts.update(request.idempotency_keys)
    return counts


def states(database: Database) -> Counter[str]:
    with database.session() as session:
        return Counter(session.scalars(select(SyncLogEntry.state)))


def test_a_second_retry_skips_what_the_first_holds(make_engine_for, sim):
    first, second = make_engine_for(), make_engine_for()
    fail_all(first, sim, 3)
    held, release = threading.Event(), threading.Event()

    def hold(name: str, _ids: list[str]) -> None:
        if name == "claimed":
            held.set()
            assert release.wait(10)

    holder = make_engine_for(checkpoint=hold)
    outcome = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            r=holder.retry_selected(["RMB-2026-0001"], requested_by="A", via="slack")
        )
    )
    worker.start()
    assert held.wait(10)
    result = second.retry_all(requested_by="B", via="slack")
    release.set()
    worker.join(10)

    assert [s.source_id for s in result.skipped] == ["RMB-2026-0001"]
    assert "in flight" in result.skipped[0].reason
    assert sorted(s.source_id for s in result.succeeded) == ["RMB-2026-0002", "RMB-2026-0003"]
    assert [s.source_id for s in outcome["r"].succeeded] == ["RMB-2026-0001"]
    assert max(posted_keys(sim).values()) == 2  # the failed first posting, then exactly one retry
    assert all(count == 1 for count in (sim.booking_count(k) for k in sim.bookings()))


def test_two_admins_overlapping_selections_send_each_record_once(database, make_engine_for, sim):
    engines = [make_engine_for(), make_engine_for()]
    fail_all(engines[0], sim, 40)
    sim.config.latency_seconds = 0.02
    before = posted_keys(sim)
    picks = [
        [f"RMB-2026-{i:04d}" for i in range(1, 31)],
        [f"RMB-2026-{i:04d}" for i in range(11, 41)],
    ]
    results = [None, None]

    def run(i: int) -> None:
        results[i] = engines[i].retry_selected(picks[i], requested_by=f"U{i}", via="slack")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    sent = posted_keys(sim) - before
    assert len(sent) == 40 and set(sent.values()) == {1}
    succeeded = [s.source_id for r in results for s in r.succeeded]
    skipped = [s.source_id for r in results for s in r.skipped]
    assert sorted(succeeded) == [f"RMB-2026-{i:04d}" for i in range(1, 41)]
    assert set(skipped) <= {f"RMB-2026-{i:04d}" for i in range(11, 31)}
    assert len(succeeded) + len(skipped) == 60
    assert states(database) == Counter({"succeeded": 40})


class Crash(Exception):
    """Stands for a process dying at a checkpoint."""


@pytest.mark.parametrize("where", ["claimed", "sent", "answered"])
def test_a_crash_leaves_nothing_stuck(database, make_engine_for, sim, clock, where):
    engine = make_engine_for(lease_seconds=30)
    fail_all(engine, sim, 5)

    def crash(name: str, _ids: list[str]) -> None:
        if name == where:
            raise Crash(where)

    with pytest.raises(Crash):
        make_engine_for(checkpoint=crash, lease_seconds=30).retry_all(requested_by="t", via="cli")
    assert states(database)["syncing"] == 5

    # Before the lease expires nobody may take them; after, they are back in the queue.
    assert make_engine_for().retry_all(requested_by="t", via="cli").attempted == 0
    clock.advance(seconds=31)
    result = make_engine_for().retry_all(requested_by="t", via="cli")

    assert len(result.succeeded) == 5
    assert states(database) == Counter({"succeeded": 5})
    assert all(sim.booking_count(k) == 1 for k in sim.bookings())
    with database.session() as session:
        attempts = session.scalar(select(func.count()).select_from(Attempt))
    assert attempts == 10  # the first postings and the recovered retry; the lost one never wrote


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from sync_engine.build import build_engine
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings
    url, gateway, token = sys.argv[1:4]
    settings = Settings(database_url=url, gateway_url=gateway, gateway_token=token,
                        lease_seconds=1)
    def die(name, ids):
        if name == sys.argv[4]:
            os.kill(os.getpid(), signal.SIGKILL)
    build_engine(settings, checkpoint=die).retry_all(requested_by="doomed", via="cli")
    """
)


@pytest.mark.parametrize("where", ["sent", "answered"])
def test_a_killed_process_is_recovered_without_double_booking(
    database, make_engine_for, sim, clock, database_url, where
):
    engine = make_engine_for()
    fail_all(engine, sim, 12)
    proc = subprocess.run(
        [sys.executable, "-c", KILLER, database_url, sim.url, TOKEN, where], timeout=60
    )
    assert proc.returncode == -9
    assert states(database)["syncing"] > 0

    from sync_engine.engine import utcnow

    clock.now = utcnow() + timedelta(seconds=5)  # the killed process's leases ran on real time
    result = engine.retry_all(requested_by="t", via="cli")
    assert not result.failed
    assert states(database) == Counter({"succeeded": 12})
    assert all(sim.booking_count(k) == 1 for k in sim.bookings())
    assert len(sim.bookings()) == 12
