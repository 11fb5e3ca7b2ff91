"""Retry All through the Xero double at the contract's limits: pacing, 429s, duplicates.

The double runs as `syncbot ledger-sim xero` in its own process with Xero's limits per
organisation (5 calls in flight, 60 a minute, 5,000 a day); the engine is connected through the
real connect path (`connect_with_refresh_token` against the double's identity endpoints) and
measured in a child process at the adapter's default limits (contract section 8):
XERO_CONCURRENCY 3, XERO_RATE_PER_MINUTE 50 (a sliding 60 s window, look-ups and batches
counted), XERO_BATCH_SIZE 30, XERO_DAILY_BUDGET 4500. The adapter's limiter is a sliding
window (`SlidingWindowLimiter`): up to 50 calls go at once, the 51st waits until the first has
left the window (60 s + 1%), so a run needing N calls (a look-up per payee, one for the account,
a write per 30 records) waits ceil(N/50) - 1 windows, plus its round trips (3 calls in flight at
200 ms each). The defaults below need about 21 calls: a few seconds. The measuring itself is
bench/ledger_retry_all.py's; this script says what is Xero's own.

python -m bench.retry_all_xero --records 300 --payees 10                # batches of 30
python -m bench.retry_all_xero --records 60 --payees 10 --batch-size 1  # 70 calls: ~62 s a db
python -m bench.retry_all_xero --records 900 --payees 40 --db sqlite    # 71 calls: ~62 s
"""

from __future__ import annotations

import math
from typing import Any

from bench.common import LedgerDouble
from bench.ledger_retry_all import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    LedgerBench,
    double_options,
    main,
)
from sync_engine.ratelimit import MARGIN, WINDOW_SECONDS

RATE_PER_MINUTE = 50  # the adapter's default (XERO_RATE_PER_MINUTE); Xero allows 60
CONCURRENCY = 3  # the adapter's default (XERO_CONCURRENCY); the double allows 5
ROUND_TRIP_S = 0.2  # the double's latency at the default --latency-ms 200 (the bound assumes it)


def xero_double(latency_ms: float, payees: int) -> LedgerDouble:
    """`syncbot ledger-sim xero` with an expense account and a contact per payee."""
    double = LedgerDouble("xero", double_options(latency_ms))
    with double.stopped_on_error():
        double.admin("accounts", {"code": ACCOUNT, "name": "Volunteer expenses"})
        for n in range(payees):  # the payees `fill` makes: VOL-n, "Volunteer n"
            double.admin("contacts", {"name": f"Volunteer {n}", "account_number": f"VOL-{n}"})
    return double


def settings_values(url: str, double: dict[str, str], batch_size: int) -> dict[str, Any]:
    """The engine's settings: the Xero ledger on the double, the adapter's default limits."""
    return {
        "database_url": url,
        "ledger": "xero",
        "xero_api_base_url": double["XERO_API_BASE_URL"],
        "xero_connections_url": double["XERO_CONNECTIONS_URL"],
        "xero_auth_url": double["XERO_AUTH_URL"],
        "xero_token_url": double["XERO_TOKEN_URL"],
        "xero_client_id": CLIENT_ID,
        "xero_client_secret": CLIENT_SECRET,
        "xero_tenant_id": double["XERO_TENANT_ID"],
        "xero_account_reimbursement": ACCOUNT,
        "xero_account_honorarium": ACCOUNT,
        "xero_batch_size": batch_size,
    }


def bound(records: int, routes: dict[str, int]) -> float:
    """Records/s the limits allow for the requests this run needed: at most RATE_PER_MINUTE
    calls in any window of 60 s + 1% (the limiter's), at most CONCURRENCY in flight, each a
    round trip of ROUND_TRIP_S. The calls past the last full window start no sooner than
    (ceil(N/50) - 1) windows in and need their own round trips after it."""
    requests = sum(routes.values())
    windows = max(math.ceil(requests / RATE_PER_MINUTE) - 1, 0)
    last = requests - windows * RATE_PER_MINUTE  # the calls in the last window
    seconds = max(
        windows * WINDOW_SECONDS * (1 + MARGIN) + math.ceil(last / CONCURRENCY) * ROUND_TRIP_S,
        math.ceil(requests / CONCURRENCY) * ROUND_TRIP_S,
    )
    return records / seconds


def figures(_double: LedgerDouble, stats: dict[str, Any]) -> dict[str, object]:
    """The bills the double holds, duplicates by InvoiceNumber, contacts it was made to add."""
    return {
        "bills": stats["bills"],
        "duplicates": sum(n - 1 for n in stats["duplicate_numbers"].values()),
        "contacts created": stats["contacts_created"],
    }


XERO = LedgerBench(
    ledger="xero",
    title="Xero",
    prefix="XERO",
    module="bench.retry_all_xero",
    double=xero_double,
    settings_values=settings_values,
    tenant=lambda _grant, values: str(values["xero_tenant_id"]),
    bound=bound,
    figures=figures,
    records=300,
    payees=10,
    payees_help="Distinct contacts.",
)


if __name__ == "__main__":
    main(XERO, __doc__)
