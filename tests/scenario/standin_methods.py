"""What the Slack stand-in answers to each Web API method, the way Slack answers it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.scenario import slack_limits

if TYPE_CHECKING:
    from tests.scenario.standin import SlackStandIn

BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T0VOLUNTEERS"


def _refusal(params: dict[str, Any], surface: str = "message") -> dict[str, Any] | None:
    blocks = params.get("blocks") or []
    if len(str(params.get("text") or "")) > slack_limits.FALLBACK_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    found = slack_limits.problems(blocks, surface=surface)
    if found:
        error = "msg_blocks_too_long" if found == ["msg_blocks_too_long"] else "invalid_blocks"
        return {"ok": False, "error": error, "errors": found}
    return None


def _post_message(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    channel = str(p.get("channel"))
    if channel in s.not_member:
        return {"ok": False, "error": "not_in_channel"}
    refusal = _refusal(p)
    if refusal:
        return refusal
    # Posting to a user id lands in the app's direct message with that user.
    if channel.startswith("U"):
        channel = "D" + channel[1:]
    message = s.messages.add(channel, p)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}


def _update(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    key = (str(p.get("channel")), str(p.get("ts")))
    if key not in s.messages.by_key:
        return {"ok": False, "error": "message_not_found"}
    refusal = _refusal(p)
    if refusal:
        return refusal
    s.messages.by_key[key].update({k: v for k, v in p.items() if k in ("text", "blocks")})
    return {"ok": True, "channel": key[0], "ts": key[1], "text": p.get("text")}


def _ephemeral(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    if str(p.get("channel")) in s.not_member:
        return {"ok": False, "error": "not_in_channel"}
    return _refusal(p) or {"ok": True, "message_ts": "1800000000.999999"}


def _publish(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    view = p.get("view") or {}
    found = slack_limits.problems(view.get("blocks") or [], surface="view")
    if found or view.get("type") != "home" or not p.get("user_id"):
        return {"ok": False, "error": "invalid_arguments", "errors": found}
    return {"ok": True, "view": {"id": "V1", **view}}


def _group(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    group = p.get("usergroup")
    if group not in s.usergroups:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": s.usergroups[group]}


def _permalink(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    channel, ts = str(p.get("channel")), str(p.get("message_ts"))
    link = f"https://volunteers.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel, "permalink": link}


def _auth_test(s: SlackStandIn, _p: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "syncbot"}


def _connections_open(s: SlackStandIn, _p: dict[str, Any]) -> dict[str, Any]:
    if s.socket_url is None:
        return {"ok": False, "error": "not_allowed_token_type"}
    return {"ok": True, "url": s.socket_url}


ANSWERS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.postEphemeral": _ephemeral,
    "chat.getPermalink": _permalink,
    "views.publish": _publish,
    "usergroups.users.list": _group,
    "apps.connections.open": _connections_open,
    "response_url": lambda _s, _p: {"ok": True},
}
