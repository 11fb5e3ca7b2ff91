"""What the Slack stand-in answers to each Web API method, the way Slack answers it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench.slack_standin import limits

if TYPE_CHECKING:
    from bench.slack_standin.server import SlackStandIn

BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T0VOLUNTEERS"
# Channels whose conversations.info says anyone (or another organisation) can read them; every
# other channel id is private, and a "D..." id is a direct message (see `_conversation`).
PUBLIC, SHARED = "C0PUBLIC", "C0CONNECT"
CHANNEL_KINDS = {PUBLIC: "public", SHARED: "ext_shared"}


def _refusal(params: dict[str, Any], surface: str = "message") -> dict[str, Any] | None:
    blocks = params.get("blocks") or []
    if len(str(params.get("text") or "")) > limits.FALLBACK_TEXT:
        return {"ok": False, "error": "msg_too_long"}
    found = limits.problems(blocks, surface=surface)
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
    found = limits.problems(view.get("blocks") or [], surface="view")
    if found or view.get("type") != "home" or not p.get("user_id"):
        return {"ok": False, "error": "invalid_arguments", "errors": found}
    return {"ok": True, "view": {"id": "V1", **view}}


def _group(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    group = p.get("usergroup")
    if group not in s.usergroups:
        return {"ok": False, "error": "no_such_subteam"}
    return {"ok": True, "users": s.usergroups[group]}


def _conversation(s: SlackStandIn, p: dict[str, Any]) -> dict[str, Any]:
    """conversations.info: "private" unless `s.channels` says "public", "ext_shared" (a Slack
    Connect channel, private on this side) or "hidden" (a private channel the bot is not in)."""
    channel = str(p.get("channel") or "")
    kind = s.channels.get(channel, "im" if channel.startswith("D") else "private")
    if not channel or kind == "hidden":
        return {"ok": False, "error": "channel_not_found"}
    info = {
        "id": channel,
        "is_im": kind == "im",
        "is_channel": kind == "public",
        "is_group": kind in ("private", "ext_shared"),
        "is_private": kind in ("private", "ext_shared"),
        "is_shared": kind == "ext_shared",
        "is_ext_shared": kind == "ext_shared",
        "is_org_shared": False,
        "is_pending_ext_shared": False,
    }
    if kind == "im":
        # Slack's answer for a direct message has no is_private, is_channel or is_group.
        info = {k: v for k, v in info.items() if k not in ("is_private", "is_channel", "is_group")}
    return {"ok": True, "channel": info}


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
    "conversations.info": _conversation,
    "apps.connections.open": _connections_open,
    "response_url": lambda _s, _p: {"ok": True},
}
