"""Socket Mode end to end, as users run it by default: envelopes in, acknowledgements out.

The bot connects through `apps.connections.open` (the Web API stand-in) to a local WebSocket
server playing Slack; the acceptance story runs through it as it does over HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot, build_bot
from bot.slack.ids import Ids
from bot.slack.server import socket_mode_handler
from bot.slack.settings import SlackSettings
from tests.reliability.hostile_driver import settle
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


@dataclass
class Connected:
    """The bot connected over Socket Mode, Slack's side of the socket, and the harness."""

    harness: Harness
    bot: SlackBot
    server: SlackSocket


@pytest.fixture
def over_socket(connected: Connected) -> Harness:
    """The bot connected over Socket Mode to the local Slack, on the test's database."""
    return connected.harness


@pytest.fixture
def connected(engine) -> Iterator[Connected]:
    """The bot connected over Socket Mode to the local Slack, with its parts."""
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
            yield Connected(Harness(SocketTransport(server), slack, CHANNEL), bot, server)
        finally:
            # Slack's side hangs up first: the client's reader would otherwise sit out its
            # 3-second receive timeout before noticing it was closed. Closing the client only
            # once it has noticed avoids a race inside slack_sdk's disconnect().
            server.hang_up()
            wait_until(lambda: not handler.client.is_connected())
            handler.close()
            bot.close()


def test_the_whole_story_over_socket_mode(database, over_socket, engine, sim):
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
    assert "`RMB-2026-0002` succeeded: booked as" in reply_text(slack, listed)
    assert sent_keys(sim, before) == [key_of(database, "RMB-2026-0002")]
    history = engine.history("RMB-2026-0002")
    assert history.sync_log_state == "succeeded"
    assert [(e.requested_by, e.via) for e in history.retry_events] == [(ADMIN, "slack")]

    over_socket.open_home(ADMIN)
    # Two publishes: the retry refreshes its asker's Home tab, then the tab is opened.
    published = slack.wait_for("views.publish", count=2)
    assert all(p.params["user_id"] == ADMIN for p in published)
    assert "*failed*\\n2" in str(published[-1].params["view"]["blocks"])


# -- malformed envelopes (issue 10, point 6) ----------------------------------------------------

CLICK = {
    "type": "block_actions",
    "user": {"id": ADMIN},
    "team": {"id": "T0VOLUNTEERS"},
    "response_url": "",
    "actions": [{"action_id": "retry_all", "block_id": "b", "type": "button", "value": "{}"}],
}
COMMAND = {
    "command": "/accounting",
    "text": "retry all",
    "user_id": ADMIN,
    "channel_id": CHANNEL,
    "team_id": "T0VOLUNTEERS",
    "response_url": "",
}
# Payloads Slack never sends; each made Bolt (or the client before it) fail.
BAD_PAYLOADS: list[tuple[str, Any]] = [
    ("interactive", [1, 2]),
    ("interactive", 5),
    ("slash_commands", "retry all"),
    ("interactive", {**CLICK, "user": 5}),
    ("interactive", {**CLICK, "team": 5}),
    ("interactive", {**CLICK, "actions": "retry_all"}),
    ("interactive", {**CLICK, "actions": [5]}),
    ("interactive", {**CLICK, "actions": []}),
    ("interactive", {**CLICK, "authorizations": [{"team": []}]}),
    ("interactive", {**CLICK, "type": "interactive_message"}),
    ("slash_commands", {**COMMAND, "user_id": ["x"]}),
    ("slash_commands", {**COMMAND, "text": {"a": 1}}),
    ("events_api", {"type": "event_callback", "event": "app_home_opened"}),
    ("events_api", {"type": "event_callback", "event": {"type": "x", "user": 5}}),
]


def bad_envelopes() -> list[dict[str, Any]]:
    """Envelopes with a malformed payload, or malformed themselves; each with its own id."""
    envelopes = [
        {"envelope_id": f"bad-payload-{n}", "type": kind, "payload": payload}
        for n, (kind, payload) in enumerate(BAD_PAYLOADS)
    ]
    good = {"type": "slash_commands", "payload": COMMAND}
    return envelopes + [
        {**good, "envelope_id": "bad-type", "type": 5},
        {**good, "envelope_id": "unknown-type", "type": "slash_command"},
        {**good, "envelope_id": "null-payload", "payload": None},
        {"envelope_id": "missing-payload", "type": "slash_commands"},
        {**good, "envelope_id": "bad-retry", "retry_attempt": "1"},
        {**good, "envelope_id": "bad-accepts", "accepts_response_payload": "yes"},
    ]


def test_malformed_envelopes_are_acknowledged_and_dropped(connected, engine, sim, caplog):
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    slack, server = connected.harness.slack, connected.server
    caplog.set_level(logging.INFO)
    envelopes = bad_envelopes()
    for envelope in envelopes:
        server.send_envelope(envelope)
    # Without a usable id there is nothing to acknowledge: dropped all the same, never run.
    unusable = [
        {"envelope_id": 5, "type": "slash_commands", "payload": COMMAND},
        {"type": "slash_commands", "payload": COMMAND},
    ]
    for envelope in unusable:
        server.send_envelope(envelope)
    for envelope in envelopes:
        _ack, seconds = server.wait_ack(envelope["envelope_id"])
        assert seconds < 3
    wait_until(lambda: len(dropped(caplog)) == len(envelopes) + len(unusable))
    settle(connected.bot)

    # No "something went wrong", nor any other call: only the bot's own connecting.
    assert [c.method for c in slack.calls()] == ["apps.connections.open"]
    assert len(sim.requests()) == requests and engine.count_failed() == 2
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # The connection is still good: a well-formed command is served.
    connected.harness.command("help", ADMIN)
    slack.wait_for("chat.postEphemeral")


def dropped(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log lines saying a Socket Mode envelope was dropped."""
    said = [r.getMessage() for r in caplog.records]
    return [m for m in said if m.startswith("a Socket Mode envelope was dropped")]
