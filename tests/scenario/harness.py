"""Drives the running bot as Slack would: signed HTTP requests in, the stand-in's record out."""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from bench.slack_standin import payloads
from bench.slack_standin.payloads import find_element
from bench.slack_standin.server import SlackStandIn

FORM = "application/x-www-form-urlencoded"


def pick_option(element: dict[str, Any], label: str | None) -> dict[str, Any] | None:
    """The option of a select or checkbox group whose text is `label`."""
    if label is None:
        return None
    for option in element.get("options") or []:
        if option["text"]["text"] == label:
            return option
    raise AssertionError(f"no option {label!r}")


class HttpTransport:
    """Slack's requests as Slack sends them over HTTP: form or JSON bodies, signed."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret
        self.client = httpx.Client(timeout=10)

    def send(
        self,
        body: bytes,
        content_type: str = FORM,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
    ) -> httpx.Response:
        """POST /slack/events, signed with `secret` (the bot's own unless given)."""
        headers = payloads.signed_headers(body, secret or self.secret, timestamp)
        headers["Content-Type"] = content_type
        return self.client.post(self.url + "/slack/events", content=body, headers=headers)

    def deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request; the bot must acknowledge it with a 200 (within Slack's 3 s)."""
        response = self.send(*payloads.form_body(kind, payload))
        assert response.status_code == 200, response.text
        assert response.elapsed.total_seconds() < 3
        return {"status": response.status_code, "body": response.text}

    def close(self) -> None:
        """Close the HTTP client."""
        self.client.close()


class Transport(Protocol):
    """How Slack's requests reach the bot: HTTP, or Socket Mode envelopes."""

    def deliver(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    def close(self) -> None: ...


class Harness:
    """Slack's side of the conversation: requests to the bot, and the stand-in's record."""

    def __init__(self, transport: Transport, slack: SlackStandIn, channel: str) -> None:
        self.transport, self.slack, self.channel = transport, slack, channel

    @classmethod
    def over_http(cls, url: str, secret: str, slack: SlackStandIn, channel: str) -> Harness:
        """A harness posting signed requests to the bot at `url`."""
        return cls(HttpTransport(url, secret), slack, channel)

    @property
    def http(self) -> HttpTransport:
        """The HTTP transport, for tests of the HTTP front itself."""
        assert isinstance(self.transport, HttpTransport)
        return self.transport

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def command(self, text: str, user: str, channel: str | None = None) -> dict[str, Any]:
        """`/accounting <text>`."""
        fields = payloads.slash_command(
            text, user, channel or self.channel, self.slack.response_url("cmd")
        )
        return self.transport.deliver("slash_commands", fields)

    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        user: str,
        *,
        tick: set[str] | frozenset[str] = frozenset(),
        option: str | None = None,
    ) -> dict[str, Any]:
        """Click an element of a channel message, with the rows in `tick` ticked."""
        blocks = message["blocks"]
        block, element = find_element(blocks, action_id)
        action = payloads.element_action(block, element, pick_option(element, option))
        state = payloads.state_values(blocks, set(tick))
        payload = payloads.message_action(
            user, message, action, state, self.slack.response_url("click")
        )
        return self.transport.deliver("interactive", payload)

    def click_home(self, view: dict[str, Any], action_id: str, user: str) -> dict[str, Any]:
        """Click a button in the App Home tab."""
        block, element = find_element(view["blocks"], action_id)
        action = payloads.element_action(block, element, None)
        return self.transport.deliver("interactive", payloads.home_action(user, view, action))

    def open_home(self, user: str, tab: str = "home") -> dict[str, Any]:
        """Open the App Home tab (an `app_home_opened` event)."""
        return self.transport.deliver("events_api", payloads.app_home_opened(user, tab))

    def posted_list(self, channel: str | None = None, index: int = -1) -> dict[str, Any]:
        """A failed-records list the bot posted (its current version), latest by default."""

        def is_list(call: Any) -> bool:
            return (
                "thread_ts" not in call.params
                and call.params.get("channel") == (channel or self.channel)
                and any(b.get("type") == "header" for b in call.params.get("blocks") or [])
            )

        lists = self.slack.wait_for("chat.postMessage", is_list)
        chosen = lists[index]
        return self.slack.message(chosen.answer["channel"], chosen.answer["ts"])
