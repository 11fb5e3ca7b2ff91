"""Many records at the Xero double's real limits (5 calls in flight, 60 a minute per tenant, on
the double's own clock): the adapter's pacing and in-flight cap keep it at zero 429s."""

from __future__ import annotations

import threading
from decimal import Decimal

from storage.vocabulary import Outcome
from sync_engine.post_result import PostResult
from sync_engine.xero_sim import XeroConfig
from tests.integration.xero_harness import XeroRig, record, xero

__all__ = ["xero"]


def test_many_records_from_many_threads_meet_no_429(xero: XeroRig) -> None:
    limits = XeroConfig()
    assert (limits.concurrency, limits.rate_per_minute) == (5, 60)
    xero.sim.set_config(latency_seconds=0.02)
    # The adapter's default pace (50 a minute, the contract's margin under Xero's 60): here
    # time jumps when a thread sleeps, so a call may reach the double seconds of its clock
    # after the adapter counted it, as a slow network would make it in real life.
    ledger = xero.ledger(xero_concurrency=5, xero_rate_per_minute=50)
    work = [(f"k{i}", record(f"RMB-{i:03d}", amount=Decimal(f"{i}.10"))) for i in range(70)]
    results: list[PostResult] = []
    lock = threading.Lock()

    def sender(mine: list[tuple[str, object]]) -> None:
        for key, posting in mine:
            ledger.reserve()  # as the engine's sending threads do before claiming
            result = ledger.post(key, posting)  # type: ignore[arg-type]
            with lock:
                results.append(result)

    threads = [threading.Thread(target=sender, args=(work[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = xero.sim.stats()
    assert stats["rate_limited"] == 0
    assert all(r.outcome == Outcome.SUCCEEDED for r in results) and len(results) == 70
    assert stats["bills"] == 70 and stats["duplicate_numbers"] == {}
    calls = sum(n for route, n in stats["requests_by_route"].items() if "connections" not in route)
    assert calls == 72  # 70 writes, one contact and one account look-up
    assert xero.time.slept >= 60.0  # 72 calls at 50 a minute: paced on the double's clock


def test_batches_count_in_the_minute_limit_too(xero: XeroRig) -> None:
    ledger = xero.ledger(xero_batch_size=10)
    work = [(f"b{i}", record(f"RMB-B{i:03d}")) for i in range(100)]
    results = ledger.post_batch(work)
    assert all(r.outcome == Outcome.SUCCEEDED for r in results)
    stats = xero.sim.stats()
    assert stats["requests_by_route"]["PUT Invoices"] == 10
    assert stats["rate_limited"] == 0 and stats["bills"] == 100


def test_a_minute_429_books_nothing_and_the_same_key_goes_again(xero: XeroRig) -> None:
    ledger = xero.ledger()
    assert ledger.post("m1", record("RMB-M1")).outcome == Outcome.SUCCEEDED  # 3 calls
    xero.sim.set_config(rate_per_minute=1)  # a fresh window: the next PUT passes, then 429s
    assert ledger.post("m2", record("RMB-M2")).outcome == Outcome.SUCCEEDED
    throttled = ledger.post("m3", record("RMB-M3"))
    if throttled.outcome == Outcome.FAILED:  # Retry-After too long to wait inside the call
        assert throttled.http_status == 429 and throttled.error_class == "transient"
        assert throttled.retry_after is not None and throttled.retry_after > 5
        assert "RMB-M3" not in xero.sim.bills_by_number()
        xero.time.sleep(throttled.retry_after)
        throttled = ledger.post("m3", record("RMB-M3"))
    assert throttled.outcome == Outcome.SUCCEEDED
    puts = [r for r in xero.puts() if r.source_ids == ["RMB-M3"]]
    assert len(puts) == 2 and len({r.idempotency_keys[0] for r in puts}) == 1  # same key
    assert xero.sim.number_counts()["RMB-M3"] == 1
