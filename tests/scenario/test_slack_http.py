"""The HTTP front: Bolt verifies Slack's signature and timestamp; the health check answers."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from bench.slack_standin import payloads
from storage.db import Database
from storage.models import Attempt, RetryEvent
from tests.scenario.conftest import ADMIN, fail_first_postings


def no_effect(database: Database, sim, slack, requests_before: int) -> None:
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 0
        assert session.scalar(select(func.count()).select_from(Attempt)) == 2  # the first postings
    assert len(sim.requests()) == requests_before
    time.sleep(0.2)  # a listener, had one run, would have called Slack by now
    assert [c.method for c in slack.calls()] == []


def test_unsigned_tampered_or_stale_requests_are_refused_with_401(
    database, harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 2)
    before = len(sim.requests())
    fields = payloads.slash_command("retry all", ADMIN, "C0FINANCE", slack.response_url())
    body, _ = payloads.form_body("slash_commands", fields)
    assert harness.http.send(body, secret="not-the-signing-secret").status_code == 401
    # A minute past Slack's 5-minute window either way, so a slow machine cannot bring it back in.
    assert harness.http.send(body, timestamp=int(time.time()) - 360).status_code == 401  # stale
    assert harness.http.send(body, timestamp=int(time.time()) + 360).status_code == 401  # future

    headers = payloads.signed_headers(body, harness.http.secret)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    tampered = body.replace(b"retry+all", b"retry+HON-2026-0001")
    response = harness.http.client.post(
        harness.http.url + "/slack/events", content=tampered, headers=headers
    )
    assert response.status_code == 401
    no_effect(database, sim, slack, before)


def test_commands_are_acknowledged_at_once_and_health_is_checked(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    started = time.monotonic()
    answer = harness.command("status", ADMIN)
    assert time.monotonic() - started < 3
    assert answer == {"status": 200, "body": ""}
    [answer] = slack.wait_for("chat.postEphemeral")
    assert "Accounting sync status" in answer.params["text"]

    health = harness.http.client.get(harness.http.url + "/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "ok": True,
        "database": "ok",
        "gateway": {"state": "up"},
        "ledger": {
            "name": "gateway",
            "company_id": None,
            "connection": "not_needed",
            "reconnect_required": False,
        },
    }
    assert harness.http.client.get(harness.http.url + "/slack/events").status_code == 404
    assert (
        harness.http.client.post(harness.http.url + "/elsewhere", content=b"x").status_code == 404
    )
