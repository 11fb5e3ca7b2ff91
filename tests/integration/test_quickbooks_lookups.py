"""Look-ups shared in flight (the resolver's single-flight), against the QuickBooks double over
real HTTP: threads resolving the same vendor, account or preferences at once send one query;
different vendors still resolve in parallel; a failed look-up is shared, never remembered."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import pytest

from sync_engine.quickbooks.resolve import QueryFailed
from sync_engine.quickbooks_sim.faults import PlannedFault
from tests.integration.qbo_harness import Qbo, Recording, qbo, record

__all__ = ["qbo"]
T = TypeVar("T")
LATENCY = 0.4  # each answer is held this long, so that the threads' look-ups overlap


def together(calls: list[Callable[[], T]]) -> list[T | BaseException]:
    """Each call on its own thread, released at the same instant; results (or errors) in order."""
    start = threading.Barrier(len(calls))
    results: list[T | BaseException] = [RuntimeError("not run")] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - kept for the test to assert on
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def queries(transport: Recording) -> list[str]:
    """The query statements sent, in order."""
    return [r.url.params["query"] for r in transport.sent if r.url.path.endswith("/query")]


def test_threads_resolving_one_vendor_send_one_query(qbo: Qbo) -> None:
    qbo.sim.set_config(latency_seconds=LATENCY)
    transport = Recording()
    resolver = qbo.ledger(transport).resolver
    posting = record()

    found = together([lambda: resolver.vendor(posting)] * 8)

    assert found == [qbo.vendor.id] * 8
    assert qbo.sim.requests_by_route().get("GET query") == 1
    assert queries(transport) == ["select * from Vendor where AcctNum = 'VOL-88'"]
    assert resolver.vendor(posting) == qbo.vendor.id  # cached: no further query
    assert qbo.sim.requests_by_route().get("GET query") == 1


def test_threads_share_one_account_query_and_one_preferences_read(qbo: Qbo) -> None:
    qbo.sim.set_config(latency_seconds=LATENCY)
    resolver = qbo.ledger().resolver
    postings = [record(f"RMB-2026-{n:04d}") for n in range(6)]

    accounts = together([partial(resolver.account, p) for p in postings])
    currencies = together([resolver.currency] * 6)

    assert accounts == [qbo.account.id] * 6
    assert len({id(c) for c in currencies}) == 1  # one answer, shared
    routes = qbo.sim.requests_by_route()
    assert routes.get("GET query") == 1 and routes.get("GET preferences") == 1


def test_different_vendors_resolve_in_parallel(qbo: Qbo) -> None:
    payees = [(f"VOL-{n}", f"Volunteer {n}") for n in range(1, 5)]
    vendors = [qbo.sim.add_vendor(name, acct_num=pid) for pid, name in payees]
    qbo.sim.set_config(latency_seconds=LATENCY)
    resolver = qbo.ledger().resolver  # QBO_CONCURRENCY 4: four requests may be in flight
    postings = [record(payee_id=pid, payee_name=name) for pid, name in payees]

    found = together([partial(resolver.vendor, p) for p in postings])

    assert found == [v.id for v in vendors]
    arrivals = [r.at for r in qbo.sim.requests() if r.path.endswith("/query")]
    assert len(arrivals) == 4
    # All four arrived while the first was still being answered: none waited for another.
    assert max(arrivals) - min(arrivals) < LATENCY


def test_a_failed_lookup_is_shared_then_asked_again(qbo: Qbo) -> None:
    qbo.sim.set_config(latency_seconds=LATENCY)
    qbo.sim.faults.add(
        PlannedFault(
            kind="fault", routes=("query",), status=500, type="SystemFault", code="10000", count=1
        )
    )
    resolver = qbo.ledger().resolver
    posting = record()

    failed = together([lambda: resolver.vendor(posting)] * 6)

    assert all(isinstance(f, QueryFailed) and f.reply.status == 500 for f in failed)
    assert qbo.sim.requests_by_route().get("GET query") == 1  # the waiters got its answer
    assert resolver.cached_vendor(posting.payee_id) is None
    assert resolver.vendor(posting) == qbo.vendor.id  # not remembered: asked again, found
    assert qbo.sim.requests_by_route().get("GET query") == 2


@pytest.mark.parametrize("waiters", [1, 5])
def test_a_payee_without_vendor_is_not_cached(qbo: Qbo, waiters: int) -> None:
    qbo.sim.set_config(latency_seconds=LATENCY)
    resolver = qbo.ledger().resolver
    postings = [record(f"RMB-{n}", payee_id="VOL-404", payee_name="Nobody") for n in range(waiters)]

    missing = together([partial(resolver.vendor, p) for p in postings])

    # Each record gets the message; AcctNum then DisplayName, asked once for all of them.
    assert [str(m) for m in missing] == [
        "QuickBooks has no active vendor with account no. 'VOL-404' or named 'Nobody': create "
        "(or reactivate) the vendor, or enter VOL-404 as its account no., then retry."
    ] * waiters
    assert qbo.sim.requests_by_route().get("GET query") == 2
    qbo.sim.add_vendor("Nobody", acct_num="VOL-404")
    assert resolver.vendor(postings[0])  # created since: found at once, not a cached "none"
