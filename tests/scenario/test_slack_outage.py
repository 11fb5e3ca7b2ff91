"""The outage in Slack: one message when the gateway goes down, updated when it is back;
manual retries warned; the Home tab shows it."""

from __future__ import annotations

import pytest

from bot.slack.app import build_bot
from bot.slack.ids import Ids
from sync_engine.gateway_sim import Fault
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL
from tests.scenario.test_slack_acceptance import open_list, reply_text


@pytest.fixture
def singles(make_engine_for):
    """An engine posting one record per request (so five failures are five requests)."""
    return make_engine_for(batch_size=1, concurrency=1, backoff_base_seconds=3600)


@pytest.fixture
def outage_bot(slack_settings, singles):
    bot = build_bot(slack_settings, singles)
    yield bot
    bot.close()


def go_down(engine, sim):
    engine.submit([posting(n) for n in range(1, 7)])
    sim.faults.add(Fault(kind="unavailable"))
    assert engine.sync(requested_by="scheduler", via="scheduler").outage is not None


def alerts_posted(slack):
    return [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ALERTS]


def test_the_outage_is_one_message_updated_in_place_when_the_gateway_is_back(
    outage_bot, singles, sim, slack, clock
):
    go_down(singles, sim)
    outage_bot.alert_poster.flush()
    [down] = slack.wait_for("chat.postMessage")
    text = str(down.params["blocks"])
    assert "The accounting gateway is down" in text and "503" in text
    assert "Automatic retries and first syncs are paused" in text
    assert len(alerts_posted(slack)) == 1  # no per-record alert beside it

    # More failures during the outage (manual ones) alert nothing new.
    singles.retry_selected(["RMB-2026-0001"], requested_by=ADMIN, via="slack")
    outage_bot.alert_poster.flush()
    assert len(alerts_posted(slack)) == 1

    sim.faults.clear()
    clock.advance(seconds=16)
    singles.sync(requested_by="scheduler", via="scheduler")  # the probe is answered
    outage_bot.alert_poster.flush()
    [back] = slack.wait_for("chat.update")
    assert (back.params["channel"], back.params["ts"]) == (ALERTS, down.answer["ts"])
    assert "The accounting gateway is back" in str(back.params["blocks"])
    assert len(alerts_posted(slack)) == 1


def test_a_manual_retry_during_an_outage_runs_with_a_warning(slack_settings, singles, sim, slack):
    from bot.slack.server import HttpServer
    from tests.scenario.conftest import SECRET
    from tests.scenario.harness import Harness

    go_down(singles, sim)
    bot = build_bot(slack_settings, singles)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    harness = Harness.over_http(f"http://127.0.0.1:{server.port}", SECRET, slack, CHANNEL)
    try:
        # The gateway is still down: the manual retry is sent all the same (a success would
        # end the outage at once: tests/integration/test_outage_end.py).
        listed = open_list(harness, slack)
        harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"RMB-2026-0001"})
        reply = reply_text(slack, listed)
        assert "`RMB-2026-0001` failed again" in reply
        assert "Gateway down" in str(slack.thread(CHANNEL, listed["ts"])[0]["blocks"])

        slack.wait_for("views.publish")  # the asker's Home tab, refreshed after the retry
        harness.open_home(ADMIN)
        home = slack.wait_for("views.publish", count=2)[-1]
        assert "Gateway down" in str(home.params["view"])
        assert "Automatic retries are paused" in str(home.params["view"])
    finally:
        harness.close()
        server.stop()
        bot.close()
