"""What the bot reads out of Slack's request bodies: who, where, which message, what is ticked."""

from __future__ import annotations

from typing import Any

from bot.slack.ids import Ids


def user_of(body: dict[str, Any]) -> str:
    """The Slack user who sent a slash command, an interaction or an event."""
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id") or "")
    event = body.get("event") or {}
    return str(body.get("user_id") or event.get("user") or "")


def channel_of(body: dict[str, Any]) -> str | None:
    """The channel of a slash command or of a message's interaction; None from the Home tab."""
    if body.get("channel_id"):
        return str(body["channel_id"])
    container = body.get("container") or {}
    if container.get("type") == "view":
        return None
    channel = body.get("channel") or {}
    return channel.get("id") or container.get("channel_id")


def from_home(body: dict[str, Any]) -> bool:
    """Whether an interaction came from the App Home tab (a view, no channel)."""
    return (body.get("container") or {}).get("type") == "view"


def message_ts_of(body: dict[str, Any]) -> str | None:
    """The `ts` of the message whose button was clicked."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    return container.get("message_ts") or message.get("ts")


def ticked(body: dict[str, Any]) -> list[str]:
    """The source_ids whose row checkbox is ticked, from the message's `state.values`."""
    values = (body.get("state") or {}).get("values") or {}
    picked: list[str] = []
    for elements in values.values():
        box = elements.get(Ids.ROW_CHECK) or {}
        picked += [o["value"] for o in box.get("selected_options") or () if o.get("value")]
    return list(dict.fromkeys(picked))


def action_value(action: dict[str, Any]) -> str | None:
    """A button's value, or a select's chosen option's value."""
    if action.get("type") == "static_select":
        return (action.get("selected_option") or {}).get("value")
    return action.get("value")
