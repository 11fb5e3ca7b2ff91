"""The adapter stays under QuickBooks' per-realm limits: a burst draws no 429.

The double's one-minute window is run 20 times faster than the wall clock (its minute passes in
3 s), so a burst larger than its per-minute limit fits in a few seconds of test: paced at the
adapter's 400/min (20 requests per 3 s) under the double's 25 per (fast) minute, nothing is
refused; the same burst unpaced is.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from storage.vocabulary import Outcome
from sync_engine.errors import GatewayUnreachable
from sync_engine.gateway_sim.config import SimConfig
from sync_engine.gateway_sim.limits import Limiter
from tests.integration.qbo_harness import Qbo, qbo, record

__all__ = ["qbo"]
SPEED = 20.0


def fast_minute(qbo: Qbo, per_minute: int) -> None:
    """The double's limits for its realm, on a clock running `SPEED` times faster."""
    start = time.monotonic()

    def clock() -> float:
        return start + (time.monotonic() - start) * SPEED

    general = Limiter(SimConfig(rate_per_minute=per_minute, concurrency=10), clock)
    batches = Limiter(SimConfig(rate_per_minute=40), clock)
    # The double keeps its limiters per realm; a test seam it offers no setter for.
    qbo.sim._limits[qbo.sim.realm_id] = (general, batches)


def test_a_burst_past_the_per_minute_limit_is_paced_and_never_refused(qbo: Qbo) -> None:
    fast_minute(qbo, per_minute=25)
    ledger = qbo.ledger(qbo_rate_per_second=8, qbo_rate_per_minute=400, qbo_concurrency=4)
    # 50 posts: with the look-ups shared in flight, 53 requests, past two of its minutes.
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 51)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda item: ledger.post(*item), items))
    assert all(r.outcome == Outcome.SUCCEEDED for r in results), results
    stats = qbo.sim.stats()
    assert stats["rate_limited"] == 0 and stats["bills"] == 50
    assert sum(stats["requests_by_route"].values()) > 25 * 2  # more than two of its minutes


def test_the_same_burst_unpaced_is_refused(qbo: Qbo) -> None:
    fast_minute(qbo, per_minute=25)
    unpaced = qbo.ledger(qbo_rate_per_second=100000, qbo_rate_per_minute=6000000)
    refused = 0
    for _ in range(40):
        try:
            unpaced.probe()
        except GatewayUnreachable:
            refused += 1
            break  # a 429 holds this client back for Retry-After: once is proof enough
    assert refused == 1 and qbo.sim.stats()["rate_limited"] == 1
