"""Operations: Prometheus metrics on their own listener, /healthz with the database's and
gateway's state. (The JSON log lines are tested in tests/unit/test_logs.py.)"""

from __future__ import annotations

from bot.slack.app import build_bot
from bot.slack.server import HttpServer, metrics_server
from sync_engine.build import build_engine
from sync_engine.gateway_sim import Fault
from tests.conftest import posting, settings_for
from tests.scenario.conftest import ADMIN, fail_first_postings


def metric(text: str, name: str) -> float:
    """The value of one sample line (`name` with its labels, exactly as exposed)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name} in:\n{text}")


def test_metrics_count_attempts_retries_latency_records_and_the_outage(
    harness, bot, engine, sim, slack
):
    fail_first_postings(engine, sim, 3)
    harness.command("retry RMB-2026-0002", ADMIN)
    slack.wait_for("views.publish")  # the retry has answered

    metrics = metrics_server(bot, "127.0.0.1", 0)
    metrics.start()
    try:
        answer = harness.http.client.get(f"http://127.0.0.1:{metrics.port}/metrics")
    finally:
        metrics.stop()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    initial = 'syncbot_attempts_total{error_class="transient",outcome="failed",trigger="initial"}'
    assert metric(text, initial) == 3
    manual = 'syncbot_attempts_total{error_class="none",outcome="succeeded",trigger="manual"}'
    assert metric(text, manual) == 1
    retry = 'syncbot_retry_event_duration_seconds_count{kind="selected",via="slack"}'
    assert metric(text, retry) == 1
    assert metric(text, 'syncbot_gateway_request_duration_seconds_count{route="batch"}') == 1
    assert metric(text, 'syncbot_gateway_request_duration_seconds_count{route="posting"}') == 1
    assert metric(text, 'syncbot_records{state="failed"}') == 2
    assert metric(text, 'syncbot_records{state="succeeded"}') == 1
    assert metric(text, 'syncbot_failed_records{error_class="transient"}') == 2
    assert metric(text, "syncbot_gateway_outage") == 0


def test_health_reports_an_outage_and_stays_up(harness, make_engine_for, sim, slack_settings):
    engine = make_engine_for(batch_size=1, concurrency=1)
    bot = build_bot(slack_settings, engine)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    try:
        engine.submit([posting(n) for n in range(1, 6)])
        sim.faults.add(Fault(kind="unavailable"))
        engine.sync(requested_by="scheduler", via="scheduler")
        answer = harness.http.client.get(f"http://127.0.0.1:{server.port}/healthz")
        assert answer.status_code == 200
        body = answer.json()
        assert body["ok"] is True and body["database"] == "ok"
        assert body["gateway"]["state"] == "down" and "reason" not in body["gateway"]
        assert body["gateway"]["since"] == "2026-11-23T09:00:00Z"
        metrics = metrics_server(bot, "127.0.0.1", 0)
        metrics.start()
        text = harness.http.client.get(f"http://127.0.0.1:{metrics.port}/metrics").text
        metrics.stop()
        assert metric(text, "syncbot_gateway_outage") == 1
    finally:
        server.stop()
        bot.close()


def test_health_is_503_when_the_database_cannot_be_read(harness, tmp_path, sim, slack_settings):
    # A database file without the schema: every read fails.
    empty = build_engine(settings_for(f"sqlite:///{tmp_path}/empty.db", sim.url), migrate=False)
    bot = build_bot(slack_settings, empty)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    try:
        answer = harness.http.client.get(f"http://127.0.0.1:{server.port}/healthz")
        assert answer.status_code == 503
        assert answer.json() == {"ok": False, "database": "unreachable"}
    finally:
        server.stop()
        bot.close()
        empty.close()
