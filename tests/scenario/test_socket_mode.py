"""Socket Mode end to end, as users run it by default: envelopes in, acknowledgements out.

The bot connects through `apps.connections.open` (the Web API stand-in) to a local WebSocket
server playing Slack; the acceptance story runs through it as it does over HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.slack.app import build_bot
from bot.slack.ids import Ids
from bot.slack.server import socket_mode_handler
from bot.slack.settings import SlackSettings
from tests.scenario.conftest import (
    ADMIN,
    ALERTS,
    BOT_TOKEN,
    CHANNEL,
    STRANGER,
    fail_first_postings,
)
from tests.scenario.harness import Harness
from tests.scenario.socket_standin import SlackSocket
from tests.scenario.standin import SlackStandIn
from tests.scenario.test_slack_acceptance import key_of, reply_text, rows_of, sent_keys

APP_TOKEN = "xapp-1-test-app-token"


class SocketTransport:
    """Slack's requests as Socket Mode envelopes; each must be acknowledged within 3 s."""

    def __init__(self, server: SlackSocket) -> None:
        self.server = server

    def deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        ack, seconds = self.server.wait_ack(self.server.send(kind, payload))
        assert seconds < 3
        return ack

    def close(self) -> None:
        """Nothing to close: the server belongs to the fixture."""


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def over_socket(engine) -> Iterator[Harness]:
    """The bot connected over Socket Mode to the local Slack, on the test's database."""
    with (
        SlackSocket() as server,
        SlackStandIn(BOT_TOKEN, usergroups={}, app_token=APP_TOKEN) as slack,
    ):
        slack.socket_url = server.url
        settings = SlackSettings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=BOT_TOKEN,
            app_token=APP_TOKEN,
            api_url=slack.url,
            alert_channel=ALERTS,
            admin_users=ADMIN,
        )
        bot = build_bot(settings, engine)
        handler = socket_mode_handler(bot, APP_TOKEN)
        handler.connect()
        server.wait_connected()
        try:
            yield Harness(SocketTransport(server), slack, CHANNEL)
        finally:
            # Slack's side hangs up first: the client's reader would otherwise sit out its
            # 3-second receive timeout before noticing it was closed. Closing the client only
            # once it has noticed avoids a race inside slack_sdk's disconnect().
            server.hang_up()
            wait_until(lambda: not handler.client.is_connected())
            handler.close()
            bot.close()


def test_the_whole_story_over_socket_mode(over_socket, engine, sim):
    slack = over_socket.slack
    fail_first_postings(engine, sim, 3)
    before = len(sim.requests())
    over_socket.command("retry all", STRANGER)
    [refusal] = slack.wait_for("chat.postEphemeral")
    assert refusal.params["user"] == STRANGER and "Only syncbot's" in refusal.params["text"]
    assert len(sim.requests()) == before and engine.count_failed() == 3

    ack = over_socket.command("failed", ADMIN)
    assert ack["envelope_id"]
    listed = over_socket.posted_list()
    assert rows_of(listed) == ["HON-2026-0001", "RMB-2026-0002", "HON-2026-0003"]

    before = len(sim.requests())
    over_socket.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"RMB-2026-0002"})
    assert "RMB-2026-0002* succeeded: booked as" in reply_text(slack, listed)
    assert sent_keys(sim, before) == [key_of(engine, "RMB-2026-0002")]
    history = engine.history("RMB-2026-0002")
    assert history.sync_log_state == "succeeded"
    assert [(e.requested_by, e.via) for e in history.retry_events] == [(ADMIN, "slack")]

    over_socket.open_home(ADMIN)
    # Two publishes: the retry refreshes its asker's Home tab, then the tab is opened.
    published = slack.wait_for("views.publish", count=2)
    assert all(p.params["user_id"] == ADMIN for p in published)
    assert "*failed*\\n2" in str(published[-1].params["view"]["blocks"])
