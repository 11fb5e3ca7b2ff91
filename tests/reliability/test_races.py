"""Races: retries that start at the same instant never send a record twice in one wave, and
every attempt is written exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from bot.scheduler import sync_tick
from bot.slack.ids import Ids
from storage.db import Database
from storage.models import Attempt, RetryEventItem
from sync_engine.gateway_sim import Fault
from tests.conftest import TOKEN, posting
from tests.scenario.conftest import ADMIN, ADMIN2
from tests.scenario.test_slack_acceptance import open_list

WAVE = 1000

# One process's Retry All, started when the file named by its last argument appears.
WORKER = textwrap.dedent(
    """
    import json, sys
    from sync_engine.build import build_engine
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings
    url, gateway, token = sys.argv[1:4]
    settings = Settings(database_url=url, gateway_url=gateway, gateway_token=token,
                        concurrency=2, batch_size=10)
    go = sys.argv[4]
    import time, os
    while not os.path.exists(go):
        time.sleep(0.005)
    with build_engine(settings) as engine:
        result = engine.retry_all(requested_by="proc", via="cli")
    print(json.dumps({"succeeded": [s.source_id for s in result.succeeded],
                      "skipped": [s.source_id for s in result.skipped],
                      "failed": [f.source_id for f in result.failed]}))
    """
)


def fail_all(engine, sim, n: int) -> None:
    """`n` records whose first posting failed (the outage pause kept out of the way)."""
    engine.submit([posting(i) for i in range(1, n + 1)])
    sim.faults.add(Fault(kind="unavailable"))
    assert len(engine.sync(requested_by="t", via="cli").initial.failed) == n
    sim.faults.clear()


def sent_since(sim, before: int) -> Counter[str]:
    """Idempotency keys of the postings sent since request number `before`."""
    return Counter(
        key for r in sim.requests()[before:] if r.method == "POST" for key in r.idempotency_keys
    )


def attempts_per_record(database: Database) -> Counter[int]:
    with database.reading() as session:
        return Counter(session.scalars(select(Attempt.record_id)))


def items_per_record(database: Database) -> Counter[tuple[int, str]]:
    with database.reading() as session:
        rows = session.execute(select(RetryEventItem.record_id, RetryEventItem.result)).all()
    return Counter((record_id, result) for record_id, result in rows)


def assert_one_wave(database: Database, sim, before: int, n: int) -> None:
    """Each record sent exactly once since `before`, with exactly one new attempt row."""
    sent = sent_since(sim, before)
    assert len(sent) == n and set(sent.values()) == {1}
    attempts = attempts_per_record(database)
    assert len(attempts) == n and set(attempts.values()) == {2}  # the first failure + this wave
    assert sim.stats()["duplicate_bookings"] == 0
    succeeded = Counter(
        rid for (rid, result) in items_per_record(database) if result == "succeeded"
    )
    assert len(succeeded) == n and set(succeeded.values()) == {1}


@pytest.mark.timeout(180)
def test_two_processes_retry_all_at_the_same_instant(
    database, make_engine_for, sim, database_url, tmp_path
):
    engine = make_engine_for(outage_threshold=10**6)
    fail_all(engine, sim, WAVE)
    sim.config.latency_seconds = 0.01
    before = len(sim.requests())
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url, sim.url, TOKEN, str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()  # both are waiting for this file: they start together
    outputs = [json.loads(p.communicate(timeout=150)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]

    assert_one_wave(database, sim, before, WAVE)
    succeeded = outputs[0]["succeeded"] + outputs[1]["succeeded"]
    assert len(succeeded) == len(set(succeeded)) == WAVE
    # What one process found held by the other it reports as skipped, never as sent.
    for mine, theirs in ((outputs[0], outputs[1]), (outputs[1], outputs[0])):
        assert not set(mine["skipped"]) & set(mine["succeeded"])
        assert set(mine["skipped"]) <= set(theirs["succeeded"])


@pytest.mark.timeout(120)
def test_the_scheduler_and_a_manual_retry_all_at_the_same_instant(
    database, make_engine_for, sim, clock
):
    setup = make_engine_for(outage_threshold=10**6)
    fail_all(setup, sim, 300)
    clock.advance(seconds=3600)  # every automatic retry is due
    scheduler, admin = make_engine_for(), make_engine_for()
    sim.config.latency_seconds = 0.01
    before = len(sim.requests())
    start = threading.Barrier(2)
    results = {}

    def tick() -> None:
        start.wait()
        results["tick"] = sync_tick(scheduler)

    def manual() -> None:
        start.wait()
        results["manual"] = admin.retry_all(requested_by="UADMIN1", via="slack")

    threads = [threading.Thread(target=tick), threading.Thread(target=manual)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert_one_wave(database, sim, before, 300)
    by_tick = {s.source_id for s in results["tick"].retries.succeeded}
    by_hand = {s.source_id for s in results["manual"].succeeded}
    assert not by_tick & by_hand and len(by_tick | by_hand) == 300
    assert {s.source_id for s in results["manual"].skipped} <= by_tick


@pytest.mark.timeout(120)
def test_two_admins_click_retry_selected_on_overlapping_rows_at_once(
    database, harness, engine, sim, slack
):
    fail_all(engine, sim, 10)
    listed = open_list(harness, slack)
    sim.config.latency_seconds = 0.05
    before = len(sim.requests())
    rows = [f"RMB-2026-{n:04d}" for n in range(1, 11)]
    picks = {ADMIN: set(rows[:7]), ADMIN2: set(rows[3:])}  # four rows picked by both
    start = threading.Barrier(2)

    def click(user: str) -> None:
        start.wait()
        harness.click(listed, Ids.RETRY_SELECTED, user, tick=picks[user])

    threads = [threading.Thread(target=click, args=(user,)) for user in picks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    replies = slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == listed["ts"], count=2
    )
    assert_one_wave(database, sim, before, 10)
    text = " ".join(str(r.params["blocks"]) for r in replies)
    # A row both picked is sent by one click; the other names it (in flight, or already done).
    for row in rows[3:7]:
        assert text.count(row) == 2
