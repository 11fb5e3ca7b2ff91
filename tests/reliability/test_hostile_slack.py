"""Hostile Slack input (issue 6, item 4): whatever reaches POST /slack/events, nothing it was not
entitled to happens.

The property tests send generated slash commands, interactions and malformed requests, signed
with the bot's secret, to the real Bolt app served by waitress, and check after each one, once
every listener and every retry it started has finished:

- the HTTP answer is never a 5xx;
- the gateway received no request for a record the sender was not entitled to retry or resolve
  (a non-administrator: none at all; an administrator: only records named in the request that
  were `failed` or `pending`, or, for "retry all", the failed queue);
- no record the sender was not entitled to change changed in the database (state, attempt
  count, retry event, error, reference, idempotency key, attempts);
- Slack heard no traceback, and a non-administrator got no list, no update and no record data;
- no exception was logged other than Slack refusing a call (anything else is a bug of ours).

The plain tests check that unsigned, mis-signed, stale (a captured request replayed 6 minutes
later included) or header-less requests are refused with 401 and have no effect at all, and that
a non-administrator's well-formed, validly signed Retry All is refused.

Every test runs on SQLite and on PostgreSQL; the property tests try the same inputs on both
(derandomized). HOSTILE_EXAMPLES=0.1 runs a tenth of them, for a quick look.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackClientError
from sqlalchemy import func, select

from bot.slack.answers import REFUSED, STALE_BUTTON
from bot.slack.app import ANSWER_WORKERS, LISTENER_WORKERS, SlackBot
from bot.slack.ids import Ids
from bot.slack.list_state import ListState
from storage.models import Attempt, Record, RecordChange, RetryEvent, SyncLogEntry
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, GatewaySimulator
from tests.conftest import posting
from tests.scenario import payloads
from tests.scenario.conftest import (
    ADMIN,
    ADMIN2,
    ALERTS,
    CHANNEL,
    GROUP_ADMIN,
    OUTSIDE,
    STRANGER,
    fail_first_postings,
)
from tests.scenario.harness import FORM, Harness
from tests.scenario.standin import SlackStandIn

ADMINS = (ADMIN, ADMIN2, GROUP_ADMIN)
RETRYABLE = ("failed", "pending")
JSON = "application/json"
# The world every property test starts from (see `build_world`).
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


# -- the world and what may change in it ------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """What a request may not change about a record it is not entitled to touch."""

    key: str
    state: str
    attempts: int
    attempt_rows: int
    retry_event_id: int | None
    last_error: str | None
    accounting_ref: str | None


@dataclass(frozen=True)
class Snapshot:
    """The database, the gateway's request log and Slack's call log at one moment."""

    rows: dict[str, Row]
    retry_events: int
    changes: int
    requests: int
    slack_calls: int
    log_records: int


def sync_rows(engine: SyncEngine) -> dict[str, Row]:
    """Every record's sync state, keyed by source_id, from the database."""
    with engine.sessions() as session:
        counts = dict(
            session.execute(
                select(Attempt.record_id, func.count()).group_by(Attempt.record_id)
            ).all()
        )
        found = session.execute(
            select(
                Record.id,
                Record.source_id,
                Record.idempotency_key,
                SyncLogEntry.state,
                SyncLogEntry.attempt_count,
                SyncLogEntry.retry_event_id,
                SyncLogEntry.last_error,
                SyncLogEntry.accounting_ref,
            ).join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
        ).all()
    return {
        r.source_id: Row(
            r.idempotency_key,
            r.state,
            r.attempt_count,
            counts.get(r.id, 0),
            r.retry_event_id,
            r.last_error,
            r.accounting_ref,
        )
        for r in found
    }


@dataclass
class World:
    """The running bot, its engine, the gateway simulator and Slack's stand-in."""

    harness: Harness
    engine: SyncEngine
    sim: GatewaySimulator
    slack: SlackStandIn
    bot: SlackBot
    caplog: pytest.LogCaptureFixture
    listed: dict[str, Any]
    next_number: int = 100
    statuses: Counter[int] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)
    tried: int = 0

    def rows(self) -> dict[str, Row]:
        """Every record's sync state, keyed by source_id."""
        return sync_rows(self.engine)

    def snapshot(self) -> Snapshot:
        """Now."""
        with self.engine.sessions() as session:
            events = session.scalar(select(func.count()).select_from(RetryEvent)) or 0
            changes = session.scalar(select(func.count()).select_from(RecordChange)) or 0
        return Snapshot(
            self.rows(),
            events,
            changes,
            len(self.sim.requests()),
            len(self.slack.calls()),
            len(self.caplog.records),
        )

    def refill(self) -> None:
        """Keep a few records in the failed queue and one pending, whatever admins did before."""
        rows = self.rows()
        if sum(r.state == "failed" for r in rows.values()) < 3:
            batch = [posting(n) for n in range(self.next_number, self.next_number + 3)]
            self.next_number += 3
            self.engine.submit(batch)
            self.engine.sync(requested_by="tester", via="cli")  # refused: the validation fault
        if not any(r.state == "pending" for r in self.rows().values()):
            self.engine.submit([posting(self.next_number)])
            self.next_number += 1


def build_world(
    harness: Harness,
    engine: SyncEngine,
    sim: GatewaySimulator,
    slack: SlackStandIn,
    bot: SlackBot,
    caplog: pytest.LogCaptureFixture,
) -> World:
    """Failed, resolved, succeeded and pending records, and a list an admin posted."""
    fail_first_postings(engine, sim, 6)
    engine.submit([posting(7), posting(8, kind="honorarium")])
    engine.sync(requested_by="tester", via="cli")
    engine.resolve(RESOLVED[0], "booked by hand", by="tester")
    # From now on every posting is refused (422), so failed records stay failed and the world
    # stays the same shape however many retries the admins' payloads start.
    sim.faults.add(Fault(kind="validation"))
    engine.submit([posting(9)])
    harness.command("failed", ADMIN)
    listed = harness.posted_list()
    states = {s: r.state for s, r in sync_rows(engine).items()}
    expected = {s: "failed" for s in FAILED} | {s: "succeeded" for s in SUCCEEDED}
    assert states == expected | {RESOLVED[0]: "resolved", PENDING[0]: "pending"}
    caplog.set_level(logging.WARNING)
    return World(harness, engine, sim, slack, bot, caplog, listed)


@pytest.fixture
def world(harness, engine, sim, slack, bot, caplog) -> World:
    """The world every property test starts from."""
    return build_world(harness, engine, sim, slack, bot, caplog)


def settle(bot: SlackBot, timeout: float = 30.0) -> None:
    """Wait until every listener Bolt started, every answer those handed on, and every retry
    queued on the way has finished."""
    _drain(bot.listener_executor, LISTENER_WORKERS, timeout)
    _drain(bot.answer_executor, ANSWER_WORKERS, timeout)
    bot.retrier.wait()


def _drain(pool: ThreadPoolExecutor, workers: int, timeout: float) -> None:
    """Wait until every task queued on `pool` so far has finished.

    Gates are queued behind the tasks already queued (the pool's queue is first in, first out);
    once every one of the pool's threads is holding a gate, no earlier task can be running.
    """
    release = threading.Event()
    holding = [0]
    lock = threading.Condition()

    def gate() -> None:
        with lock:
            holding[0] += 1
            lock.notify_all()
        release.wait(timeout)

    for _ in range(workers):
        pool.submit(gate)
    deadline = time.monotonic() + timeout
    try:
        with lock:
            # The pool's threads (a private attribute, but the only exact count there is).
            while holding[0] < len(pool._threads):
                left = deadline - time.monotonic()
                assert left > 0, "the bot's listeners or answers did not finish"
                lock.wait(left)
    finally:
        release.set()


def entitled(body: str, before: dict[str, Row]) -> set[str]:
    """The records a request may change or have sent: none unless an administrator sent it."""
    if not any(admin in body for admin in ADMINS):
        return set()
    named = {s for s, row in before.items() if s in body and row.state in RETRYABLE}
    if "retry_all" in body or re.search(r"retry\W+all", body, re.IGNORECASE):
        named |= {s for s, row in before.items() if row.state == "failed"}
    return named


def readable(raw: bytes) -> str:
    """A request body as the oracle reads it: decoded, form-decoded, JSON escapes undone."""
    text = unquote_plus(raw.decode("utf-8", "replace"))
    try:
        return text + json.dumps(json.loads(text.removeprefix("payload=")), ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def check(world: World, body: bytes, content_type: str | None = FORM) -> None:
    """Send one signed request and check that it had no effect it was not entitled to."""
    world.refill()
    before = world.snapshot()
    headers = payloads.signed_headers(body, world.harness.http.secret)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = world.harness.http.client.post(
        world.harness.http.url + "/slack/events", content=body, headers=headers
    )
    world.statuses[response.status_code] += 1
    world.tried += 1
    assert response.status_code < 500, (response.status_code, response.text)
    settle(world.bot)
    after = world.snapshot()

    text = readable(body)
    allowed = entitled(text, before.rows)
    assert set(after.rows) == set(before.rows), "records appeared or vanished"
    changed = {s for s, row in before.rows.items() if after.rows[s] != row}
    assert changed <= allowed, f"changed without entitlement: {sorted(changed - allowed)}"

    by_key = {row.key: s for s, row in before.rows.items()}
    new_requests = world.sim.requests()[before.requests :]
    sent = {s for r in new_requests for s in r.source_ids}
    sent |= {by_key.get(k, k) for r in new_requests for k in r.idempotency_keys}
    assert sent <= allowed, f"sent without entitlement: {sorted(sent - allowed)}"
    twice = [s for s, n in Counter(s for r in new_requests for s in r.source_ids).items() if n > 1]
    assert not twice, f"sent more than once by one request: {twice}"
    assert world.sim.stats()["duplicate_bookings"] == 0
    world.effects.update(
        ["from an admin"] * bool(allowed or any(a in text for a in ADMINS))
        + ["records changed"] * bool(changed)
        + ["gateway called"] * bool(sent)
    )

    calls = world.slack.calls()[before.slack_calls :]
    for call in calls:
        said = json.dumps(call.params, ensure_ascii=False)
        assert "Traceback" not in said and 'File "' not in said, said[:500]
    if not any(admin in text for admin in ADMINS):
        assert after.retry_events == before.retry_events
        assert after.changes == before.changes
        _only_refused(calls, text)

    bugs = [bug for r in world.caplog.records[before.log_records :] if (bug := our_bug(r))]
    assert not bugs, bugs


def our_bug(record: logging.LogRecord) -> str | None:
    """A logged exception other than Slack refusing (or failing) a call: a bug of syncbot's."""
    error = record.exc_info[1] if record.exc_info else None
    if record.levelno < logging.ERROR or error is None:
        return None
    if isinstance(error, SlackClientError) or isinstance(error.__cause__, SlackClientError):
        return None  # Slack's answer, as it is or as the bot's own NotInChannel
    return f"{record.getMessage()}: {error!r}"


def _only_refused(calls: list[Any], text: str) -> None:
    """A non-administrator hears a refusal or a usage hint, never a list or a record's data."""
    for call in calls:
        assert call.method not in ("chat.update",), call.params
        # A refusal in the app's DM carries its words as answer sections; nothing else may post.
        blocks = call.params.get("blocks") or []
        posted = [b for b in blocks if not str(b.get("block_id")).startswith("answer.")]
        assert not (call.method == "chat.postMessage" and posted), call.params
        said = json.dumps(call.params, ensure_ascii=False)
        for source_id in KNOWN:
            assert source_id not in said or source_id in text, said[:500]
        assert "Volunteer VOL" not in said or "Volunteer VOL" in text, said[:500]
        if call.method == "views.publish":
            assert "Failed records" not in said, said[:500]


def examples(wanted: int) -> int:
    """How many inputs a property test tries (HOSTILE_EXAMPLES scales it, for a quick look)."""
    return max(1, int(wanted * float(os.environ.get("HOSTILE_EXAMPLES", "1"))))


def run_property(
    world: World, label: str, test: Callable[..., None], wanted: int, record: Any
) -> None:
    """Run a @given test, then state (and insist on) how many inputs it actually tried."""
    test()
    minimum = int(wanted * 0.95)
    tried = world.tried
    record(f"inputs_{label}", tried)
    statuses = dict(sorted(world.statuses.items()))
    print(f"\n{label}: {tried} inputs tried; HTTP answers {statuses}; {dict(world.effects)}")
    assert tried >= minimum


PROPERTY = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


# -- what the generated requests are made of ---------------------------------------------------

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
    for name in draw(st.sets(st.sampled_from(COMMAND_FIELDS), max_size=2)):
        if draw(st.booleans()):
            del fields[name]
        elif name != "response_url":
            fields[name] = draw(JUNK_TEXT)
    return urlencode(fields).encode()


@pytest.mark.timeout(240)
def test_generated_slash_commands_do_only_what_their_sender_may(world, record_property):
    """900 generated `/accounting` commands from admins and others."""
    url = world.slack.response_url("cmd")

    wanted = examples(900)

    @settings(PROPERTY, max_examples=wanted)
    @given(body=slash_commands(url))
    def one(body: bytes) -> None:
        check(world, body)

    run_property(world, "slash_commands", one, wanted, record_property)


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


@pytest.mark.timeout(240)
def test_generated_interactions_do_only_what_their_sender_may(world, record_property):
    """1,000 generated button clicks, filters, pages and forged ticks from admins and others."""
    url = world.slack.response_url("click")

    wanted = examples(1000)

    @settings(PROPERTY, max_examples=wanted)
    @given(body=interactions(world.listed, url))
    def one(body: bytes) -> None:
        check(world, body)

    run_property(world, "interactions", one, wanted, record_property)


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
    listed = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}
    click = payloads.element_action(
        {"block_id": "list_actions-x"},
        {"action_id": Ids.RETRY_ALL.value, "type": "button", "value": "{}", "text": "Retry"},
        None,
    )
    return [
        ("slash_commands", payloads.slash_command("retry all", ADMIN, CHANNEL, url)),
        ("interactive", payloads.message_action(ADMIN, listed, click, {}, url)),
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


@pytest.mark.timeout(240)
def test_malformed_requests_are_refused_without_effect(world, record_property):
    """500 bodies with wrong types, missing fields, bad JSON, bare bytes, deep nesting."""
    url = world.slack.response_url("junk")

    wanted = examples(500)

    @settings(PROPERTY, max_examples=wanted)
    @given(request=malformed_requests(url))
    def one(request: tuple[bytes, str | None]) -> None:
        check(world, *request)

    run_property(world, "malformed", one, wanted, record_property)


# -- plain tests: the signature, the timestamp, the headers ------------------------------------


def post(harness: Harness, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    """POST /slack/events with exactly these headers."""
    return harness.http.client.post(
        harness.http.url + "/slack/events", content=body, headers=headers
    )


@pytest.fixture
def failed_world(harness, engine, sim, slack) -> Iterator[tuple[int, dict[str, Row]]]:
    """Two failed records; what the gateway and the database held before the test's requests."""
    fail_first_postings(engine, sim, 2)
    yield len(sim.requests()), sync_rows(engine)


def assert_no_effect(harness, engine, sim, slack, before: tuple[int, dict[str, Row]]) -> None:
    """No gateway request, no Slack call, no database change."""
    requests, rows = before
    time.sleep(0.3)  # a listener, had one run, would have called Slack or the gateway by now
    assert len(sim.requests()) == requests
    assert [c.method for c in slack.calls()] == []
    assert sync_rows(engine) == rows
    with engine.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 0


def retry_all_bodies(slack: SlackStandIn, user: str = ADMIN) -> list[tuple[bytes, str]]:
    """An admin's `retry all` as a slash command and as a Retry All click on a list."""
    fields = payloads.slash_command("retry all", user, CHANNEL, slack.response_url())
    listed = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}
    click = {
        "action_id": "retry_all",
        "block_id": "list_actions-x",
        "type": "button",
        "value": "{}",
    }
    payload = payloads.message_action(user, listed, click, {}, slack.response_url())
    return [
        payloads.form_body("slash_commands", fields),
        payloads.form_body("interactive", payload),
    ]


def test_bad_signatures_are_refused_with_401_and_do_nothing(
    harness, engine, sim, slack, failed_world
):
    now = str(int(time.time()))
    for body, content_type in retry_all_bodies(slack):
        good = payloads.signed_headers(body, harness.http.secret)
        forged = [
            payloads.signed_headers(body, "not-the-signing-secret"),
            {**good, "X-Slack-Signature": good["X-Slack-Signature"].replace("v0=", "v1=")},
            {**good, "X-Slack-Signature": "v0=" + "0" * 64},
            {**good, "X-Slack-Signature": "v0="},
            {**good, "X-Slack-Signature": b"v0=" + b"\xff" * 64},  # not ASCII: hmac cannot compare
            {**good, "X-Slack-Signature": good["X-Slack-Signature"].upper()},
            {**good, "X-Slack-Request-Timestamp": "not-a-number"},
            {**good, "X-Slack-Request-Timestamp": now + "0"},
        ]
        for headers in forged:
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, (headers, answer.status_code)
        # The right signature over a different body (one byte changed, or more appended).
        for tampered in (body.replace(b"UADMIN1", b"UADMIN2"), body + b"&x=1", body[:-1]):
            answer = post(harness, tampered, {**good, "Content-Type": content_type})
            assert answer.status_code == 401
    assert_no_effect(harness, engine, sim, slack, failed_world)


def test_stale_and_replayed_requests_are_refused_with_401_and_do_nothing(
    harness, engine, sim, slack, failed_world
):
    now = int(time.time())
    for body, content_type in retry_all_bodies(slack):
        for age in (301, 360, 3600, 86400 * 365, -301):
            headers = payloads.signed_headers(body, harness.http.secret, now - age)
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, age
    assert_no_effect(harness, engine, sim, slack, failed_world)


def test_a_captured_request_replayed_six_minutes_later_is_refused(harness, engine, sim, slack):
    """A request captured on the wire, valid then, replayed unchanged 6 minutes later."""
    fail_first_postings(engine, sim, 2)
    # Captured 6 minutes ago: the request as it was (body and headers, signed back then).
    captured_at = int(time.time()) - 360
    [(body, content_type), _] = retry_all_bodies(slack)
    captured = payloads.signed_headers(body, harness.http.secret, captured_at)
    before = (len(sim.requests()), sync_rows(engine))
    answer = post(harness, body, {**captured, "Content-Type": content_type})
    assert answer.status_code == 401
    assert_no_effect(harness, engine, sim, slack, before)
    # The same body signed now is accepted: it was the age alone that refused the replay.
    answer = post(
        harness, body, {**payloads.signed_headers(body, harness.http.secret), "Content-Type": FORM}
    )
    assert answer.status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert engine.count_failed() == 0 and len(sim.requests()) > before[0]


def test_missing_signature_headers_are_refused_with_401_and_do_nothing(
    harness, engine, sim, slack, failed_world
):
    for body, content_type in retry_all_bodies(slack):
        good = payloads.signed_headers(body, harness.http.secret)
        for headers in (
            {},
            {"X-Slack-Signature": good["X-Slack-Signature"]},
            {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
            {**good, "X-Slack-Signature": ""},
            {**good, "X-Slack-Request-Timestamp": ""},
        ):
            answer = post(harness, body, {**headers, "Content-Type": content_type})
            assert answer.status_code == 401, headers
        # Unsigned garbage is refused for its signature before anything tries to read it.
        for junk in (b"payload=notjson", b"{", b"[1]", b"\xff\xfe", b"payload=" + b"[" * 5000):
            assert post(harness, junk, {"Content-Type": content_type}).status_code == 401
    assert_no_effect(harness, engine, sim, slack, failed_world)


def test_a_strangers_signed_retry_all_is_refused_and_does_nothing(harness, bot, engine, sim, slack):
    """A well-formed Retry All click and `retry all`, validly signed, from a non-administrator."""
    fail_first_postings(engine, sim, 3)
    requests = len(sim.requests())
    rows = sync_rows(engine)
    for body, content_type in retry_all_bodies(slack, STRANGER):
        assert harness.http.send(body, content_type).status_code == 200
    settle(bot)
    refusals = slack.wait_for("chat.postEphemeral", count=2)
    assert [(c.params["user"], c.params["text"]) for c in refusals] == [(STRANGER, REFUSED)] * 2
    assert {c.method for c in slack.calls()} <= {
        "chat.postEphemeral",
        "usergroups.users.list",
        "auth.test",
    }
    assert len(sim.requests()) == requests
    assert sync_rows(engine) == rows
    with engine.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 0
    # The same click from an administrator is not refused: it was the sender that mattered.
    body, content_type = retry_all_bodies(slack, ADMIN)[1]
    assert harness.http.send(body, content_type).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert len(sim.requests()) > requests


# -- regressions: what the property tests found -------------------------------------------------


def signed_post(harness: Harness, body: bytes, content_type: str | None) -> httpx.Response:
    """POST /slack/events, validly signed, with this content type (or none)."""
    headers: dict[str, Any] = payloads.signed_headers(body, harness.http.secret)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return post(harness, body, headers)


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


def test_signed_bodies_that_slack_would_never_send_get_400_and_do_nothing(
    harness, engine, sim, slack, failed_world
):
    for body, content_type in UNREADABLE:
        assert signed_post(harness, body, content_type).status_code == 400, body[:80]
    # Bytes that are not UTF-8 cannot even be checked against the signature: 401.
    assert signed_post(harness, b"\xff\xfe", FORM).status_code == 401
    assert_no_effect(harness, engine, sim, slack, failed_world)
    # The same click, well formed, is served.
    assert signed_post(harness, interactive(ADMIN_CLICK), FORM).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)


def test_a_command_without_a_user_or_a_channel_is_ignored(harness, bot, engine, sim, slack, caplog):
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    for missing in ("user_id", "channel_id"):
        fields = payloads.slash_command("retry all", ADMIN, CHANNEL, slack.response_url())
        del fields[missing]
        assert signed_post(harness, urlencode(fields).encode(), FORM).status_code == 200
    settle(bot)
    assert {c.method for c in slack.calls()} <= {"auth.test"}  # Bolt's, on its first request
    assert len(sim.requests()) == requests
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bot.")] == [
        "a /accounting command without a user or a channel was ignored"
    ] * 2


@pytest.mark.parametrize(
    "value",
    [
        '{"a": ' + "9" * 4301 + "}",  # more digits than Python's int() reads: ValueError
        '{"a": ' + str(2**63) + "}",  # past a 64-bit column: SQLite's OverflowError
        '{"p": ' + str(10**30) + "}",
        '{"a": 1e400}',
        '{"p": true}',
        "[" * 5000 + "]" * 5000,
    ],
    ids=["4301-digits", "2**63", "10**30-page", "1e400", "true-page", "deep"],
)
def test_a_list_button_holding_a_huge_number_is_stale_not_a_crash(
    harness, engine, sim, slack, caplog, value
):
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    for action_id in ("page_next", "retry_selected"):
        click = {**ADMIN_CLICK["actions"][0], "action_id": action_id, "value": value}  # type: ignore[index]
        listed = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}
        tick = {"b": {"row_check": {"type": "checkboxes", "selected_options": [{"value": "x"}]}}}
        body = interactive(payloads.message_action(ADMIN, listed, click, tick, ""))
        assert harness.http.send(body).status_code == 200
    answers = slack.wait_for("chat.postEphemeral", count=2)
    assert [a.params["text"] for a in answers] == [STALE_BUTTON] * 2
    assert len(sim.requests()) == requests
    assert not [bug for r in caplog.records if (bug := our_bug(r))]


def test_a_source_id_no_database_can_hold_is_unknown_not_a_crash(
    harness, engine, sim, slack, caplog
):
    """NUL made PostgreSQL raise DataError; a lone surrogate cannot be encoded by any driver."""
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    nul, long = "HON-2026-0001\x00", "H" * 129
    for text in (f"retry {nul}", f"history {nul}", f"resolve {nul} by hand", f"retry {long}"):
        harness.command(text, ADMIN)
    listed = {"channel": CHANNEL, "ts": "1800000001.000001", "text": "", "blocks": []}
    click = {**ADMIN_CLICK["actions"][0], "action_id": "retry_selected"}  # type: ignore[index]
    for forged in (nul, "HON-2026-0001\ud800"):
        ticks = [{"value": "RMB-2026-0002"}, {"value": forged}]
        tick = {"b": {"row_check": {"type": "checkboxes", "selected_options": ticks}}}
        body = interactive(payloads.message_action(ADMIN, listed, click, tick, ""))
        assert harness.http.send(body).status_code == 200
    answers = [a.params["text"] for a in slack.wait_for("chat.postEphemeral", count=6)]
    assert all("unknown source_id" in a for a in answers), answers
    assert len(sim.requests()) == requests
    assert engine.count_failed() == 2
    assert not [bug for r in caplog.records if (bug := our_bug(r))]
