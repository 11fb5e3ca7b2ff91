"""Slack outages (issue 6, item 5): while the bot posts alerts and retry results, the Slack Web
API answers 429 with Retry-After, 5xx, or `ok: false`.

Whatever Slack answers, the engine's results are already in the database (they are committed
before Slack is asked, and checked while Slack is still failing); each message is retried (429
after its Retry-After, 5xx a few times: the client's bounded retries) or dropped with a log
line, never silently; and the bot keeps serving: a later command is answered, /healthz is 200.
Alerts Slack could not take for now stay in the outbox for the next flush.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.slack_standin import payloads
from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot, build_bot
from bot.slack.ids import Ids
from bot.slack.settings import SlackSettings
from storage.db import Database
from storage.models import Attempt, RetryEvent
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import GatewaySimulator
from tests.reliability.hostile_driver import our_bug, settle, sync_rows
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL, OUTSIDE, fail_first_postings
from tests.scenario.harness import Harness
from tests.scenario.test_slack_acceptance import open_list, rows_of

# The client's bounded retries (bot.slack.app): 3 after a 429, 2 after a 5xx.
RATE_LIMIT_CALLS, SERVER_ERROR_CALLS = 4, 3


@pytest.fixture(autouse=True)
def _warnings(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


def states(database: Database) -> dict[str, tuple[str, int]]:
    """Each record's sync state and attempt count, from the database."""
    return {s: (row.state, row.attempt_rows) for s, row in sync_rows(database).items()}


def state_of(engine: SyncEngine, source_id: str) -> tuple[str, int]:
    """A record's sync-log state and retry count."""
    history = engine.history(source_id)
    return history.sync_log_state, history.retry_count


def logged(caplog: pytest.LogCaptureFixture, words: str) -> list[logging.LogRecord]:
    """The log lines that say `words`."""
    return [r for r in caplog.records if words in r.getMessage()]


def no_bugs(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing but Slack's own refusals was logged as an exception."""
    assert not [bug for r in caplog.records if (bug := our_bug(r))]


def still_serving(harness: Harness, slack: SlackStandIn) -> None:
    """A command typed now is answered, and the health check says all is well."""
    answered = len(slack.wait_for("chat.postEphemeral", count=0))
    harness.command("status", ADMIN)
    answers = slack.wait_for("chat.postEphemeral", count=answered + 1)
    assert "Accounting sync status" in answers[-1].params["text"]
    health = harness.http.client.get(harness.http.url + "/healthz")
    assert health.status_code == 200 and health.json()["ok"] is True


def statuses(slack: SlackStandIn, method: str, **match: Any) -> list[int]:
    """The HTTP status of each call of `method` whose params hold `match`."""
    return [
        c.status for c in slack.calls(method) if all(c.params.get(k) == v for k, v in match.items())
    ]


def first_refusal(slack: SlackStandIn, method: str, timeout: float = 15, **match: Any) -> None:
    """Wait until Slack has refused a call of `method` whose params hold `match`."""
    deadline = time.monotonic() + timeout
    while not [
        c
        for c in slack.calls(method)
        if c.error and all(c.params.get(k) == v for k, v in match.items())
    ]:
        assert time.monotonic() < deadline, f"Slack was not asked {method} {match}"
        time.sleep(0.01)


# -- alerts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "times"),
    [(429, RATE_LIMIT_CALLS - 1), (500, SERVER_ERROR_CALLS - 1), (503, SERVER_ERROR_CALLS - 1)],
)
def test_an_alert_is_retried_through_429_and_5xx(bot, engine, sim, slack, caplog, status, times):
    fail_first_postings(engine, sim, 3)
    slack.fail_next("chat.postMessage", times, status=status, retry_after=1)
    started = time.monotonic()
    assert bot.alert_poster.flush() == 1

    assert statuses(slack, "chat.postMessage") == [status] * times + [200]
    if status == 429:  # each retry waited for Retry-After (1 s) first
        assert time.monotonic() - started >= times
    assert engine.alert_outbox().pending() == 0
    assert "3 records failed to sync" in str(slack.calls("chat.postMessage")[-1].params["blocks"])
    no_bugs(caplog)


@pytest.mark.parametrize(
    ("status", "times"),
    [(429, RATE_LIMIT_CALLS), (500, SERVER_ERROR_CALLS), (200, 1)],
    ids=["429-past-retries", "500-past-retries", "ok-false-internal_error"],
)
def test_an_alert_slack_cannot_take_now_waits_for_the_next_flush(
    database, harness, bot, engine, sim, slack, caplog, status, times
):
    """Slack stays rate-limited or down past the client's retries, or says `internal_error`."""
    fail_first_postings(engine, sim, 3)
    before = states(database)
    slack.fail_next("chat.postMessage", times, status=status, retry_after=1)
    assert bot.alert_poster.flush() == 0

    assert statuses(slack, "chat.postMessage") == [status] * times
    [line] = logged(caplog, "alert not posted, kept for the next try")
    assert line.levelno == logging.WARNING
    assert engine.alert_outbox().pending() == 3  # the outbox keeps them
    assert states(database) == before  # the failures themselves were committed long before

    still_serving(harness, slack)
    assert bot.alert_poster.flush() == 1
    assert engine.alert_outbox().pending() == 0
    no_bugs(caplog)


def test_an_alert_update_slack_cannot_take_now_waits_too(bot, engine, sim, slack, caplog):
    fail_first_postings(engine, sim, 2)
    bot.alert_poster.flush()
    fail_first_postings(engine, sim, 1, start=3)  # same burst: the alert is updated in place
    slack.fail_next("chat.update", SERVER_ERROR_CALLS, status=500)
    assert bot.alert_poster.flush() == 0
    assert engine.alert_outbox().pending() == 1
    assert logged(caplog, "alert not posted, kept for the next try")

    assert bot.alert_poster.flush() == 1
    assert statuses(slack, "chat.update") == [500] * SERVER_ERROR_CALLS + [200]
    [alert] = slack.calls("chat.postMessage")
    assert "3 records failed to sync" in str(slack.message(ALERTS, alert.answer["ts"])["blocks"])


@pytest.fixture
def refusing_bot(
    request: pytest.FixtureRequest, slack_settings: SlackSettings, engine: SyncEngine
) -> Iterator[SlackBot]:
    """A bot Slack refuses for good: a revoked token, or an alerts channel it is not in."""
    change = {"bot_token": "xoxb-revoked"} if request.param == "invalid_auth" else {}
    change |= {"alert_channel": OUTSIDE} if request.param == "not_in_channel" else {}
    built = build_bot(slack_settings.model_copy(update=change), engine)
    yield built
    built.close()


@pytest.mark.parametrize("refusing_bot", ["invalid_auth", "not_in_channel"], indirect=True)
def test_an_alert_slack_refuses_for_good_is_dropped_with_a_log_line(
    database, refusing_bot, engine, sim, slack, caplog
):
    fail_first_postings(engine, sim, 2)
    before = states(database)
    assert refusing_bot.alert_poster.flush() == 1  # handled: dropped, not kept

    [call] = slack.calls("chat.postMessage")
    assert call.error in ("invalid_auth", "not_in_channel")
    assert [r.levelno for r in logged(caplog, "alert dropped")] == [logging.ERROR]
    assert engine.alert_outbox().pending() == 0  # one bad alert never blocks the ones after it
    assert states(database) == before
    no_bugs(caplog)


# -- retry results -------------------------------------------------------------------------------


@pytest.fixture
def listed(harness: Harness, engine: SyncEngine, sim: GatewaySimulator, slack) -> dict[str, Any]:
    """Three failed records (the gateway is well again) and their list, posted in CHANNEL."""
    fail_first_postings(engine, sim, 3)
    return open_list(harness, slack)


def in_thread(listed: dict[str, Any]) -> dict[str, str]:
    return {"thread_ts": listed["ts"]}


@pytest.mark.parametrize(
    ("method", "status", "times"),
    [
        ("chat.postMessage", 429, RATE_LIMIT_CALLS - 1),
        ("chat.postMessage", 500, SERVER_ERROR_CALLS - 1),
        ("chat.update", 429, 1),
        ("chat.update", 503, SERVER_ERROR_CALLS - 1),
        ("views.publish", 500, 1),
    ],
)
def test_retry_results_are_retried_through_429_and_5xx(
    harness, bot, engine, sim, slack, caplog, listed, method, status, times
):
    slack.fail_next(method, times, status=status, retry_after=1)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})
    settle(bot)

    [reply] = slack.thread(CHANNEL, listed["ts"])
    assert "`HON-2026-0001` succeeded" in str(reply["blocks"])
    assert rows_of(slack.message(CHANNEL, listed["ts"])) == ["RMB-2026-0002", "HON-2026-0003"]
    assert slack.wait_for("views.publish")
    assert statuses(slack, method)[-times - 1 :] == [status] * times + [200]
    assert state_of(engine, "HON-2026-0001") == ("succeeded", 1)
    no_bugs(caplog)


@pytest.mark.parametrize(
    ("status", "times"),
    [(429, RATE_LIMIT_CALLS), (500, SERVER_ERROR_CALLS), (200, 1)],
    ids=["429-past-retries", "500-past-retries", "ok-false-internal_error"],
)
@pytest.mark.parametrize("button", [Ids.RETRY_SELECTED, Ids.RETRY_ALL])
def test_retry_results_slack_will_not_take_are_dropped_with_a_log_line(
    database, harness, bot, engine, sim, slack, caplog, listed, status, times, button
):
    slack.fail_next("chat.postMessage", times, status=status, retry_after=1)
    harness.click(listed, button, ADMIN, tick={"HON-2026-0001"})

    # Slack has refused the reply once; the result is in the database already.
    first_refusal(slack, "chat.postMessage", **in_thread(listed))
    expected = {"HON-2026-0001"} if button == Ids.RETRY_SELECTED else set(rows_of(listed))
    assert all(state_of(engine, s) == ("succeeded", 1) for s in expected)
    settle(bot)

    assert statuses(slack, "chat.postMessage", **in_thread(listed)) == [status] * times
    assert slack.thread(CHANNEL, listed["ts"]) == []
    [line] = logged(caplog, f"could not post a retry reply in {CHANNEL}/{listed['ts']}")
    assert line.levelno == logging.ERROR and line.exc_info
    # What came after the reply still happened: the list was updated, the Home tab refreshed.
    left = rows_of(slack.message(CHANNEL, listed["ts"]))
    assert left == sorted(set(rows_of(listed)) - expected, key=rows_of(listed).index)
    assert slack.wait_for("views.publish")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 1
    still_serving(harness, slack)
    no_bugs(caplog)


@pytest.mark.parametrize(
    ("status", "times", "calls"),
    [(503, SERVER_ERROR_CALLS, SERVER_ERROR_CALLS), (502, 1, 1)],
    ids=["503-past-retries", "502-not-retried"],  # the client retries 500 and 503 only
)
def test_a_list_update_slack_will_not_take_is_dropped_with_a_log_line(
    harness, bot, engine, sim, slack, caplog, listed, status, times, calls
):
    slack.fail_next("chat.update", times, status=status)
    slack.fail_next("views.publish", 1, status=200)  # ok: false, internal_error
    harness.click(listed, Ids.RETRY_ALL, ADMIN)
    settle(bot)

    [reply] = slack.thread(CHANNEL, listed["ts"])
    assert "3 succeeded" in str(reply["blocks"])
    assert rows_of(slack.message(CHANNEL, listed["ts"])) == rows_of(listed)  # not updated
    assert statuses(slack, "chat.update") == [status] * calls
    assert logged(caplog, "could not update the failed-records list after a retry")
    assert logged(caplog, f"could not refresh {ADMIN}'s Home tab after a retry")
    assert engine.count_failed() == 0 and sim.stats()["bookings"] == 3
    still_serving(harness, slack)
    no_bugs(caplog)


def test_a_retry_under_a_list_in_a_channel_the_bot_has_left(
    harness, bot, engine, sim, slack, caplog, listed
):
    """Slack answers the thread reply `not_in_channel`: the result stands, a line is logged,
    and the Home tab is still refreshed."""
    # The same list, as if posted in OUTSIDE before the bot was removed from that channel.
    gone = {**listed, "channel": OUTSIDE}
    harness.click(gone, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})
    settle(bot)

    reply = slack.calls("chat.postMessage")[-1]
    assert (reply.params["channel"], reply.error) == (OUTSIDE, "not_in_channel")
    assert state_of(engine, "HON-2026-0001") == ("succeeded", 1)
    assert logged(caplog, f"could not post a retry reply in {OUTSIDE}/{listed['ts']}")
    assert slack.wait_for("views.publish")
    still_serving(harness, slack)
    no_bugs(caplog)


# -- answers to commands -------------------------------------------------------------------------


def test_a_command_answered_while_slack_is_down_changes_nothing(
    database, harness, bot, engine, sim, slack, caplog
):
    """`retry` cannot post the message its results would thread under: nothing is retried."""
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    slack.fail_next("chat.postMessage", SERVER_ERROR_CALLS, status=500)
    slack.fail_next("chat.postEphemeral", SERVER_ERROR_CALLS, status=503)
    harness.command("retry HON-2026-0001", ADMIN)
    settle(bot)

    assert statuses(slack, "chat.postMessage") == [500] * SERVER_ERROR_CALLS
    assert len(sim.requests()) == requests
    assert state_of(engine, "HON-2026-0001") == ("failed", 0)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 0
        assert session.scalar(select(func.count()).select_from(Attempt)) == 2
    assert logged(caplog, "could not tell")  # the refusal to post could not be told either
    still_serving(harness, slack)
    harness.command("retry HON-2026-0001", ADMIN)
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert state_of(engine, "HON-2026-0001") == ("succeeded", 1)
    no_bugs(caplog)


def test_a_rate_limit_storm_does_not_stop_the_bot_acknowledging(harness, bot, slack, caplog):
    """Slack rate-limits the bot's answers (Retry-After 4 s): while the answers wait it out,
    each new request is still acknowledged at once, and every answer is given in the end."""
    users = [f"U0USER{n}" for n in range(8)]  # more than Bolt's listener threads
    slack.fail_next("chat.postEphemeral", len(users), status=429, retry_after=4)
    for user in users:
        fields = payloads.slash_command("help", user, CHANNEL, slack.response_url())
        answer = harness.http.send(*payloads.form_body("slash_commands", fields))
        assert answer.status_code == 200, (user, answer.status_code, answer.text)
        assert answer.elapsed.total_seconds() < 1
    assert harness.http.client.get(harness.http.url + "/healthz").status_code == 200
    settle(bot, timeout=60)
    answered = slack.wait_for("chat.postEphemeral", count=len(users))
    assert sorted(c.params["user"] for c in answered) == users
    no_bugs(caplog)
