"""Whether a request body is shaped as Slack sends it, before Bolt or a listener reads it."""

from __future__ import annotations

from typing import Any

# The JSON type Slack sends for every field that Bolt or the listeners read ("*": any key of a
# mapping, or any item of a list). Bolt trusts these types, and a body with another type in one
# of them makes it (or a listener) fail on it. Null is allowed for strings, and for the objects
# in _NULLABLE (Bolt reads others with `.get(key, {})`, which null defeats).
_OBJ, _STR, _LIST = (dict,), (str,), (list,)
SHAPES: dict[str, tuple[type, ...]] = {
    "type": _STR,
    "token": _STR,
    "api_app_id": _STR,
    "command": _STR,
    "text": _STR,
    "callback_id": _STR,
    "trigger_id": _STR,
    "response_url": _STR,
    "response_urls": _LIST,
    "response_urls.*": _OBJ,
    "response_urls.*.response_url": _STR,
    "thread_ts": _STR,
    "function_execution_id": _STR,
    "bot_access_token": _STR,
    "function_data": _OBJ,
    "function_data.execution_id": _STR,
    "function_data.inputs": _OBJ,
    "is_enterprise_install": (bool, str),
    "is_ext_shared_channel": (bool,),
    "enterprise": (dict, str),
    "enterprise.id": _STR,
    "enterprise_id": _STR,
    "team": (dict, str),
    "team.id": _STR,
    "team.enterprise_id": _STR,
    "team_id": _STR,
    "user": (dict, str),
    "user.id": _STR,
    "user.team_id": _STR,
    "user_id": _STR,
    "channel": (dict, str),
    "channel.id": _STR,
    "channel_id": _STR,
    "container": _OBJ,
    "container.type": _STR,
    "container.message_ts": _STR,
    "container.channel_id": _STR,
    "message": _OBJ,
    "message.ts": _STR,
    "message.user": (dict, str),
    "message.thread_ts": _STR,
    "previous_message": _OBJ,
    "item": _OBJ,
    "assistant_thread": _OBJ,
    "view": _OBJ,
    "view.id": _STR,
    "view.team_id": _STR,
    "view.app_installed_team_id": _STR,
    "view.callback_id": _STR,
    "authorizations": _LIST,
    "authorizations.*": _OBJ,
    "authorizations.*.is_enterprise_install": (bool, str),
    "event": _OBJ,
    "event.type": _STR,
    "event.subtype": _STR,
    "event.inputs": _OBJ,
    "event.user": (dict, str),
    "event.user_team": _STR,
    "event.team": _STR,
    "event.channel": (dict, str),
    "event.tab": _STR,
    "event.thread_ts": _STR,
    "event.function_execution_id": _STR,
    "event.bot_access_token": _STR,
    "actions": _LIST,
    "actions.*": _OBJ,
    "actions.*.action_id": _STR,
    "actions.*.block_id": _STR,
    "actions.*.type": _STR,
    "actions.*.value": _STR,
    "actions.*.selected_option": _OBJ,
    "actions.*.selected_option.value": _STR,
    "actions.*.selected_options": _LIST,
    "actions.*.selected_options.*": _OBJ,
    "actions.*.selected_options.*.value": _STR,
    "state": _OBJ,
    "state.values": _OBJ,
    "state.values.*": _OBJ,
    "state.values.*.*": _OBJ,
    "state.values.*.*.selected_options": _LIST,
    "state.values.*.*.selected_options.*": _OBJ,
    "state.values.*.*.selected_options.*.value": _STR,
}
_NULLABLE = frozenset({"enterprise", "team", "actions.*.selected_option"})
# Mappings whose keys are ids (block ids, action ids), matched by "*".
_ANY_KEY = ("state.values", "state.values.*")
# Objects Bolt reads ids out of as it reads them out of the body itself.
_LIKE_BODY = (
    "authorizations.*",
    "event",
    "message",
    "previous_message",
    "item",
    "assistant_thread",
)
_PREFIXES = frozenset(p.rsplit(".", n)[0] for p in SHAPES for n in range(1, p.count(".") + 1))
# What Bolt's action matchers index without looking first, by the body's `type`.
_REQUIRED = {
    "interactive_message": "callback_id",
    "dialog_submission": "callback_id",
    "dialog_cancellation": "callback_id",
    "workflow_step_edit": "callback_id",
}


def malformed(body: object) -> str | None:
    """What in a request body is not shaped as Slack sends it; None if nothing is."""
    if not isinstance(body, dict):
        return f"the body is a JSON {type(body).__name__}, not an object"
    kind = body.get("type")
    if kind == "block_actions" and not any(
        isinstance(a, dict) and "action_id" in a for a in (body.get("actions") or [None])[:1]
    ):
        return "a block_actions body without an action"
    needed = _REQUIRED.get(kind) if isinstance(kind, str) else None
    if needed is not None and needed not in body:
        return f"a {kind} body without {needed}"
    return _check(body, "")


def _check(node: dict[str, Any] | list[Any], path: str) -> str | None:
    """The first field in `node` (found at `path`) not shaped as Slack sends it, if any."""
    items = node.items() if isinstance(node, dict) else (("*", v) for v in node)
    for key, value in items:
        name = "*" if path in _ANY_KEY else key
        here = f"{path}.{name}" if path else name
        problem = _wrong_type(here, value)
        if problem is None and here in _PREFIXES and isinstance(value, dict | list):
            problem = _check(value, here)
        if problem is None and here in _LIKE_BODY and isinstance(value, dict):
            inner = _check(value, "")
            problem = inner and f"{here}: {inner}"
        if problem is not None:
            return problem
    return None


def _wrong_type(path: str, value: object) -> str | None:
    allowed = SHAPES.get(path)
    if allowed is None or isinstance(value, allowed):
        return None
    if value is None:
        return None if str in allowed or path in _NULLABLE else f"{path} is null"
    return f"{path} is a JSON {type(value).__name__}"


# The envelopes Slack sends over Socket Mode with a payload for the app (hello and disconnect
# are the connection's own and carry no envelope_id).
ENVELOPE_KINDS = frozenset({"slash_commands", "interactive", "events_api"})
_ENVELOPE_FIELDS: dict[str, tuple[type, ...]] = {
    "accepts_response_payload": (bool,),
    "retry_attempt": (int,),
    "retry_reason": (str,),
}


def malformed_envelope(envelope: dict[str, Any]) -> str | None:
    """What in a Socket Mode envelope (and its payload) is not shaped as Slack sends it."""
    envelope_id = envelope.get("envelope_id")
    if not isinstance(envelope_id, str) or not envelope_id:
        return "an envelope without an envelope_id"
    kind = envelope.get("type")
    if not isinstance(kind, str) or kind not in ENVELOPE_KINDS:
        return "an envelope of no type Slack sends"
    for name, allowed in _ENVELOPE_FIELDS.items():
        value = envelope.get(name)
        # bool is an int to Python, not to JSON: a retry count of `true` is not a number.
        fits = isinstance(value, allowed) and (bool in allowed or not isinstance(value, bool))
        if value is not None and not fits:
            return f"the envelope's {name} is a JSON {type(value).__name__}"
    if "payload" not in envelope:
        return "an envelope without a payload"
    problem = malformed(envelope["payload"])
    return problem and f"payload: {problem}"
