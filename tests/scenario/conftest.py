"""Scenario fixtures: the Slack stand-in, the real Bolt app on waitress, signed requests.

Every DB-touching scenario runs on SQLite and on PostgreSQL through `make_engine_for`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot, build_bot
from bot.slack.server import HttpServer
from bot.slack.settings import SlackSettings
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, GatewaySimulator
from tests.conftest import posting
from tests.scenario.harness import Harness

BOT_TOKEN = "xoxb-test-bot-token"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ADMIN, ADMIN2, GROUP_ADMIN, STRANGER = "UADMIN1", "UADMIN2", "UGROUP1", "USTRANGER"
FINANCE_GROUP = "S0FINANCE"
CHANNEL, ALERTS, OUTSIDE = "C0FINANCE", "C0ALERTS", "C0ELSEWHERE"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """The Slack Web API stand-in; the bot is not a member of OUTSIDE."""
    with SlackStandIn(
        BOT_TOKEN, not_member={OUTSIDE}, usergroups={FINANCE_GROUP: [GROUP_ADMIN]}
    ) as standin:
        yield standin


@pytest.fixture
def slack_settings(slack: SlackStandIn) -> SlackSettings:
    """The bot's settings, pointed at the stand-in; nothing read from the environment file."""
    return SlackSettings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=BOT_TOKEN,
        signing_secret=SECRET,
        api_url=slack.url,
        alert_channel=ALERTS,
        admin_users=f"{ADMIN}, {ADMIN2}",
        admin_usergroup=FINANCE_GROUP,
        page_size=10,
    )


@pytest.fixture
def engine(make_engine_for: Callable[..., SyncEngine]) -> SyncEngine:
    """The engine on the test's database (SQLite or PostgreSQL) and the gateway simulator."""
    return make_engine_for()


@pytest.fixture
def bot(slack_settings: SlackSettings, engine: SyncEngine) -> Iterator[SlackBot]:
    """The Bolt app with every listener, calling the engine in process."""
    built = build_bot(slack_settings, engine)
    yield built
    built.close()


@pytest.fixture
def harness(bot: SlackBot, slack: SlackStandIn) -> Iterator[Harness]:
    """The bot served by waitress on a free loopback port, and Slack's side of it."""
    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    driver = Harness.over_http(f"http://127.0.0.1:{server.port}", SECRET, slack, CHANNEL)
    yield driver
    driver.close()
    server.stop()


def fail_first_postings(
    engine: SyncEngine, sim: GatewaySimulator, n: int, *, start: int = 1
) -> list[str]:
    """Records `start`..`start + n - 1`, all failed on their first posting (ledger offline)."""
    records = [
        posting(i, kind="honorarium" if i % 2 else "reimbursement") for i in range(start, start + n)
    ]
    engine.submit(records)
    sim.faults.add(Fault(kind="unavailable"))
    result = engine.sync(requested_by="tester", via="cli")
    sim.faults.clear()
    assert len(result.initial.failed) == n
    return [r.source_id for r in records]
