"""A pause the ledger imposes, in Slack: one alert, retries refused with the reason, status.

The bot runs on an engine whose ledger is the real gateway client behind the port, with a pause
the test switches on (tests/integration/test_ledger_pause.py); requests are signed and sent to
the real Bolt app over HTTP, and Slack is the stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench.slack_standin.limits import problems
from bot.slack.app import build_bot
from bot.slack.ids import Ids
from bot.slack.server import HttpServer
from sync_engine.build import build_engine
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault
from sync_engine.ledger import make_ledger
from tests.conftest import posting, settings_for
from tests.integration.test_ledger_pause import PAUSE, PausingLedger, Switch, rows
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL, SECRET
from tests.scenario.harness import Harness
from tests.scenario.test_slack_acceptance import open_list
from tests.scenario.test_slack_commands import answers

# The reason as Slack must show it: escaped, in a code span, never a live mention or bold.
SHOWN_REASON = "daily call budget is spent &lt;!here&gt; *now*; sending resumes tomorrow"


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def engine(database_url, sim, clock, switch) -> Iterator[SyncEngine]:
    """The engine on the test's database, its ledger the gateway client with a pause switch."""
    settings = settings_for(database_url, sim.url, batch_size=1, concurrency=1)
    ledger = PausingLedger(make_ledger(settings), switch, clock)
    with build_engine(settings, ledger=ledger, clock=clock) as built:
        yield built


@pytest.fixture
def served(slack_settings, engine, slack) -> Iterator[tuple[Any, Harness]]:
    bot = build_bot(slack_settings, engine)
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    harness = Harness.over_http(f"http://127.0.0.1:{server.port}", SECRET, slack, CHANNEL)
    yield bot, harness
    harness.close()
    server.stop()
    bot.close()


def alert_posts(slack) -> list[Any]:
    return [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ALERTS]


def test_a_pause_is_alerted_once_retries_are_refused_and_status_shows_it(
    served, engine, database, sim, slack, clock, switch
):
    bot, harness = served
    engine.submit([posting(1), posting(2)])
    sim.faults.add(Fault(kind="unavailable", count=2))
    engine.sync(requested_by="t", via="cli")  # both failed once
    bot.alert_poster.flush()  # the failure alert, out of the way
    first_alerts = len(alert_posts(slack))
    listed = open_list(harness, slack)

    switch.pause = PAUSE
    clock.advance(hours=1)
    engine.sync(requested_by="scheduler", via="scheduler")
    engine.sync(requested_by="scheduler", via="scheduler")
    assert bot.alert_poster.flush() == 1
    assert bot.alert_poster.flush() == 0
    [told] = alert_posts(slack)[first_alerts:]
    blocks = told.params["blocks"]
    assert problems(blocks) == []
    assert "Sending to the ledger is paused" in str(blocks)
    assert SHOWN_REASON in str(blocks) and "<!here>" not in str(told.params)
    assert "Manual retries are refused until then" in str(blocks)

    before, requests = rows(database), len(sim.requests())
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"RMB-2026-0001"})
    assert SHOWN_REASON in answers(slack, 1)
    harness.command("retry RMB-2026-0002", ADMIN)
    harness.command("retry all", ADMIN)
    said = [answers(slack, n) for n in (1, 2, 3)]
    assert all("nothing was retried" in s and SHOWN_REASON in s for s in said), said
    assert len(set(said)) == 1  # the same words from every door
    assert rows(database) == before and len(sim.requests()) == requests
    assert not slack.thread(CHANNEL, listed["ts"])  # no retry thread was started

    harness.command("status", ADMIN)
    status = answers(slack, 4)
    assert "Sending paused" in status and SHOWN_REASON in status and "<!date^" in status
    harness.open_home(ADMIN)
    [home] = slack.wait_for("views.publish")
    assert "Sending paused" in str(home.params["view"]) and SHOWN_REASON in str(home.params["view"])

    switch.pause = None  # the pause is over: sending resumes, and nothing more is posted
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert len(result.retries.succeeded) == 2
    assert bot.alert_poster.flush() == 0
