"""Record data is posted only where admins alone can read it: `/accounting failed`, `retry` and
`history` in a public or Slack Connect channel answer only the asker, and post nothing."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bench.slack_standin.methods import PUBLIC, SHARED
from bot.slack.answers import REFUSED
from bot.slack.app import build_bot
from bot.slack.privacy import warn_if_alert_channel_exposed
from bot.slack.server import HttpServer
from bot.slack.settings import SlackSettings
from storage.db import Database
from storage.models import RetryEvent
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL, SECRET, STRANGER, fail_first_postings
from tests.scenario.harness import Harness

INFO = "conversations.info"
PRIVATE_ONLY = ["failed", "retry HON-2026-0001", "retry all", "history HON-2026-0001"]


def world(database: Database, engine, sim) -> tuple:
    """What a refused command must not change: retry events, gateway requests, the queue."""
    with database.session() as session:
        events = session.scalar(select(func.count()).select_from(RetryEvent))
    return events, len(sim.requests()), engine.count_failed()


def nth_answer(slack, n: int):
    return slack.wait_for("chat.postEphemeral", count=n)[n - 1]


@pytest.mark.parametrize(("channel", "why"), [(PUBLIC, "public"), (SHARED, "Slack Connect")])
def test_private_only_subcommands_in_an_exposed_channel_answer_only_the_asker(
    database, harness, engine, sim, slack, channel, why
):
    fail_first_postings(engine, sim, 2)
    before = world(database, engine, sim)
    for n, text in enumerate(PRIVATE_ONLY, start=1):
        harness.command(text, ADMIN, channel=channel)
        answer = nth_answer(slack, n)
        assert (answer.params["user"], answer.params["channel"]) == (ADMIN, channel)
        said = answer.params["text"]
        assert "works only in a private channel or a direct message" in said, text
        assert why in said and "Nothing was posted" in said
        assert "Volunteer" not in said and "HON-2026-0001" not in said  # no record data
        assert world(database, engine, sim) == before, text
    assert slack.calls("chat.postMessage") == [] and slack.calls("chat.update") == []
    assert engine.history("HON-2026-0001").sync_log_state == "failed"
    assert len(slack.calls(INFO)) == 1  # cached briefly


def test_status_help_and_resolve_still_answer_in_a_public_channel(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 1)
    harness.command("status", ADMIN, channel=PUBLIC)
    assert "Accounting sync status" in nth_answer(slack, 1).params["text"]
    harness.command("help", STRANGER, channel=PUBLIC)
    assert "subcommands" in nth_answer(slack, 2).params["text"]
    assert slack.calls(INFO) == []


def test_a_stranger_is_refused_before_the_channel_is_looked_up(harness, engine, sim, slack):
    harness.command("failed", STRANGER, channel=PUBLIC)
    assert nth_answer(slack, 1).params["text"] == REFUSED
    assert slack.calls(INFO) == [] and slack.calls("chat.postMessage") == []


def test_in_a_private_channel_and_a_direct_message_the_list_is_posted(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    harness.command("failed", ADMIN, channel=CHANNEL)
    assert harness.posted_list(CHANNEL)["channel"] == CHANNEL
    harness.command("failed", ADMIN, channel="D0ADMIN1")
    assert harness.posted_list("D0ADMIN1")["channel"] == "D0ADMIN1"
    assert {c.params["channel"] for c in slack.calls(INFO)} == {CHANNEL, "D0ADMIN1"}
    assert slack.calls("chat.postEphemeral") == []


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("missing_scope", "Slack answered `missing_scope`"),
        ("ratelimited", "Slack answered `ratelimited`"),
        ("channel_not_found", "/invite @syncbot"),
    ],
)
def test_when_slack_will_not_say_the_answer_fails_closed(
    database, harness, engine, sim, slack, error, says
):
    fail_first_postings(engine, sim, 2)
    before = world(database, engine, sim)
    slack.refusing[INFO] = error
    harness.command("retry all", ADMIN, channel=CHANNEL)
    said = nth_answer(slack, 1).params["text"]
    assert says in said and "nothing was posted" in said.lower()
    assert world(database, engine, sim) == before
    assert slack.calls("chat.postMessage") == []
    del slack.refusing[INFO]  # a failure is not cached: the next command asks again
    harness.command("retry all", ADMIN, channel=CHANNEL)
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert engine.count_failed() == 0


def test_a_private_channel_the_bot_cannot_see_fails_closed(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 1)
    slack.channels["C0HIDDEN"] = "hidden"
    harness.command("history HON-2026-0001", ADMIN, channel="C0HIDDEN")
    said = nth_answer(slack, 1).params["text"]
    assert "can't see this channel" in said and "HON-2026-0001" not in said


@pytest.fixture
def open_harness(slack_settings, engine, slack) -> Iterator[Harness]:
    """The bot with SYNCBOT_ALLOW_PUBLIC_CHANNELS=true, served like the `harness` fixture."""
    settings = slack_settings.model_copy(update={"allow_public_channels": True})
    bot = build_bot(settings, engine)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    driver = Harness.over_http(f"http://127.0.0.1:{server.port}", SECRET, slack, CHANNEL)
    yield driver
    driver.close()
    server.stop()
    bot.close()


def test_allow_public_channels_turns_the_check_off(open_harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    open_harness.command("failed", ADMIN, channel=PUBLIC)
    assert open_harness.posted_list(PUBLIC)["channel"] == PUBLIC
    assert slack.calls(INFO) == []


def test_the_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SYNCBOT_ALLOW_PUBLIC_CHANNELS", "true")
    values = {"bot_token": "xoxb-1", "signing_secret": "s"}
    assert SlackSettings(_env_file=None, **values).allow_public_channels is True  # type: ignore[call-arg]
    monkeypatch.delenv("SYNCBOT_ALLOW_PUBLIC_CHANNELS")
    assert SlackSettings(_env_file=None, **values).allow_public_channels is False  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kind", "warned"),
    [("public", "a public channel"), ("ext_shared", "Slack Connect"), ("private", None)],
)
def test_an_exposed_alerts_channel_is_warned_of(bot, slack, caplog, kind, warned):
    slack.channels[ALERTS] = kind
    with caplog.at_level(logging.WARNING, logger="bot.slack.privacy"):
        warn_if_alert_channel_exposed(bot.settings.alert_channel, bot.messenger.client)
    said = [r.getMessage() for r in caplog.records if r.name == "bot.slack.privacy"]
    if warned is None:
        assert said == []
    else:
        [line] = said
        assert ALERTS in line and warned in line
        assert caplog.records[-1].levelno == logging.WARNING


def test_serve_warns_at_start_up_when_the_alerts_channel_is_public(
    database_url, sim, slack, engine, tmp_path
):
    from tests.scenario.test_serve import start_serve, wait_healthy

    slack.channels[ALERTS] = "public"
    log = tmp_path / "serve.log"
    proc, url = start_serve(log, database_url, sim, slack)
    try:
        wait_healthy(url, proc, log)
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()
    text = log.read_text()
    assert f"SYNCBOT_ALERT_CHANNEL {ALERTS} is a public channel" in text
