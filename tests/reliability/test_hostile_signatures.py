"""Hostile Slack input: unsigned, mis-signed, stale (a captured request replayed 6 minutes later
included) or header-less requests are refused with 401 and have no effect at all, and a
non-administrator's well-formed, validly signed Retry All is refused.

The case tables are in `hostile_cases`; sending and the no-effect check in `hostile_driver`.
Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time

from bench.slack_standin import payloads
from bot.slack.answers import REFUSED
from tests.reliability.hostile_cases import (
    STALE_AGES,
    UNSIGNED_JUNK,
    forged_signatures,
    missing_headers,
    retry_all_bodies,
    tampered_bodies,
)
from tests.reliability.hostile_driver import (
    assert_no_effect,
    failed_world,
    post,
    retry_event_count,
    settle,
    sync_rows,
)
from tests.scenario.conftest import ADMIN, STRANGER, fail_first_postings
from tests.scenario.harness import FORM

__all__ = ["failed_world"]  # a fixture


def test_bad_signatures_are_refused_with_401_and_do_nothing(
    database, harness, engine, sim, slack, failed_world
):
    now = str(int(time.time()))
    for body, content_type in retry_all_bodies(slack):
        good = payloads.signed_headers(body, harness.http.secret)
        for headers in forged_signatures(body, good, now):
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, (headers, answer.status_code)
        # The right signature over a different body.
        for tampered in tampered_bodies(body):
            answer = post(harness, tampered, {**good, "Content-Type": content_type})
            assert answer.status_code == 401
    assert_no_effect(database, sim, slack, failed_world)


def test_stale_and_replayed_requests_are_refused_with_401_and_do_nothing(
    database, harness, engine, sim, slack, failed_world
):
    now = int(time.time())
    for body, content_type in retry_all_bodies(slack):
        for age in STALE_AGES:
            headers = payloads.signed_headers(body, harness.http.secret, now - age)
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, age
    assert_no_effect(database, sim, slack, failed_world)


def test_a_captured_request_replayed_six_minutes_later_is_refused(
    database, harness, engine, sim, slack
):
    """A request captured on the wire, valid then, replayed unchanged 6 minutes later."""
    fail_first_postings(engine, sim, 2)
    # Captured 6 minutes ago: the request as it was (body and headers, signed back then).
    captured_at = int(time.time()) - 360
    [(body, content_type), _] = retry_all_bodies(slack)
    captured = payloads.signed_headers(body, harness.http.secret, captured_at)
    before = (len(sim.requests()), sync_rows(database))
    answer = post(harness, body, {**captured, "Content-Type": content_type})
    assert answer.status_code == 401
    assert_no_effect(database, sim, slack, before)
    # The same body signed now is accepted: it was the age alone that refused the replay.
    answer = post(
        harness, body, {**payloads.signed_headers(body, harness.http.secret), "Content-Type": FORM}
    )
    assert answer.status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert engine.count_failed() == 0 and len(sim.requests()) > before[0]


def test_missing_signature_headers_are_refused_with_401_and_do_nothing(
    database, harness, engine, sim, slack, failed_world
):
    for body, content_type in retry_all_bodies(slack):
        good = payloads.signed_headers(body, harness.http.secret)
        for headers in missing_headers(good):
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, headers
        # Unsigned garbage is refused for its signature before anything tries to read it.
        for junk in UNSIGNED_JUNK:
            assert post(harness, junk, {"Content-Type": content_type}).status_code == 401
    assert_no_effect(database, sim, slack, failed_world)


def test_a_strangers_signed_retry_all_is_refused_and_does_nothing(
    database, harness, bot, engine, sim, slack
):
    """A well-formed Retry All click and `retry all`, validly signed, from a non-administrator."""
    fail_first_postings(engine, sim, 3)
    requests = len(sim.requests())
    rows = sync_rows(database)
    for body, content_type in retry_all_bodies(slack, STRANGER):
        assert harness.http.send(body, content_type).status_code == 200
    settle(bot)
    refusals = slack.wait_for("chat.postEphemeral", count=2)
    assert [(c.params["user"], c.params["text"]) for c in refusals] == [(STRANGER, REFUSED)] * 2
    assert {c.method for c in slack.calls()} <= {
        "chat.postEphemeral",
        "usergroups.users.list",
        "auth.test",
    }
    assert len(sim.requests()) == requests
    assert sync_rows(database) == rows
    assert retry_event_count(database) == 0
    # The same click from an administrator is not refused: it was the sender that mattered.
    body, content_type = retry_all_bodies(slack, ADMIN)[1]
    assert harness.http.send(body, content_type).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert len(sim.requests()) > requests
