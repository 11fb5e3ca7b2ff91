"""Xero's daily limit end to end (issue 13, "Deliver 1"): the engine, the real Xero adapter
(`make_ledger`, ACCOUNTING_LEDGER=xero) and the Xero double over real HTTP, on SQLite and
PostgreSQL.

`XERO_DAILY_BUDGET` spent mid-run stops the run (the double receives no call past the budget,
counted per route), the records not sent stay pending or wait for the next UTC day, the admins
are told once (one `ledger_paused` outbox row, posted once to the Slack stand-in), a second
sync sends nothing and a manual retry (engine or `syncbot retry`) is refused with the reason.
Xero's own daily 429 pauses until its Retry-After. Past the day, every record is booked once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import sync_engine.build
from bot.cli import main
from bot.slack.app import build_bot
from storage.models import AlertOutbox, Attempt, Record, RetryEvent, SyncLogEntry
from sync_engine.contract import format_time
from sync_engine.engine import SyncEngine
from sync_engine.errors import LedgerPaused
from sync_engine.xero.messages import day_limit_message
from tests.conftest import posting
from tests.integration.ledger_rigs import XeroRig, xero, xero_rig
from tests.integration.xero_engine_support import AfterWrites, engine_over
from tests.scenario.conftest import ALERTS, slack, slack_settings

__all__ = ["slack", "slack_settings", "xero", "xero_rig"]  # fixtures

MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)  # the test clock starts at 2026-11-23 09:00
BUDGET = 6  # three bills for VOL-1 take five calls; the fourth record's payee (VOL-2) one more
RECORDS = 6
IDS = [f"RMB-2026-{n:04d}" for n in range(1, RECORDS + 1)]
ONE_BY_ONE = {"xero_batch_size": 1, "xero_concurrency": 1}  # a call order the test can count


@pytest.fixture
def rig(xero_rig: XeroRig) -> Iterator[XeroRig]:
    """The Xero rig; the double never books a number twice, whatever the test did."""
    yield xero_rig
    assert xero_rig.sim.stats()["duplicate_numbers"] == {}


def api_calls(rig: XeroRig) -> dict[str, int]:
    """The double's Accounting API calls by route (token and connections calls aside)."""
    resources = ("Invoices", "Contacts", "Accounts", "Organisation")
    return {
        route: n
        for route, n in rig.sim.requests_by_route().items()
        if route.split(" ", 1)[-1].split("/")[0] in resources
    }


def rows(rig: XeroRig) -> tuple[Any, ...]:
    """Every record's state, schedule and error, and how many attempts and retry events."""
    with rig.database.reading() as session:
        states = session.execute(
            select(
                Record.source_id,
                SyncLogEntry.state,
                SyncLogEntry.next_attempt_at,
                SyncLogEntry.last_error,
            )
            .join(SyncLogEntry, SyncLogEntry.record_id == Record.id)
            .order_by(Record.source_id)
        ).all()
        attempts = session.scalar(select(func.count()).select_from(Attempt))
        events = session.scalar(select(func.count()).select_from(RetryEvent))
    return tuple(tuple(s) for s in states), attempts, events


def pause_alerts(rig: XeroRig) -> list[dict[str, Any]]:
    """The payloads of the `ledger_paused` outbox rows."""
    with rig.database.reading() as session:
        found = session.scalars(
            select(AlertOutbox.payload).where(AlertOutbox.kind == "ledger_paused")
        ).all()
    return [json.loads(p) for p in found]


def next_attempt(row: tuple[Any, ...]) -> datetime:
    """A `rows` entry's next attempt, aware (SQLite gives it back naive, in UTC)."""
    value = row[2]
    assert isinstance(value, datetime), row
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def spent_budget(rig: XeroRig) -> SyncEngine:
    """Six records submitted and synced with XERO_DAILY_BUDGET=6: the budget runs out between
    the fourth record's contact look-up and its bill; the two after it are never claimed."""
    engine = rig.engine(xero_daily_budget=BUDGET, **ONE_BY_ONE)
    payees = ["VOL-1", "VOL-1", "VOL-1", "VOL-2", "VOL-2", "VOL-3"]
    engine.submit([posting(n, payee_id=payees[n - 1]) for n in range(1, RECORDS + 1)])
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert len(result.initial.succeeded) == 3 and len(result.initial.failed) == 1
    assert result.paused is not None and result.paused.until == MIDNIGHT
    return engine


def later(rig: XeroRig, hours: float) -> None:
    """Move the engine's clock and the double's `hours` on (the double's day is rolling)."""
    rig.clock.advance(hours=hours)
    rig.sim.advance(hours * 3600)


def next_day(rig: XeroRig, hours: float) -> None:
    """Move the engine's clock `hours` on, and the double's past the end of its day window."""
    rig.clock.advance(hours=hours)
    rig.sim.advance(86_400)


def test_a_spent_budget_stops_the_run_tells_once_and_resumes_the_next_utc_day(
    rig: XeroRig,
) -> None:
    engine = spent_budget(rig)
    reason = day_limit_message(MIDNIGHT)
    assert "Xero's daily API limit" in reason and "00:00 UTC" in reason

    # Not one call past the budget, by the double's own count per route.
    assert api_calls(rig) == {"GET Accounts": 1, "GET Contacts": 2, "PUT Invoices": 3}
    assert sum(api_calls(rig).values()) == BUDGET
    assert sorted(rig.booked()) == IDS[:3]
    states, attempts, _ = rows(rig)
    sent = {s[0]: s for s in states}
    refused = sent[IDS[3]]  # its bill was never sent: it waits for the next UTC day
    assert (refused[1], refused[3]) == ("failed", reason) and next_attempt(refused) >= MIDNIGHT
    untouched = [sent[i] for i in IDS[4:]]  # never claimed: no attempt, no schedule
    assert all(s[1:] == ("pending", None, None) for s in untouched)
    assert {sent[i][1] for i in IDS[:3]} == {"succeeded"} and attempts == 4
    assert pause_alerts(rig) == [{"until": format_time(MIDNIGHT), "reason": reason}]

    # A second sync (and a second process) sends nothing and tells no one again.
    before, calls = rows(rig), rig.sim.requests_by_route()
    again = rig.engine(xero_daily_budget=BUDGET, **ONE_BY_ONE).sync(
        requested_by="scheduler", via="scheduler"
    )
    assert again.paused is not None and again.paused.until == MIDNIGHT and again.held_back == 2
    assert again.outage is None
    assert again.initial.attempted == 0 and again.retries.retry_event_id is None
    assert rows(rig) == before and rig.sim.requests_by_route() == calls
    assert len(pause_alerts(rig)) == 1

    # A manual retry is refused with the reason, and changes nothing.
    with pytest.raises(LedgerPaused) as selected:
        engine.retry_selected([refused[0]], requested_by="U1", via="slack")
    with pytest.raises(LedgerPaused) as everything:
        engine.retry_all(requested_by="U1", via="slack")
    assert str(selected.value) == str(everything.value) == f"nothing was retried: {reason}"
    assert rows(rig) == before and rig.sim.requests_by_route() == calls

    # Just before midnight the pause holds; past it (the double's day too) everything goes once.
    rig.clock.advance(hours=14, minutes=59)
    assert engine.sync(requested_by="scheduler", via="scheduler").paused is not None
    assert rig.sim.requests_by_route() == calls
    next_day(rig, hours=2)
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert result.paused is None
    assert len(result.initial.succeeded) == 2 and len(result.retries.succeeded) == 1
    assert sum(api_calls(rig).values()) == BUDGET + 4  # the bills, VOL-3's look-up
    assert rig.booked() == {source_id: 1 for source_id in IDS}
    assert {s[1] for s in rows(rig)[0]} == {"succeeded"} and len(pause_alerts(rig)) == 1


def test_a_budget_spent_inside_a_batch_sends_no_bill_and_the_batch_waits_for_the_day(
    rig: XeroRig,
) -> None:
    engine = rig.engine(xero_daily_budget=5, xero_concurrency=1)  # batches of up to 30
    engine.submit([posting(n, payee_id=f"VOL-{n}") for n in range(1, RECORDS + 1)])
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert result.paused is not None and result.paused.until == MIDNIGHT
    assert result.outage is None and len(result.initial.failed) == RECORDS
    # Four contacts and the account spent the budget: the fifth look-up and the PUT never left.
    assert api_calls(rig) == {"GET Accounts": 1, "GET Contacts": 4}
    assert rig.sim.bills() == []
    states, attempts, _ = rows(rig)
    reason = day_limit_message(MIDNIGHT)
    assert all(s[1] == "failed" and s[3] == reason for s in states) and attempts == RECORDS
    assert min(next_attempt(s) for s in states) >= MIDNIGHT
    assert len(pause_alerts(rig)) == 1

    next_day(rig, hours=15)
    result = engine.sync(requested_by="scheduler", via="scheduler")
    assert result.paused is None and len(result.retries.succeeded) == RECORDS
    assert rig.booked() == {source_id: 1 for source_id in IDS}
    assert api_calls(rig) == {"GET Accounts": 1, "GET Contacts": 6, "PUT Invoices": 1}


def test_a_manual_retry_that_spends_the_budget_sends_nothing_past_it(rig: XeroRig) -> None:
    engine = rig.engine(xero_daily_budget=4, **ONE_BY_ONE)
    engine.submit([posting(n) for n in range(1, 5)])
    result = engine.retry_selected(IDS[:4], requested_by="U1", via="slack")
    # The contact, the account and two bills spent the budget; the other two never left.
    assert api_calls(rig) == {"GET Accounts": 1, "GET Contacts": 1, "PUT Invoices": 2}
    assert len(result.succeeded) == 2 and len(result.failed) == 2
    reason = day_limit_message(MIDNIGHT)
    assert {f.error for f in result.failed} == {reason}
    assert all(
        f.next_attempt_at is not None and f.next_attempt_at >= MIDNIGHT for f in result.failed
    )
    assert pause_alerts(rig) == [{"until": format_time(MIDNIGHT), "reason": reason}]

    next_day(rig, hours=16)
    assert len(engine.sync(requested_by="scheduler", via="scheduler").retries.succeeded) == 2
    assert rig.booked() == {source_id: 1 for source_id in IDS[:4]}


def test_the_command_line_refuses_a_retry_while_the_budget_is_spent(
    rig: XeroRig, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    spent_budget(rig)
    before, calls = rows(rig), rig.sim.requests_by_route()
    [refused] = [s[0] for s in before[0] if s[1] == "failed"]
    # `syncbot retry` builds its engine on the rig (the test's clock), all else as it is.
    monkeypatch.setattr(
        sync_engine.build,
        "build_engine",
        lambda *_a, **_k: rig.engine(xero_daily_budget=BUDGET, **ONE_BY_ONE),
    )
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {"SYNCBOT_DATABASE_URL": rig.xero.database_url}
    reason = day_limit_message(MIDNIGHT)
    for args in (["retry", refused], ["retry", IDS[-1]], ["retry", "--all"]):
        ran = runner.invoke(main, args, env=env)
        assert (ran.exit_code, ran.stdout) == (1, ""), ran.output
        assert ran.stderr.strip() == f"syncbot: nothing was retried: {reason}"
    assert rows(rig) == before and rig.sim.requests_by_route() == calls


def test_the_pause_alert_is_posted_to_slack_once(rig: XeroRig, slack: Any, slack_settings: Any):
    engine = spent_budget(rig)
    engine.sync(requested_by="scheduler", via="scheduler")
    bot = build_bot(slack_settings, engine)
    poster = bot.alert_poster
    try:
        assert poster is not None
        assert poster.flush() == 1  # the pause alone: it replaces the refused record's alert
        assert poster.flush() == 0
    finally:
        bot.close()
    posted = [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ALERTS]
    [told] = posted  # no failure alert for a record that only waits for the next day
    assert "Sending to the ledger is paused" in str(told.params["blocks"])
    shown = str(told.params["blocks"])
    assert "Xero's daily API limit" in shown and "00:00 UTC" in shown
    assert "Manual retries are refused until then" in shown


def spend_the_doubles_day(rig: XeroRig) -> None:
    """Another app on the same organisation uses up what is left of the double's day."""
    headers = {
        "Authorization": f"Bearer {rig.sim.grant().access_token}",
        "xero-tenant-id": rig.xero.tenant_id,
    }
    with httpx.Client(base_url=rig.sim.url, timeout=5) as other:
        while other.get("/api.xro/2.0/Organisation", headers=headers).status_code == 200:
            pass


def test_xeros_daily_429_pauses_until_its_retry_after(rig: XeroRig) -> None:
    rig.sim.set_config(daily_limit=40)
    engine = engine_over(rig, AfterWrites(2, lambda: spend_the_doubles_day(rig)), **ONE_BY_ONE)
    try:
        engine.submit([posting(n) for n in range(1, RECORDS + 1)])
        started = rig.clock()
        result = engine.sync(requested_by="scheduler", via="scheduler")
        pause = result.paused
        assert pause is not None and len(result.initial.succeeded) == 2
        # Xero's Retry-After (its rolling day, nearly 24 h), not our midnight.
        assert timedelta(hours=23) < pause.until - started <= timedelta(hours=24)
        assert pause.reason == day_limit_message(pause.until)
        limited = rig.sim.stats()["rate_limited"]
        assert limited == 2  # the other app's last call, then our one refused call
        [refused] = [
            s for s in rows(rig)[0] if s[1] == "failed" and s[3] is not None and "daily" in s[3]
        ]
        assert next_attempt(refused) >= pause.until
        assert [s[1] for s in rows(rig)[0]].count("pending") == 3
        assert pause_alerts(rig) == [{"until": format_time(pause.until), "reason": pause.reason}]

        # Past midnight the pause still holds (Xero said when); nothing is sent.
        calls = rig.sim.requests_by_route()
        later(rig, hours=16)
        assert engine.sync(requested_by="scheduler", via="scheduler").paused == pause
        with pytest.raises(LedgerPaused):
            engine.retry_all(requested_by="U1", via="cli")
        assert rig.sim.requests_by_route() == calls and len(pause_alerts(rig)) == 1

        next_day(rig, hours=9)  # past the Retry-After, and the double's day
        result = engine.sync(requested_by="scheduler", via="scheduler")
        assert result.paused is None
        assert rig.booked() == {source_id: 1 for source_id in IDS}
        assert {s[1] for s in rows(rig)[0]} == {"succeeded"}
        assert rig.sim.stats()["rate_limited"] == limited
    finally:
        engine.close()
