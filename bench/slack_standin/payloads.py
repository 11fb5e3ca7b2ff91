"""Slack's requests in Slack's own shapes, signed the way Slack signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from bench.slack_standin.methods import BOT_USER, TEAM

APP_ID = "A0SYNCBOT"


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature (v0 HMAC-SHA256) for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_TRIGGERS = itertools.count(1)


def trigger_id() -> str:
    """A new trigger id: Slack gives every command and click its own (so no two are alike)."""
    return f"1337.{next(_TRIGGERS)}.abcdef"


def slash_command(text: str, user: str, channel: str, response_url: str) -> dict[str, str]:
    """The fields of `/accounting <text>` typed by `user` in `channel`."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "volunteers",
        "channel_id": channel,
        "channel_name": "finance",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/accounting",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id(),
    }


def _common(user: str, response_url: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "team": {"id": TEAM, "domain": "volunteers"},
        "enterprise": None,
        "is_enterprise_install": False,
        "trigger_id": trigger_id(),
        "response_url": response_url,
    }


def message_action(
    user: str,
    message: dict[str, Any],
    action: dict[str, Any],
    state_values: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    """A `block_actions` payload for a click on a channel message."""
    channel = message["channel"]
    payload = {
        **_common(user, response_url),
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "channel": {"id": channel, "name": "finance"},
        "message": {
            "type": "message",
            "user": BOT_USER,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "blocks": message.get("blocks", []),
        },
        "state": {"values": state_values},
        "actions": [action],
    }
    return payload


def home_action(user: str, view: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """A `block_actions` payload for a click in the App Home tab (a view, no channel)."""
    payload = {
        **_common(user, ""),
        "container": {"type": "view", "view_id": "V1"},
        "view": {**view, "id": "V1", "team_id": TEAM, "state": {"values": {}}},
        "actions": [action],
    }
    del payload["response_url"]
    return payload


def app_home_opened(user: str, tab: str = "home") -> dict[str, Any]:
    """The `event_callback` Slack sends when `user` opens the app's Home tab."""
    now = time.time()
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D" + user[1:],
            "tab": tab,
            "event_ts": f"{now:.6f}",
        },
        "type": "event_callback",
        "event_id": f"Ev{int(now * 1000)}",
        "event_time": int(now),
        "authorizations": [
            {"team_id": TEAM, "user_id": BOT_USER, "is_bot": True, "enterprise_id": None}
        ],
    }


def form_body(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    """How Slack sends a payload over HTTP: body and content type for each kind of request."""
    if kind == "slash_commands":
        return urlencode(payload).encode(), "application/x-www-form-urlencoded"
    if kind == "interactive":
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return body, "application/x-www-form-urlencoded"
    return json.dumps(payload).encode(), "application/json"


def element_action(block: dict[str, Any], element: dict[str, Any], option: dict | None) -> dict:
    """The `actions[0]` entry Slack sends for a click on `element` of `block`."""
    action: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] == "button":
        action["value"] = element.get("value", "")
        action["text"] = element["text"]
    elif element["type"] == "static_select":
        action["selected_option"] = option
    elif element["type"] == "checkboxes":
        action["selected_options"] = [option] if option else []
    return action


def state_values(blocks: list[dict[str, Any]], ticked: set[str]) -> dict[str, Any]:
    """`state.values` as Slack sends it: every checkbox and select of the message, as shown."""
    values: dict[str, Any] = {}
    for block in blocks:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if not element or "action_id" not in element:
                continue
            if element["type"] == "checkboxes":
                chosen = [o for o in element["options"] if o["value"] in ticked]
                entry = {"type": "checkboxes", "selected_options": chosen}
            elif element["type"] == "static_select":
                entry = {"type": "static_select", "selected_option": element.get("initial_option")}
            else:
                continue
            values.setdefault(block["block_id"], {})[element["action_id"]] = entry
    return values


def find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The block and element with `action_id` (the first, in reading order)."""
    for block in blocks:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if element and element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"no element {action_id!r} in the message")
