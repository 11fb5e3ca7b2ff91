"""The hostile-Slack tests' fixed cases: the world's records, and the tables of requests a signed
or forged sender may try (bad signatures, stale timestamps, bodies Slack would never send)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from bench.slack_standin import payloads
from bench.slack_standin.server import SlackStandIn
from tests.scenario.conftest import ADMIN, ADMIN2, CHANNEL, GROUP_ADMIN
from tests.scenario.harness import FORM

ADMINS = (ADMIN, ADMIN2, GROUP_ADMIN)
RETRYABLE = ("failed", "pending")
JSON = "application/json"
# The world every property test starts from (see `hostile_driver.build_world`).
FAILED = ["HON-2026-0001", "RMB-2026-0002", "HON-2026-0003", "RMB-2026-0004", "HON-2026-0005"]
RESOLVED = ["RMB-2026-0006"]
SUCCEEDED = ["RMB-2026-0007", "HON-2026-0008"]
PENDING = ["RMB-2026-0009"]
KNOWN = FAILED + RESOLVED + SUCCEEDED + PENDING
UNKNOWN = [
    "RMB-2026-9999",
    "HON-2026-0000",
    "rmb-2026-0001",
    "RMB-2026-0001\u200b",
    "ＲＭＢ-2026-0001",
    "RMB-2026-0001\x00",  # PostgreSQL cannot hold NUL in text
    "R" * 129,  # longer than the source_id column
]
# A message the bot posted, as a click on it quotes it back.
LISTED = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}


# -- signatures, timestamps and headers --------------------------------------------------------


def retry_all_bodies(slack: SlackStandIn, user: str = ADMIN) -> list[tuple[bytes, str]]:
    """An admin's `retry all` as a slash command and as a Retry All click on a list."""
    fields = payloads.slash_command("retry all", user, CHANNEL, slack.response_url())
    click = {
        "action_id": "retry_all",
        "block_id": "list_actions-x",
        "type": "button",
        "value": "{}",
    }
    payload = payloads.message_action(user, LISTED, click, {}, slack.response_url())
    return [
        payloads.form_body("slash_commands", fields),
        payloads.form_body("interactive", payload),
    ]


def forged_signatures(body: bytes, good: dict[str, Any], now: str) -> list[dict[str, Any]]:
    """Headers around a valid signature (`good`) that Slack's verifier must refuse."""
    return [
        payloads.signed_headers(body, "not-the-signing-secret"),
        {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
        {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        {**good, "X-Slack-Signature": "v0="},
        {**good, "X-Slack-Signature": b"v0=" + b"\xff" * 64},  # not ASCII: hmac cannot compare
        {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()},
        {**good, "X-Slack-Request-Timestamp": "not-a-number"},
        {**good, "X-Slack-Request-Timestamp": now + "0"},
    ]


def tampered_bodies(body: bytes) -> list[bytes]:
    """The signed body with one byte changed, more appended, or its last byte cut."""
    return [body.replace(b"UADMIN1", b"UADMIN2"), body + b"&x=1", body[:-1]]


# Seconds a request's timestamp is behind (or, negative, ahead of) now: all past the 5 minutes.
STALE_AGES = (301, 360, 3600, 86400 * 365, -301)


def missing_headers(good: dict[str, Any]) -> list[dict[str, Any]]:
    """Valid signature headers with one or both missing or empty."""
    return [
        {},
        {"X-Slack-Signature": good["X-Slack-Signature"]},
        {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
        {**good, "X-Slack-Signature": ""},
        {**good, "X-Slack-Request-Timestamp": ""},
    ]


UNSIGNED_JUNK = (b"payload=notjson", b"{", b"[1]", b"\xff\xfe", b"payload=" + b"[" * 5000)


# -- signed bodies the property tests found the bot mishandling ---------------------------------


def interactive(payload: dict[str, Any]) -> bytes:
    """A form body holding `payload`, as Slack sends interactions."""
    return urlencode({"payload": json.dumps(payload)}).encode()


ADMIN_CLICK = {
    "type": "block_actions",
    "user": {"id": ADMIN},
    "team": {"id": "T0VOLUNTEERS"},
    "actions": [{"action_id": "retry_all", "block_id": "b", "type": "button", "value": "{}"}],
}
# Each of these answered 500 before: Bolt parses the body before it checks the signature (and
# then fails on it), and its middleware and matchers trust the types of the fields they read.
UNREADABLE = [
    (b"payload=notjson", FORM),
    (b"payload=%5B1%2C2%5D", FORM),
    (b"{notjson", JSON),
    (b"[1,2]", JSON),
    (b"payload=" + b"%5B" * 3000 + b"%5D" * 3000, FORM),
    (interactive({**ADMIN_CLICK, "event": None}), FORM),
    (interactive({**ADMIN_CLICK, "actions": []}), FORM),
    (interactive({**ADMIN_CLICK, "actions": "retry_all"}), FORM),
    (interactive({**ADMIN_CLICK, "actions": [5]}), FORM),
    (interactive({**ADMIN_CLICK, "user": 5}), FORM),
    (interactive({**ADMIN_CLICK, "team": 5}), FORM),
    (interactive({**ADMIN_CLICK, "authorizations": [{"team": []}]}), FORM),
    (interactive({**ADMIN_CLICK, "type": "interactive_message"}), FORM),
    (json.dumps({"type": "event_callback", "event": "app_home_opened"}).encode(), JSON),
    (json.dumps({"type": "event_callback", "event": {"type": "x", "user": 5}}).encode(), JSON),
]
# A list button's value holding a number no column or int() can take, or nesting too deep.
HUGE_BUTTON_VALUES = {
    "4301-digits": '{"a": ' + "9" * 4301 + "}",  # more digits than Python's int() reads
    "2**63": '{"a": ' + str(2**63) + "}",  # past a 64-bit column: SQLite's OverflowError
    "10**30-page": '{"p": ' + str(10**30) + "}",
    "1e400": '{"a": 1e400}',
    "true-page": '{"p": true}',
    "deep": "[" * 5000 + "]" * 5000,
}


def button_click(action_id: str, value: str = "{}") -> dict[str, Any]:
    """The admin's click on a list button with this action id and value."""
    return {**ADMIN_CLICK["actions"][0], "action_id": action_id, "value": value}  # type: ignore[index]
