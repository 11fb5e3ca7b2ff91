"""The hostile-Slack tests' driver: the world a property test starts from, sending one signed
request, and the checks after it (what the sender was entitled to change, send and hear).

After each request, once every listener and every retry it started has finished:

- the HTTP answer is never a 5xx;
- the gateway received no request for a record the sender was not entitled to retry or resolve
  (a non-administrator: none at all; an administrator: only records named in the request that
  were `failed` or `pending`, or, for "retry all", the failed queue);
- no record the sender was not entitled to change changed in the database (state, attempt
  count, retry event, error, reference, idempotency key, attempts);
- Slack heard no traceback, and a non-administrator got no list, no update and no record data;
- no exception was logged other than Slack refusing a call (anything else is a bug of ours).
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
from urllib.parse import unquote_plus

import httpx
import pytest
from hypothesis import HealthCheck, settings
from slack_sdk.errors import SlackClientError
from sqlalchemy import func, select

from bench.slack_standin import payloads
from bench.slack_standin.server import SlackStandIn
from bot.slack.app import ANSWER_WORKERS, LISTENER_WORKERS, SlackBot
from storage.db import Database
from storage.models import Attempt, Record, RecordChange, RetryEvent, SyncLogEntry
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, GatewaySimulator
from tests.conftest import posting
from tests.reliability.hostile_cases import (
    ADMINS,
    FAILED,
    KNOWN,
    PENDING,
    RESOLVED,
    RETRYABLE,
    SUCCEEDED,
)
from tests.scenario.conftest import ADMIN, fail_first_postings
from tests.scenario.harness import FORM, Harness

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


def sync_rows(database: Database) -> dict[str, Row]:
    """Every record's sync state, keyed by source_id, from the database."""
    with database.reading() as session:
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
    database: Database
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
        return sync_rows(self.database)

    def snapshot(self) -> Snapshot:
        """Now."""
        with self.database.reading() as session:
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
    database: Database,
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
    states = {s: r.state for s, r in sync_rows(database).items()}
    expected = {s: "failed" for s in FAILED} | {s: "succeeded" for s in SUCCEEDED}
    assert states == expected | {RESOLVED[0]: "resolved", PENDING[0]: "pending"}
    caplog.set_level(logging.WARNING)
    return World(harness, engine, database, sim, slack, bot, caplog, listed)


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
    response = signed_post(world.harness, body, content_type)
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


# -- sending -----------------------------------------------------------------------------------


def post(harness: Harness, body: bytes, headers: dict[str, Any]) -> httpx.Response:
    """POST /slack/events with exactly these headers."""
    return harness.http.client.post(
        harness.http.url + "/slack/events", content=body, headers=headers
    )


def signed_post(harness: Harness, body: bytes, content_type: str | None) -> httpx.Response:
    """POST /slack/events, validly signed, with this content type (or none)."""
    headers: dict[str, Any] = payloads.signed_headers(body, harness.http.secret)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return post(harness, body, headers)


# -- the plain tests' world and checks ---------------------------------------------------------


@pytest.fixture
def failed_world(harness, engine, database, sim, slack) -> Iterator[tuple[int, dict[str, Row]]]:
    """Two failed records; what the gateway and the database held before the test's requests."""
    fail_first_postings(engine, sim, 2)
    yield len(sim.requests()), sync_rows(database)


def retry_event_count(database: Database) -> int:
    """How many retry events the database holds."""
    with database.reading() as session:
        return session.scalar(select(func.count()).select_from(RetryEvent)) or 0


def assert_no_effect(
    database: Database,
    sim: GatewaySimulator,
    slack: SlackStandIn,
    before: tuple[int, dict[str, Row]],
) -> None:
    """No gateway request, no Slack call, no database change."""
    requests, rows = before
    time.sleep(0.3)  # a listener, had one run, would have called Slack or the gateway by now
    assert len(sim.requests()) == requests
    assert [c.method for c in slack.calls()] == []
    assert sync_rows(database) == rows
    assert retry_event_count(database) == 0
