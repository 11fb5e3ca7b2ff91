"""Two `syncbot serve` replicas on one PostgreSQL database behave as one."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.slack.ids import Ids
from sync_engine.build import build_engine
from sync_engine.gateway_sim import Fault
from tests.conftest import posting, settings_for
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL, SECRET
from tests.scenario.harness import Harness
from tests.scenario.test_serve import start_serve, wait_healthy

RECORDS = 500


def replica(name: str, pg_url: str, sim, slack, tmp_path: Path) -> tuple[subprocess.Popen, str]:
    """One `syncbot serve` in HTTP mode with a fast scheduler; its process and its URL."""
    return start_serve(tmp_path / f"{name}.log", pg_url, sim, slack, scheduler_interval="0.5")


def attempted(log: Path) -> list[str]:
    """The source_ids a replica logged an attempt for."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [e["source_id"] for e in lines if e.get("event") == "attempt"]


@pytest.mark.postgres
def test_two_replicas_send_each_due_record_once_and_alert_once(pg_url, sim, slack, clock, tmp_path):
    # 500 records that failed once (the ledger was offline) and are due for their automatic
    # retry: the engine's clock stood in the past when they failed.
    setup = build_engine(settings_for(pg_url, sim.url, outage_threshold=1000), clock=clock)
    setup.submit([posting(n) for n in range(1, RECORDS + 1)])
    sim.faults.add(Fault(kind="unavailable"))
    assert len(setup.sync(requested_by="cli-user", via="cli").initial.failed) == RECORDS
    sim.faults.clear()
    setup.close()
    before = len(sim.requests())
    sim.config.latency_seconds = 0.1  # slow enough that both replicas' ticks overlap

    with ExitStack() as stack:
        started = [replica(n, pg_url, sim, slack, tmp_path) for n in ("one", "two")]
        for proc, _url in started:
            stack.callback(proc.wait, 20)
            stack.callback(proc.send_signal, signal.SIGINT)
        for (proc, url), name in zip(started, ("one", "two"), strict=True):
            wait_healthy(url, proc, tmp_path / f"{name}.log")

        check = build_engine(settings_for(pg_url, sim.url), migrate=False)
        stack.callback(check.close)
        deadline = time.monotonic() + 60
        while check.status().by_state["succeeded"] < RECORDS:
            assert time.monotonic() < deadline, check.status()
            time.sleep(0.2)
        [alert] = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == ALERTS)
        time.sleep(1.5)  # three more alert flushes on each replica: nothing more is posted

        # A button of the alert posted by one replica, clicked on the other.
        other = Harness.over_http(started[1][1], SECRET, slack, CHANNEL)
        stack.callback(other.close)
        other.click(slack.message(ALERTS, alert.answer["ts"]), Ids.VIEW_FAILED, ADMIN)
        slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == ALERTS, count=2)

    sent = Counter(
        key for r in sim.requests()[before:] if r.method == "POST" for key in r.idempotency_keys
    )
    assert len(sent) == RECORDS and set(sent.values()) == {1}  # each record sent once
    stats = sim.stats()
    assert stats["bookings"] == RECORDS and stats["duplicate_bookings"] == 0
    one, two = attempted(tmp_path / "one.log"), attempted(tmp_path / "two.log")
    assert not set(one) & set(two) and len(one) + len(two) == RECORDS
    alerts = [
        c
        for c in slack.calls("chat.postMessage")
        if c.params["channel"] == ALERTS and "failed to sync" in str(c.params.get("blocks"))
    ]
    assert len(alerts) == 1 and not slack.calls("chat.update")
    assert f"{RECORDS} records failed to sync" in str(alerts[0].params["blocks"])
