"""A pause the ledger imposes (its daily budget spent), through the engine's port contract.

The ledger here is the real HTTP gateway client on the gateway simulator, wrapped so that its
`paused()` answers a pause the test switches on and off (the Xero adapter answers one when its
daily budget is spent; the engine must not know which ledger it is). While the pause lasts no
request reaches the simulator, no row changes, the admins are told once, and a manual retry is
refused with the reason, from the engine and from `syncbot retry`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import sync_engine.build
from bot.cli import main
from storage.db import Database
from storage.models import AlertOutbox, Attempt, GatewayStatus, Record, RetryEvent, SyncLogEntry
from storage.vocabulary import ErrorClass, Outcome
from sync_engine.contract import Posting, format_time
from sync_engine.engine import SyncEngine
from sync_engine.errors import LedgerPaused
from sync_engine.gateway_sim import Fault, GatewaySimulator
from sync_engine.ledger import Ledger, LedgerLimits, LedgerPause, make_ledger
from sync_engine.post_result import PostResult
from tests.conftest import FakeClock, posting, settings_for

# In the future for the fake clock and for the real one (`syncbot status` reads real time).
UNTIL = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
REASON = "The ledger's daily call budget is spent <!here> *now*; sending resumes tomorrow"
PAUSE = LedgerPause(UNTIL, REASON)
SHOWN = format_time(UNTIL)


@dataclass
class Switch:
    """The pause every test ledger answers, and (`refuse_after`) the posting after which the
    ledger refuses with its budget spent and begins the pause."""

    pause: LedgerPause | None = None
    refuse_after: int | None = None
    posted: int = 0
    refused: list[str] = field(default_factory=list)


class PausingLedger:
    """The gateway client behind the port, with a pause answered from the test's switch."""

    def __init__(self, inner: Ledger, switch: Switch, clock: Callable[[], datetime]) -> None:
        self.inner, self.switch, self.clock = inner, switch, clock

    @property
    def limits(self) -> LedgerLimits:
        return self.inner.limits

    def reserve(self) -> None:
        self.inner.reserve()

    def post(self, key: str, posting: Posting) -> PostResult:
        s = self.switch
        if s.refuse_after is not None and s.posted >= s.refuse_after:
            return self._refuse(key)
        s.posted += 1
        return self.inner.post(key, posting)

    def _refuse(self, key: str) -> PostResult:
        # As an adapter whose budget is spent answers: nothing sent, a 429 until the pause ends.
        self.switch.pause = PAUSE
        self.switch.refused.append(key)
        wait = (PAUSE.until - self.clock()).total_seconds()
        return PostResult(key, Outcome.FAILED, 429, None, REASON, ErrorClass.TRANSIENT, wait)

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        return self.inner.post_batch(items)

    def lookup(self, key: str) -> str | None:
        return self.inner.lookup(key)

    def probe(self) -> str | None:
        return self.inner.probe()

    def paused(self) -> LedgerPause | None:
        return self.switch.pause

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def switch() -> Switch:
    return Switch()


@pytest.fixture
def make_engine(
    database_url: str,
    sim: GatewaySimulator,
    clock: FakeClock,
    switch: Switch,
    make_engine_for: Callable[..., SyncEngine],
) -> Callable[[], SyncEngine]:
    """Engines on the test's database whose ledgers share the switch; closed afterwards."""
    settings = settings_for(database_url, sim.url, batch_size=1, concurrency=1)

    def build() -> SyncEngine:
        ledger = PausingLedger(make_ledger(settings), switch, clock)
        return make_engine_for(batch_size=1, concurrency=1, ledger=ledger)

    return build


def rows(database: Database) -> tuple[Any, ...]:
    """Every record's sync state and schedule, and how many attempts and retry events exist."""
    with database.reading() as session:
        states = session.execute(
            select(Record.source_id, SyncLogEntry.state, SyncLogEntry.next_attempt_at)
            .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
            .order_by(Record.source_id)
        ).all()
        attempts = session.scalar(select(func.count()).select_from(Attempt))
        events = session.scalar(select(func.count()).select_from(RetryEvent))
    return tuple(states), attempts, events


def pause_rows(database: Database) -> list[dict[str, Any]]:
    with database.reading() as session:
        payloads = session.scalars(
            select(AlertOutbox.payload).where(AlertOutbox.kind == "ledger_paused")
        ).all()
    return [json.loads(p) for p in payloads]


def one_failed_one_pending(engine: SyncEngine, sim: GatewaySimulator, clock: FakeClock) -> None:
    """RMB-2026-0001 failed and due again, RMB-2026-0002 pending."""
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="unavailable", count=1))
    assert len(engine.sync(requested_by="t", via="cli").initial.failed) == 1
    engine.submit([posting(2)])
    clock.advance(hours=1)  # the failed one is due


def test_nothing_is_sent_while_paused_and_the_admins_are_told_once(
    database, make_engine, sim, clock, switch
):
    first, second = make_engine(), make_engine()
    one_failed_one_pending(first, sim, clock)
    switch.pause = PAUSE
    before, requests = rows(database), len(sim.requests())

    results = [e.sync(requested_by="t", via="scheduler") for e in (first, second, first)]

    assert len(sim.requests()) == requests  # not one request while paused
    assert rows(database) == before  # no attempt, no retry event, no state changed
    for result in results:
        assert result.paused == PAUSE and result.held_back == 2 and result.outage is None
        assert result.initial.attempted == 0 and result.retries.retry_event_id is None
    assert pause_rows(database) == [{"until": SHOWN, "reason": REASON}]
    assert first.status().paused == PAUSE

    switch.pause = None  # the day is over: sending resumes, with no message about it
    result = second.sync(requested_by="t", via="scheduler")
    assert result.paused is None and result.held_back == 0
    assert len(result.initial.succeeded) == 1 and len(result.retries.succeeded) == 1
    assert len(pause_rows(database)) == 1 and first.status().paused is None


def test_a_new_pause_is_told_again(database, make_engine, switch):
    engine = make_engine()
    switch.pause = PAUSE
    engine.sync(requested_by="t", via="scheduler")
    switch.pause = LedgerPause(UNTIL + timedelta(days=1), "spent again")
    engine.sync(requested_by="t", via="scheduler")
    engine.sync(requested_by="t", via="scheduler")
    assert [p["reason"] for p in pause_rows(database)] == [REASON, "spent again"]


def test_a_pause_ending_is_no_pause(database, make_engine, switch, clock):
    engine = make_engine()
    switch.pause = LedgerPause(clock() - timedelta(seconds=1), "over already")
    assert engine.sync(requested_by="t", via="scheduler").paused is None
    assert engine.paused() is None and pause_rows(database) == []


def test_a_refusal_mid_run_stops_the_run_and_waits_out_the_pause(
    database, make_engine, sim, clock, switch
):
    engine = make_engine()
    engine.submit([posting(n) for n in range(1, 6)])
    switch.refuse_after = 2  # the budget is spent after two postings

    result = engine.sync(requested_by="t", via="scheduler")

    assert len(result.initial.succeeded) == 2 and result.paused == PAUSE
    [refused] = result.initial.failed  # the refusal ended its chunk; no chunk after it went
    assert (refused.error_class, refused.error) == (ErrorClass.TRANSIENT, REASON)
    assert refused.next_attempt_at is not None and refused.next_attempt_at >= UNTIL
    assert result.held_back == 2 and len(switch.refused) == 1
    with database.reading() as session:
        pending = session.scalar(
            select(func.count()).select_from(SyncLogEntry).where(SyncLogEntry.state == "pending")
        )
        attempts = session.scalar(select(func.count()).select_from(Attempt))
        streak = session.get(GatewayStatus, 1)
    assert (pending, attempts) == (2, 3)  # no attempt rows for the records not sent
    assert streak is not None and streak.transient_streak == 0 and streak.outage_since is None
    assert len(pause_rows(database)) == 1


def test_manual_retries_are_refused_with_the_reason_and_change_nothing(
    database, make_engine, sim, clock, switch
):
    engine = make_engine()
    one_failed_one_pending(engine, sim, clock)
    switch.pause = PAUSE
    before, requests = rows(database), len(sim.requests())
    with pytest.raises(LedgerPaused) as selected:
        engine.retry_selected(["RMB-2026-0001"], requested_by="t", via="cli")
    with pytest.raises(LedgerPaused) as everything:
        engine.retry_all(requested_by="t", via="cli")
    assert str(selected.value) == str(everything.value) == f"nothing was retried: {REASON}"
    assert rows(database) == before and len(sim.requests()) == requests


def test_the_command_line_says_why_and_status_shows_the_pause(
    database, make_engine, sim, clock, switch, monkeypatch, tmp_path, database_url
):
    engine = make_engine()
    one_failed_one_pending(engine, sim, clock)
    switch.pause = PAUSE
    engine.sync(requested_by="t", via="scheduler")  # notes the pause
    before, requests = rows(database), len(sim.requests())
    # `syncbot retry` builds its engine on the test's ledger (the port), all else as it is.
    monkeypatch.setattr(sync_engine.build, "build_engine", lambda *_a, **_k: make_engine())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"SYNCBOT_DATABASE_URL": database_url}

    for args in (["retry", "RMB-2026-0001"], ["retry", "--all"]):
        ran = runner.invoke(main, args, env=env)
        assert (ran.exit_code, ran.stdout) == (1, "")
        # (the progress bar, transient, may leave an empty line before it)
        assert ran.stderr.strip() == f"syncbot: nothing was retried: {REASON}"
    assert rows(database) == before and len(sim.requests()) == requests

    shown = runner.invoke(main, ["status"], env=env)
    assert shown.exit_code == 0
    assert f"sending PAUSED until {SHOWN}: {REASON}" in shown.stdout
    as_json = json.loads(runner.invoke(main, ["status", "--json"], env=env).stdout)
    assert as_json["paused"] == {"until": SHOWN, "reason": REASON}


def test_engines_syncing_at_once_tell_the_pause_once(database, make_engine, switch):
    engines = [make_engine() for _ in range(4)]
    switch.pause = PAUSE
    start = threading.Barrier(len(engines))

    def sync(engine: SyncEngine) -> LedgerPause | None:
        start.wait()
        return engine.sync(requested_by="t", via="scheduler").paused

    with ThreadPoolExecutor(len(engines)) as pool:
        seen = list(pool.map(sync, engines))
    assert seen == [PAUSE] * len(engines)
    assert len(pause_rows(database)) == 1


def test_a_manual_retry_that_spends_the_budget_tells_the_pause(
    database, make_engine, sim, clock, switch
):
    engine = make_engine()
    one_failed_one_pending(engine, sim, clock)
    switch.refuse_after = switch.posted  # the next posting finds the budget spent
    result = engine.retry_selected(["RMB-2026-0001"], requested_by="t", via="cli")
    [failed] = result.failed
    assert failed.error == REASON and failed.next_attempt_at is not None
    assert failed.next_attempt_at >= UNTIL
    assert len(pause_rows(database)) == 1
