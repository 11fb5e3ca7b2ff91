"""The Xero tenant's daily call budget, kept in the database (issue 13, "Deliver 1"): every call
spends from it, a spent budget or Xero's daily 429 pauses the tenant, nothing is sent while
paused, and every adapter on the database shares it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.xero.budget import DailyBudget
from sync_engine.xero.messages import day_limit_message
from tests.integration.xero_harness import XeroRig, record, xero

__all__ = ["xero"]

MIDNIGHT = datetime(2026, 11, 24, tzinfo=UTC)  # after the test clock's 2026-11-23 09:00


def test_a_spent_budget_pauses_every_adapter_on_the_database(xero: XeroRig) -> None:
    first = xero.ledger(xero_daily_budget=3)
    assert first.paused() is None
    assert first.post("k1", record("RMB-1")).outcome == Outcome.SUCCEEDED  # contact, account, PUT
    pause = first.paused()
    assert pause is not None and pause.until == MIDNIGHT
    assert pause.reason == day_limit_message(MIDNIGHT)
    answered = len(xero.sim.requests())
    second = xero.ledger(xero_daily_budget=3)  # another process: the same database
    assert second.paused() == pause
    for ledger in (first, second):
        [refused] = ledger.post_batch([("k2", record("RMB-2"))])
        assert refused.outcome == Outcome.FAILED and refused.error_class == ErrorClass.TRANSIENT
        assert refused.http_status == 429 and refused.error == pause.reason
        assert refused.retry_after == (MIDNIGHT - xero.clock.now).total_seconds()
    assert len(xero.sim.requests()) == answered  # nothing was sent
    xero.clock.advance(hours=15)  # the next UTC day
    assert first.paused() is None
    assert second.post("k2", record("RMB-2")).outcome == Outcome.SUCCEEDED
    assert xero.sim.number_counts() == {"RMB-1": 1, "RMB-2": 1}


def test_concurrent_spenders_never_exceed_the_budget(xero: XeroRig) -> None:
    budgets = [
        DailyBudget(xero.database, "xero:shared", 25, lambda: xero.clock.now) for _ in range(2)
    ]
    spent: list[bool] = []
    lock = threading.Lock()

    def spend(budget: DailyBudget) -> None:
        for _ in range(10):
            ok = budget.spend() is None
            with lock:
                spent.append(ok)

    threads = [threading.Thread(target=spend, args=(budgets[i % 2],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert spent.count(True) == 25 and len(spent) == 60
    assert budgets[1].paused() is not None


def test_xeros_daily_429_pauses_the_tenant_until_retry_after(xero: XeroRig) -> None:
    xero.sim.set_config(daily_limit=3)
    other = httpx.Client(base_url=xero.sim.url, timeout=5)  # another app spends the day
    headers = {
        "Authorization": f"Bearer {xero.sim.grant().access_token}",
        "xero-tenant-id": xero.tenant_id,
    }
    for _ in range(3):
        assert other.get("/api.xro/2.0/Organisation", headers=headers).status_code == 200
    other.close()
    ledger = xero.ledger()
    refused = ledger.post("k1", record("RMB-1"))
    pause = ledger.paused()
    assert pause is not None
    assert timedelta(hours=23) < pause.until - xero.clock.now <= timedelta(hours=24)
    assert pause.reason == day_limit_message(pause.until)
    assert refused.outcome == Outcome.FAILED and refused.http_status == 429
    assert refused.error == f"{pause.reason} [Xero HTTP 429; Rate limit exceeded]"  # Xero's words
    assert refused.error_class == ErrorClass.TRANSIENT
    answered = len(xero.sim.requests())
    again = xero.ledger().post("k1", record("RMB-1"))  # a second adapter: paused too
    assert again.http_status == 429 and len(xero.sim.requests()) == answered
    assert xero.sim.bills() == []
