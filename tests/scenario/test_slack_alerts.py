"""Failure alerts: posted from the outbox, updated in place within a burst, clickable."""

from __future__ import annotations

import logging

import pytest

from bench.slack_standin.limits import problems
from bot.slack.alert_poster import AlertPoster
from bot.slack.ids import Ids
from sync_engine.gateway_sim import Fault
from tests.scenario.conftest import ADMIN, ALERTS, OUTSIDE, STRANGER, fail_first_postings
from tests.scenario.test_slack_acceptance import reply_text


def alert_posts(slack):
    return [
        c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ALERTS and c.answer
    ]


def test_first_failures_are_alerted_with_records_and_buttons(bot, engine, sim, slack):
    fail_first_postings(engine, sim, 7)
    assert bot.alert_poster.flush() == 1

    [call] = slack.wait_for("chat.postMessage")
    assert call.params["channel"] == ALERTS
    blocks = call.params["blocks"]
    assert problems(blocks) == []
    shown = str(blocks)
    assert "7 records failed to sync" in shown
    assert "RMB-2026-0002" in shown and "Volunteer VOL-1" in shown and "2.25 USD" in shown
    assert "503" in shown and "next automatic retry: <!date^" in shown
    assert "and 2 more" in shown  # five shown one by one
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [Ids.VIEW_FAILED, Ids.RETRY_ALL]
    confirm = str(blocks[-1]["elements"][1]["confirm"])
    assert "7 records were in the queue when this alert was drawn" in confirm
    assert "7 records failed to sync" in call.params["text"]

    assert bot.alert_poster.flush() == 0  # nothing new: nothing posted
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.fixture
def make_bot(slack_settings, make_engine_for):
    """A bot on an engine with settings of the test's own."""
    from bot.slack.app import build_bot

    bots = []

    def build(**engine_settings):
        engine = make_engine_for(**engine_settings)
        bots.append(build_bot(slack_settings, engine))
        return bots[-1], engine

    yield build
    for bot in bots:
        bot.close()


def test_failures_within_a_minute_update_the_alert_in_place(make_bot, sim, slack, clock):
    # An hour's backoff: no automatic retry becomes due (and fails again) while time moves.
    bot, engine = make_bot(backoff_base_seconds=3600)
    fail_first_postings(engine, sim, 2)
    bot.alert_poster.flush()
    [first] = slack.wait_for("chat.postMessage")
    ts = first.answer["ts"]

    clock.advance(seconds=30)
    fail_first_postings(engine, sim, 1, start=3)
    bot.alert_poster.flush()
    [update] = slack.wait_for("chat.update")
    assert (update.params["channel"], update.params["ts"]) == (ALERTS, ts)
    assert "3 records failed to sync" in str(slack.message(ALERTS, ts)["blocks"])
    assert len(slack.calls("chat.postMessage")) == 1

    clock.advance(seconds=31)  # the burst's minute is over
    fail_first_postings(engine, sim, 1, start=4)
    bot.alert_poster.flush()
    posts = slack.wait_for("chat.postMessage", count=2)
    assert "1 record failed to sync" in str(posts[1].params["blocks"])


def test_a_parked_record_alerts_again(make_bot, sim, slack, clock):
    bot, engine = make_bot(max_auto_attempts=1, backoff_base_seconds=1.0)
    fail_first_postings(engine, sim, 1)
    bot.alert_poster.flush()
    clock.advance(seconds=120)
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="scheduler", via="scheduler")
    bot.alert_poster.flush()
    posts = slack.wait_for("chat.postMessage", count=2)
    assert "1 parked" in str(posts[1].params["blocks"])
    assert "parked: no automatic retry until someone acts" in str(posts[1].params["blocks"])


def test_slack_down_keeps_the_alert_for_the_next_flush(bot, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    slack.fail_next("chat.postMessage", 3, status=500)  # the first call and both retries
    assert bot.alert_poster.flush() == 0
    assert engine.alert_outbox().pending() == 2

    assert bot.alert_poster.flush() == 1
    assert [c.status for c in slack.calls("chat.postMessage")] == [500, 500, 500, 200]
    assert engine.alert_outbox().pending() == 0


def test_an_alert_slack_refuses_for_good_is_dropped_with_a_log_line(
    slack_settings, engine, sim, slack, caplog
):
    from bot.slack.app import build_bot

    bot = build_bot(slack_settings.model_copy(update={"alert_channel": OUTSIDE}), engine)
    try:
        fail_first_postings(engine, sim, 1)
        with caplog.at_level(logging.ERROR):
            assert bot.alert_poster.flush() == 1
    finally:
        bot.close()
    assert "not a member of C0ELSEWHERE" in caplog.text
    assert engine.alert_outbox().pending() == 0  # dropped: it does not block the alerts after it


def test_a_deleted_alert_is_posted_anew(bot, engine, sim, slack, clock):
    fail_first_postings(engine, sim, 1)
    bot.alert_poster.flush()
    [first] = slack.wait_for("chat.postMessage")
    slack.messages.by_key.pop((ALERTS, first.answer["ts"]))  # someone deleted it
    fail_first_postings(engine, sim, 1, start=2)
    bot.alert_poster.flush()
    posts = slack.wait_for("chat.postMessage", count=2)
    assert "2 records failed to sync" in str(posts[1].params["blocks"])


def test_only_one_poster_flushes_at_a_time(bot, engine, sim, slack):
    other = AlertPoster(engine.alert_outbox(), bot.messenger, ALERTS)
    fail_first_postings(engine, sim, 1)
    assert bot.alert_poster.flush() == 1
    fail_first_postings(engine, sim, 1, start=2)
    assert other.flush() == 0  # the lease is the first poster's
    bot.alert_poster.stop()
    assert other.flush() == 1


def test_the_alert_buttons_list_and_retry_in_the_alerts_channel(harness, bot, engine, sim, slack):
    fail_first_postings(engine, sim, 3)
    bot.alert_poster.flush()
    [call] = slack.wait_for("chat.postMessage")
    alert = slack.message(ALERTS, call.answer["ts"])

    harness.click(alert, Ids.VIEW_FAILED, STRANGER)
    slack.wait_for("chat.postEphemeral")
    harness.click(alert, Ids.VIEW_FAILED, ADMIN)
    _, posted = slack.wait_for("chat.postMessage", lambda c: c.params["channel"] == ALERTS, count=2)
    listed = slack.message(ALERTS, posted.answer["ts"])
    assert listed["ts"] != alert["ts"]
    assert listed["blocks"][0]["text"]["text"] == "Failed accounting syncs"
    assert "RMB-2026-0002" in str(listed["blocks"])

    harness.click(alert, Ids.RETRY_ALL, ADMIN)
    reply = reply_text(slack, alert)
    assert "3 succeeded" in reply or "`HON-2026-0001` succeeded" in reply
    assert engine.count_failed() == 0
    assert sim.stats()["bookings"] == 3
