"""Ops endpoints (issue 10, point 7): `/healthz` on the Slack port tells states, never error text;
`/metrics` has its own listener (SYNCBOT_METRICS_HOST:SYNCBOT_METRICS_PORT), off when unset."""

from __future__ import annotations

import signal
from typing import Any

import httpx

from bot.slack.server import start_metrics
from bot.slack.settings import SlackSettings
from sync_engine.gateway_sim import Fault
from tests.conftest import posting
from tests.scenario.conftest import BOT_TOKEN, SECRET
from tests.scenario.test_operations import metric
from tests.scenario.test_serve import free_port, start_serve, wait_healthy

SECRET_LOOKING = "ledger at db-7.corp.internal:5432 refused: password authentication failed"


def test_metrics_are_not_served_on_the_slack_port(harness):
    assert harness.http.client.get(harness.http.url + "/metrics").status_code == 404


def test_health_tells_the_gateways_state_but_not_its_words(harness, engine, sim):
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="auth", detail=SECRET_LOOKING))  # an auth failure pauses at once
    engine.sync(requested_by="scheduler", via="scheduler")
    outage = engine.outage()
    assert outage is not None and outage.reason  # the engine keeps the gateway's answer

    answer = harness.http.client.get(harness.http.url + "/healthz")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert body["ok"] is True and body["database"] == "ok"
    assert set(body["gateway"]) == {"state", "since", "next_probe_at"}
    assert body["gateway"]["state"] == "down"
    assert outage.reason not in answer.text and "db-7" not in answer.text
    assert "401" not in answer.text


def settings_from_environment() -> SlackSettings:
    """The bot's settings with the metrics variables read from the environment, as `serve` does."""
    return SlackSettings(_env_file=None, bot_token=BOT_TOKEN, signing_secret=SECRET)  # type: ignore[call-arg]


def test_the_metrics_listener_is_off_unless_a_port_is_set(bot, monkeypatch):
    for name in ("SYNCBOT_METRICS_PORT", "SYNCBOT_METRICS_HOST"):
        monkeypatch.delenv(name, raising=False)
    unset = settings_from_environment()
    assert (unset.metrics_host, unset.metrics_port) == ("127.0.0.1", None)
    assert start_metrics(bot, unset) is None
    monkeypatch.setenv("SYNCBOT_METRICS_PORT", "")
    assert settings_from_environment().metrics_port is None

    monkeypatch.setenv("SYNCBOT_METRICS_PORT", "0")
    server = start_metrics(bot, settings_from_environment())
    assert server is not None
    try:
        # Bound to loopback by default: reached on 127.0.0.1 only.
        assert server._server.effective_host == "127.0.0.1"
        text = httpx.get(f"http://127.0.0.1:{server.port}/metrics").text
        assert metric(text, "syncbot_gateway_outage") == 0
    finally:
        server.stop()


def test_serve_exposes_metrics_on_their_own_port_only(database_url, sim, slack, tmp_path):
    log = tmp_path / "serve.log"
    port = free_port()
    proc, url = start_serve(log, database_url, sim, slack, SYNCBOT_METRICS_PORT=str(port))
    try:
        wait_healthy(url, proc, log)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert metrics.status_code == 200
        assert metric(metrics.text, "syncbot_gateway_outage") == 0
        assert httpx.get(url + "/metrics").status_code == 404
        assert httpx.get(url + "/healthz").json()["gateway"] == {"state": "up"}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()
