"""Replays (issue 10, point 4): a signed request already served within Slack's 5-minute window
is refused (409) and starts nothing, on one process and across replicas on one database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from bench.slack_standin import payloads
from bot.slack.app import SlackBot, build_bot
from bot.slack.server import HttpServer
from storage.db import Database
from storage.models import RetryEvent, SeenRequest
from storage.seen_requests import CLOCK_MARGIN_SECONDS, WINDOW_SECONDS
from sync_engine.build import build_engine
from tests.conftest import settings_for
from tests.reliability.hostile_driver import settle
from tests.scenario.conftest import ADMIN, CHANNEL, SECRET, fail_first_postings


def retry_all(slack) -> tuple[bytes, dict[str, str]]:
    """An admin's Retry All click on a list, signed once: its body and its headers."""
    listed = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}
    click = {"action_id": "retry_all", "block_id": "list_actions-x", "type": "button"}
    payload = payloads.message_action(ADMIN, listed, {**click, "value": "{}"}, {}, "")
    body, content_type = payloads.form_body("interactive", payload)
    return body, {**payloads.signed_headers(body, SECRET), "Content-Type": content_type}


def count(database: Database, model: type) -> int:
    """Rows of `model` in the engine's database."""
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST /slack/events at `url` with exactly this body and these headers."""
    return httpx.post(url + "/slack/events", content=body, headers=headers, timeout=10)


def test_the_same_signed_request_twice_is_served_once(database, harness, bot, engine, sim, slack):
    fail_first_postings(engine, sim, 3)
    body, headers = retry_all(slack)
    first = post(harness.http.url, body, headers)
    assert first.status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    settle(bot)
    requests, calls = len(sim.requests()), len(slack.calls())
    assert engine.count_failed() == 0 and count(database, RetryEvent) == 1

    again = post(harness.http.url, body, headers)
    assert again.status_code == 409
    assert again.json() == {"error": "replayed request"}
    settle(bot)
    # Nothing started: no listener (no Slack call), no engine call (no retry event, no request).
    assert len(sim.requests()) == requests
    assert len(slack.calls()) == calls
    assert count(database, RetryEvent) == 1
    assert count(database, SeenRequest) == 1


def test_a_request_replayed_before_its_first_copy_is_answered_is_refused(
    database, harness, bot, engine, sim, slack
):
    """Both copies at once on one process: one is served, the other refused."""
    fail_first_postings(engine, sim, 3)
    body, headers = retry_all(slack)
    answers = both_at_once([harness.http.url] * 2, body, headers)
    assert sorted(answers) == [200, 409]
    settle(bot)
    assert count(database, RetryEvent) == 1


@pytest.fixture
def replicas(make_engine_for, slack_settings) -> Iterator[list[tuple[SlackBot, str]]]:
    """Two bots, each with its own engine and HTTP server, on the test's one database."""
    started: list[tuple[SlackBot, HttpServer]] = []
    for _ in range(2):
        bot = build_bot(slack_settings, make_engine_for())
        server = HttpServer(bot, "127.0.0.1", 0)
        server.start()
        started.append((bot, server))
    yield [(bot, f"http://127.0.0.1:{server.port}") for bot, server in started]
    for bot, server in started:
        server.stop()
        bot.close()


def test_a_request_served_by_one_replica_is_refused_by_another(database, replicas, sim, slack):
    (one, url_one), (two, url_two) = replicas
    fail_first_postings(one.engine, sim, 3)
    body, headers = retry_all(slack)
    assert post(url_one, body, headers).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    settle(one)
    requests, calls = len(sim.requests()), len(slack.calls())

    again = post(url_two, body, headers)
    assert again.status_code == 409
    settle(two)
    assert len(sim.requests()) == requests and len(slack.calls()) == calls
    assert count(database, RetryEvent) == 1


def test_one_request_sent_to_two_replicas_at_once_is_served_once(database, replicas, sim, slack):
    (one, url_one), (two, url_two) = replicas
    fail_first_postings(one.engine, sim, 3)
    body, headers = retry_all(slack)
    assert sorted(both_at_once([url_one, url_two], body, headers)) == [200, 409]
    settle(one)
    settle(two)
    assert count(database, RetryEvent) == 1


def test_seen_signatures_are_pruned_once_their_window_has_passed(database, engine):
    now = [datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()]
    seen = engine.seen_requests(clock=lambda: now[0], prune_every=60)
    stamp = int(now[0])
    assert seen.first_sighting("v0=" + "a" * 64, stamp)
    assert not seen.first_sighting("v0=" + "a" * 64, stamp)
    assert seen.first_sighting("v0=" + "b" * 64, stamp)
    assert count(database, SeenRequest) == 2

    # Still inside the window (and its margin): kept, however often the pruning runs.
    now[0] += WINDOW_SECONDS + CLOCK_MARGIN_SECONDS - 1
    assert seen.first_sighting("v0=" + "c" * 64, int(now[0]))
    assert not seen.first_sighting("v0=" + "a" * 64, stamp)
    assert count(database, SeenRequest) == 3
    # Past it: the next request noted prunes the two old ones.
    now[0] += 61
    assert seen.first_sighting("v0=" + "d" * 64, int(now[0]))
    assert count(database, SeenRequest) == 2


def both_at_once(urls: list[str], body: bytes, headers: dict[str, str]) -> list[int]:
    """POST the same request to each of `urls` at the same moment; their status codes."""
    gate = threading.Barrier(len(urls))
    statuses: list[int] = []

    def send(url: str) -> None:
        gate.wait()
        statuses.append(post(url, body, headers).status_code)

    threads = [threading.Thread(target=send, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return statuses


def test_a_request_that_cannot_be_checked_for_replay_is_not_served(
    tmp_path, sim, slack, slack_settings
):
    """Fail closed: with no table to note it in, a signed request is refused (503), not run."""
    empty = build_engine(settings_for(f"sqlite:///{tmp_path}/empty.db", sim.url), migrate=False)
    bot = build_bot(slack_settings, empty)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    try:
        body, headers = retry_all(slack)
        answer = post(f"http://127.0.0.1:{server.port}", body, headers)
        assert answer.status_code == 503 and answer.json() == {"error": "try again later"}
        settle(bot)
        assert slack.calls() == [] and sim.requests() == []
    finally:
        server.stop()
        bot.close()
        empty.close()
