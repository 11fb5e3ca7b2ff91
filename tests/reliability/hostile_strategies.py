"""What the hostile-Slack property tests generate: slash commands, interactions and malformed
bodies, from admins and others, as hypothesis strategies.

The tests are derandomized: a change here changes the inputs CI tries (docs/reliability.md
counts them), so change a strategy only on purpose.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from bench.slack_standin import payloads
from bot.slack.ids import Ids
from bot.slack.list_state import ListState
from tests.reliability.hostile_cases import (
    ADMINS,
    FAILED,
    JSON,
    KNOWN,
    LISTED,
    PENDING,
    SUCCEEDED,
    UNKNOWN,
)
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL, OUTSIDE, STRANGER
from tests.scenario.harness import FORM

SOURCE_IDS = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(UNKNOWN),
    st.text(min_size=1, max_size=24),
    st.integers(200, 4000).map(lambda n: "RMB-" + "9" * n),
)
USERS = st.one_of(
    st.sampled_from(ADMINS),
    st.sampled_from([STRANGER, "U0NOBODY", "", "W0ORG", "UADMIN", "uadmin1"]),
    st.text(max_size=12),
)
CHANNELS = st.one_of(
    st.sampled_from([CHANNEL, ALERTS, OUTSIDE, "D0DIRECT", ""]), st.text(max_size=12)
)
HUGE = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(500, 5000))
JUNK_TEXT = st.one_of(st.text(max_size=60), HUGE)


# -- 1. slash commands -------------------------------------------------------------------------

SUBCOMMANDS = st.sampled_from(
    [
        "retry",
        "retry all",
        "RETRY ALL",
        "retry\tall",
        "retry,all",
        "resolve",
        "history",
        "failed",
        "failed honorarium",
        "failed bogus",
        "status",
        "status now",
        "help",
        "",
        "rétry",
        "\u202eyrter",
    ]
)
# What an admin (or someone else) might type: a subcommand and a few ids, known or not.
PLAUSIBLE_TEXT = st.one_of(
    st.sampled_from(
        [
            "retry all",
            f"retry {FAILED[0]}",
            f"retry {FAILED[1]}, {FAILED[2]}",
            f"retry {PENDING[0]}",
            f"resolve {FAILED[4]} booked by hand",
            f"retry {SUCCEEDED[0]}",
            f"resolve {SUCCEEDED[1]} booked by hand",
        ]
    ),
    st.builds(
        lambda head, ids: " ".join([head, *ids]),
        st.sampled_from(["retry", "RETRY", "retry all", "Retry"]),
        st.lists(st.sampled_from(KNOWN + UNKNOWN), max_size=3),
    ),
    st.builds(
        lambda head, ids, tail: " ".join([head, *ids, tail]),
        st.sampled_from(["resolve", "history"]),
        st.lists(st.sampled_from(KNOWN + UNKNOWN), min_size=1, max_size=2),
        st.sampled_from(["booked by hand", "", "all"]),
    ),
)
COMMAND_TEXT = st.one_of(
    st.builds(
        lambda head, ids, tail: " ".join([head, *ids, tail]).strip(),
        SUBCOMMANDS,
        st.lists(SOURCE_IDS, max_size=6),
        st.one_of(st.sampled_from(["", "booked by hand", "all", "payload"]), JUNK_TEXT),
    ),
    st.builds(
        lambda ids: "retry " + ",".join(ids), st.lists(SOURCE_IDS, min_size=95, max_size=110)
    ),
    JUNK_TEXT,
)
COMMAND_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "response_url",
    "trigger_id",
    "api_app_id",
    "is_enterprise_install",
]


def slash_commands(response_url: str) -> st.SearchStrategy[bytes]:
    """`/accounting <text>`: as an admin or someone else might type it, or forged and garbled."""
    return st.one_of(plausible_commands(response_url), garbled_commands(response_url))


@st.composite
def plausible_commands(draw: st.DrawFn, response_url: str) -> bytes:
    """`/accounting <text>` as Slack sends it, typed by an admin (mostly) or a stranger."""
    user = draw(st.sampled_from([*ADMINS, STRANGER]))
    fields = payloads.slash_command(draw(PLAUSIBLE_TEXT), user, CHANNEL, response_url)
    return urlencode(fields).encode()


@st.composite
def garbled_commands(draw: st.DrawFn, response_url: str) -> bytes:
    """`/accounting <text>` with some fields forged, dropped or garbled."""
    user, channel = draw(USERS), draw(CHANNELS)
    fields = payloads.slash_command(draw(COMMAND_TEXT), user, channel, response_url)
    if draw(st.integers(0, 9)) == 9:
        fields["command"] = draw(st.sampled_from(["/ACCOUNTING", "/other", "", "accounting"]))
    # Sorted: a set's order follows the process's string hashing, and CI must draw the same.
    for name in sorted(draw(st.sets(st.sampled_from(COMMAND_FIELDS), max_size=2))):
        if draw(st.booleans()):
            del fields[name]
        elif name != "response_url":
            fields[name] = draw(JUNK_TEXT)
    return urlencode(fields).encode()


# -- 2. interactions ---------------------------------------------------------------------------

ACTIONS = [
    Ids.RETRY_SELECTED,
    Ids.RETRY_ALL,
    Ids.VIEW_FAILED,
    Ids.PAGE_PREV,
    Ids.PAGE_NEXT,
    Ids.FILTER_KIND,
    Ids.FILTER_CLASS,
    Ids.ROW_CHECK,
]
ACTION_IDS = st.one_of(
    st.sampled_from([a.value for a in ACTIONS] + [Ids.RETRY_SELECTED.value] * 2),
    st.sampled_from([a.value for a in ACTIONS]),
    st.sampled_from(["", "retry_all ", "RETRY_ALL", "retry_selected\x00", Ids.LIST_ROW.value]),
    st.text(max_size=16),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["reimbursement", "honorarium", "transient", "auth", "needs_attention"]),
)
LIST_STATES = st.one_of(
    st.builds(
        ListState,
        st.sampled_from([None, "reimbursement", "honorarium"]),
        st.sampled_from([None, "transient", "needs_attention", "auth"]),
        st.one_of(st.none(), st.integers(0, 2**62)),
        st.integers(1, 2**62),
    ).map(ListState.encode),
    st.dictionaries(st.sampled_from(["k", "c", "a", "p", "x"]), JSON_SCALARS, max_size=5).map(
        json.dumps
    ),
)
BUTTON_VALUES = st.one_of(
    LIST_STATES,
    LIST_STATES,
    st.just("{}"),
    JUNK_TEXT,
    st.sampled_from(["[]", "null", "1e999", '"x"', "{", '{"p": 1e400}', '{"a": -1}']),
)
# In JSON, unlike a form, a lone surrogate can be sent ("\ud800"); no database can store one.
TICKED_OPTION = st.fixed_dictionaries(
    {"value": st.one_of(SOURCE_IDS, st.just("RMB-2026-0001\ud800"))},
    optional={"text": st.just({"type": "mrkdwn", "text": "x"})},
)
CHECKBOXES = st.fixed_dictionaries(
    {"type": st.just("checkboxes"), "selected_options": st.lists(TICKED_OPTION, max_size=12)}
)
STATE_VALUES = st.dictionaries(
    st.one_of(st.sampled_from([f"{Ids.LIST_ROW}-{n}" for n in range(3)]), st.text(max_size=10)),
    st.dictionaries(
        st.sampled_from([Ids.ROW_CHECK.value, Ids.FILTER_KIND.value, "other"]),
        CHECKBOXES,
        min_size=1,
        max_size=2,
    ),
    max_size=4,
)


@st.composite
def list_clicks(draw: st.DrawFn, listed: dict[str, Any], response_url: str) -> bytes:
    """A click on one of the list's own elements, with rows ticked and ids forged into the ticks."""
    blocks = listed["blocks"]
    elements = [
        (block, element)
        for block in blocks
        for element in [block.get("accessory"), *(block.get("elements") or [])]
        if element and "action_id" in element
    ]
    block, element = draw(st.sampled_from(elements))
    options = element.get("options") or [None]
    action = payloads.element_action(block, element, draw(st.sampled_from(options)))
    state = payloads.state_values(blocks, set(draw(st.lists(st.sampled_from(KNOWN), max_size=4))))
    forged = draw(st.lists(st.sampled_from([*KNOWN, *UNKNOWN, "HON-\udfff"]), max_size=4))
    if forged:
        state[f"{Ids.LIST_ROW}-forged"] = {
            Ids.ROW_CHECK.value: {
                "type": "checkboxes",
                "selected_options": [{"value": v} for v in forged],
            }
        }
    user = draw(st.sampled_from([*ADMINS, STRANGER, "U0NOBODY"]))
    payload = payloads.message_action(user, listed, action, state, response_url)
    return urlencode({"payload": json.dumps(payload)}).encode()


def interactions(listed: dict[str, Any], response_url: str) -> st.SearchStrategy[bytes]:
    """Clicks on the list's own elements, and forged clicks on anything."""
    return st.one_of(list_clicks(listed, response_url), forged_clicks(listed, response_url))


@st.composite
def forged_clicks(draw: st.DrawFn, listed: dict[str, Any], response_url: str) -> bytes:
    """A `block_actions` click on the list or the Home tab, forged in whatever Slack sends."""
    user = draw(USERS)
    action: dict[str, Any] = {
        "action_id": draw(ACTION_IDS),
        "block_id": draw(st.one_of(st.just(f"{Ids.LIST_ACTIONS}-x"), st.text(max_size=10))),
        "type": draw(st.sampled_from(["button", "button", "static_select", "checkboxes"])),
        "action_ts": "1800000000.000001",
    }
    value = draw(BUTTON_VALUES)
    if action["type"] == "static_select":
        action["selected_option"] = {"text": {"type": "plain_text", "text": "x"}, "value": value}
    elif action["type"] == "checkboxes":
        action["selected_options"] = draw(st.lists(TICKED_OPTION, max_size=3))
    else:
        action["value"] = value
    where = draw(st.sampled_from(["message", "message", "message", "home", "none"]))
    if where == "home":
        payload = payloads.home_action(user, {"type": "home", "blocks": []}, action)
    else:
        message = {**listed, "channel": draw(st.one_of(st.just(listed["channel"]), CHANNELS))}
        if draw(st.booleans()):
            message["ts"] = draw(st.one_of(st.just("1.000001"), st.text(max_size=12)))
        state = draw(STATE_VALUES)
        payload = payloads.message_action(user, message, action, state, response_url)
        if where == "none":
            del payload["container"], payload["channel"]
    if draw(st.integers(0, 9)) == 9:
        payload["actions"] = draw(st.lists(st.just(action), max_size=3))
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- 3. malformed requests: wrong types, missing fields, bytes that are not even JSON ----------

JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
SLACK_KEYS = [
    "type",
    "user",
    "user_id",
    "team",
    "team_id",
    "enterprise",
    "enterprise_id",
    "channel",
    "channel_id",
    "container",
    "message",
    "view",
    "state",
    "actions",
    "event",
    "authorizations",
    "response_urls",
    "callback_id",
    "trigger_id",
    "command",
    "text",
    "token",
    "is_enterprise_install",
    "api_app_id",
    "function_data",
    "function_execution_id",
    "thread_ts",
    "previous_message",
    "item",
    "assistant_thread",
    "bot_access_token",
    "is_ext_shared_channel",
    "submission",
    "challenge",
]
NESTED = {
    "user": ["id", "team_id"],
    "team": ["id", "enterprise_id"],
    "channel": ["id"],
    "container": ["type", "message_ts", "channel_id"],
    "message": ["ts", "user", "thread_ts"],
    "view": ["id", "team_id", "app_installed_team_id", "callback_id"],
    "event": ["type", "user", "tab", "channel", "user_team", "team"],
    "state": ["values"],
}


def _base_payloads(url: str) -> list[tuple[str, dict[str, Any]]]:
    """The well-formed bodies `_mangle` starts from: a command, clicks, Home opened."""
    click = payloads.element_action(
        {"block_id": "list_actions-x"},
        {"action_id": Ids.RETRY_ALL.value, "type": "button", "value": "{}", "text": "Retry"},
        None,
    )
    return [
        ("slash_commands", payloads.slash_command("retry all", ADMIN, CHANNEL, url)),
        ("interactive", payloads.message_action(ADMIN, LISTED, click, {}, url)),
        ("interactive", payloads.home_action(STRANGER, {"type": "home", "blocks": []}, click)),
        ("events_api", payloads.app_home_opened(ADMIN)),
        ("events_api", payloads.app_home_opened(STRANGER)),
    ]


def _mangle(draw: st.DrawFn, payload: dict[str, Any], url: str) -> dict[str, Any]:
    """Replace, drop or add a few fields, top-level or one level down, with any JSON value."""
    payload = json.loads(json.dumps(payload))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(SLACK_KEYS + list(NESTED)))
        if key in NESTED and isinstance(payload.get(key), dict) and draw(st.booleans()):
            inner = draw(st.sampled_from(NESTED[key]))
            payload[key][inner] = draw(JSON_VALUES)
        elif draw(st.integers(0, 4)) == 0:
            payload.pop(key, None)
        elif key == "actions" and draw(st.booleans()):
            payload[key] = [
                draw(
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "action_id",
                                "value",
                                "type",
                                "block_id",
                                "selected_option",
                                "selected_options",
                            ]
                        ),
                        JSON_VALUES,
                    )
                )
            ]
        else:
            payload[key] = draw(JSON_VALUES)
    # Whatever else is forged, a response_url only ever points at the stand-in: nothing here
    # may reach the internet.
    if "response_url" in payload:
        payload["response_url"] = url
    payload.pop("response_urls", None)
    return payload


@st.composite
def malformed_requests(draw: st.DrawFn, url: str) -> tuple[bytes, str | None]:
    """A body with fields of the wrong type, or one that is not a Slack body at all."""
    shape = draw(st.sampled_from(["mangled"] * 6 + ["bytes", "text", "json_any", "deep"]))
    if shape == "bytes":
        return draw(st.binary(max_size=200)), draw(
            st.sampled_from([FORM, JSON, None, "text/plain"])
        )
    if shape == "text":
        return draw(
            st.sampled_from(["payload=", "payload={", "payload=[1]", "{", "[]", "ssl_check=1"])
        ).encode() + draw(st.text(max_size=30)).encode(), draw(st.sampled_from([FORM, JSON]))
    if shape == "json_any":
        return json.dumps(draw(JSON_VALUES)).encode(), draw(st.sampled_from([FORM, JSON]))
    if shape == "deep":
        depth = draw(st.integers(900, 5000))
        return ("payload=" + "[" * depth + "]" * depth).encode(), FORM
    kind, payload = draw(st.sampled_from(_base_payloads(url)))
    payload = _mangle(draw, payload, url)
    if kind == "slash_commands":
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return urlencode(fields).encode(), FORM
    if kind == "interactive" or draw(st.integers(0, 3)) == 0:
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM
    return json.dumps(payload).encode(), JSON
