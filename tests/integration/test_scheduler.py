"""The service's scheduler: automatic retries when due and not before, manual precedence, leases."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

from bot.scheduler import POST_ALERTS, SYNC, start_scheduler, sync_tick
from storage.models import RetryEvent
from storage.queue import claim
from sync_engine.gateway_sim import Fault
from tests.conftest import LongestWait, posting

SOURCE = "RMB-2026-0001"


def failed_once(engine, sim):
    """One record whose first posting failed; its automatic retry is due 60 s later."""
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="unavailable", count=1))
    assert engine.sync(requested_by="cli-user", via="cli").initial.failed


def posts_of(sim, source_id=SOURCE):
    return [r for r in sim.requests() if r.method == "POST" and source_id in r.source_ids]


def test_the_tick_retries_what_is_due_and_not_before(database, make_engine_for, sim, clock):
    engine = make_engine_for(rng=LongestWait(), backoff_base_seconds=60)
    failed_once(engine, sim)
    assert engine.history(SOURCE).next_attempt_at == clock() + timedelta(seconds=60)

    clock.advance(seconds=59)
    assert sync_tick(engine).retries.retry_event_id is None
    assert len(posts_of(sim)) == 1

    clock.advance(seconds=1)
    result = sync_tick(engine)
    assert [s.source_id for s in result.retries.succeeded] == [SOURCE]
    assert len(posts_of(sim)) == 2
    with database.reading() as session:
        event = session.get(RetryEvent, result.retries.retry_event_id)
        assert (event.kind, event.via, event.requested_by) == ("auto", "scheduler", "scheduler")
    history = engine.history(SOURCE)
    assert history.sync_log_state == "succeeded"
    assert history.sync_log_retry_event_id == event.id


def test_a_manual_retry_during_a_pending_backoff_runs_now_and_resets_it(
    make_engine_for, sim, clock
):
    engine = make_engine_for(rng=LongestWait(), backoff_base_seconds=60)
    failed_once(engine, sim)
    clock.advance(seconds=61)
    sim.faults.add(Fault(kind="unavailable", count=1))
    sync_tick(engine)  # automatic retry 1 fails: retry 2 waits up to 120 s
    assert engine.history(SOURCE).next_attempt_at == clock() + timedelta(seconds=120)

    clock.advance(seconds=10)
    sim.faults.add(Fault(kind="unavailable", count=1))
    manual = engine.retry_selected([SOURCE], requested_by="UADMIN1", via="slack")
    assert manual.failed and len(posts_of(sim)) == 3  # sent at once, not after the backoff
    # The streak starts again: the next automatic retry is step 1 (60 s), not step 2 or 3.
    assert engine.history(SOURCE).next_attempt_at == clock() + timedelta(seconds=60)
    clock.advance(seconds=59)
    sync_tick(engine)
    assert len(posts_of(sim)) == 3
    clock.advance(seconds=1)
    assert sync_tick(engine).retries.succeeded
    assert len(posts_of(sim)) == 4


def paused_at_claim():
    """A checkpoint that holds the first claim until `go` is set."""
    claimed, go = threading.Event(), threading.Event()

    def checkpoint(name, _source_ids):
        if name == "claimed" and not claimed.is_set():
            claimed.set()
            assert go.wait(10)

    return checkpoint, claimed, go


def test_the_scheduler_and_a_manual_retry_picking_one_record_send_it_once(
    make_engine_for, sim, clock
):
    checkpoint, claimed, go = paused_at_claim()
    scheduler_side = make_engine_for(rng=LongestWait(), checkpoint=checkpoint)
    admin_side = make_engine_for()
    failed_once(admin_side, sim)
    clock.advance(seconds=61)

    tick = threading.Thread(target=sync_tick, args=[scheduler_side])
    tick.start()
    assert claimed.wait(10)
    manual = admin_side.retry_selected([SOURCE], requested_by="UADMIN1", via="slack")
    go.set()
    tick.join(10)

    assert [s.source_id for s in manual.skipped] == [SOURCE]
    assert "in flight" in manual.skipped[0].reason
    assert len(posts_of(sim)) == 2  # the first posting and the scheduler's retry: once each
    assert sim.stats()["duplicate_bookings"] == 0
    assert scheduler_side.history(SOURCE).sync_log_state == "succeeded"


def test_a_tick_skips_a_record_a_manual_retry_holds(make_engine_for, sim, clock):
    checkpoint, claimed, go = paused_at_claim()
    admin_side = make_engine_for(checkpoint=checkpoint)
    scheduler_side = make_engine_for()
    failed_once(scheduler_side, sim)
    clock.advance(seconds=61)

    manual = threading.Thread(
        target=admin_side.retry_selected,
        args=[[SOURCE]],
        kwargs={"requested_by": "UADMIN1", "via": "slack"},
    )
    manual.start()
    assert claimed.wait(10)
    result = sync_tick(scheduler_side)
    go.set()
    manual.join(10)

    assert result.retries.succeeded == () and result.retries.failed == ()
    assert len(posts_of(sim)) == 2
    assert scheduler_side.history(SOURCE).sync_log_state == "succeeded"


def test_a_lease_left_by_a_killed_process_is_recovered_by_the_tick(
    database, make_engine_for, sim, clock
):
    engine = make_engine_for(lease_seconds=120)
    engine.submit([posting(1)])
    # A process claimed the record and died before sending it.
    with database.transaction() as session:
        now = clock()
        [held] = claim(
            session.connection(),
            [1],
            ("pending",),
            token="dead-process",
            now=now,
            lease_until=now + timedelta(seconds=120),
        )
    assert sync_tick(engine).initial.succeeded == ()
    assert engine.history(SOURCE).sync_log_state == "syncing"

    clock.advance(seconds=121)
    result = sync_tick(engine)
    assert result.recovered_leases == 1
    assert [s.source_id for s in result.initial.succeeded] == [SOURCE]
    assert len(posts_of(sim)) == 1


def test_the_scheduler_runs_its_jobs_without_overlap(database, make_engine_for, sim):
    engine = make_engine_for()
    scheduler = start_scheduler(engine, None, sync_interval=0.2, alert_interval=1)
    try:
        job = scheduler.get_job(SYNC)
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 1)
        assert scheduler.get_job(POST_ALERTS) is None  # no alerts channel, no alert job
        engine.submit([posting(n) for n in range(1, 4)])
        deadline = time.monotonic() + 10
        while engine.status().by_state["succeeded"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert engine.status().by_state["succeeded"] == 3
    with database.reading() as session:
        assert session.scalars(select(RetryEvent)).all() == []  # nothing was due: no event
