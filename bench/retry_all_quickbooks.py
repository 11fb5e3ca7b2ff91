"""Retry All through the QuickBooks Online double at the contract's limits: rate, 429s, duplicates.

The double runs as `syncbot ledger-sim quickbooks` in its own process (Intuit's limits: 500
requests a minute, 10 at once, 40 batch calls a minute); the engine is connected through the real
connect path (`connect_with_refresh_token` against the double's OAuth endpoints) and measured in
a child process at the adapter's default limits (QBO_CONCURRENCY 4, QBO_RATE_PER_SECOND 8,
QBO_RATE_PER_MINUTE 400, QBO_BATCH_SIZE 30, QBO_BATCH_PER_MINUTE 30). The measuring itself is
bench/ledger_retry_all.py's; this script says what is QuickBooks' own.

python -m bench.retry_all_quickbooks --records 900 --payees 20                 # batches of 30
python -m bench.retry_all_quickbooks --records 200 --payees 20 --batch-size 1  # single posts
python -m bench.retry_all_quickbooks --records 900 --payees 500                # look-ups bind
"""

from __future__ import annotations

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

# The adapter's defaults (contract section 8) and the double's enforced limits (Intuit's).
RATE_PER_MINUTE, RATE_PER_SECOND, BATCH_PER_MINUTE = 400, 8, 30


def quickbooks_double(latency_ms: float, payees: int) -> LedgerDouble:
    """`syncbot ledger-sim quickbooks` with vendors and an expense account."""
    double = LedgerDouble("quickbooks", double_options(latency_ms))
    with double.stopped_on_error():
        double.admin("accounts", {"name": "Volunteer expenses", "acct_num": ACCOUNT})
        for n in range(payees):  # the payees `fill` makes: VOL-n, "Volunteer n"
            double.admin("vendors", {"display_name": f"Volunteer {n}", "acct_num": f"VOL-{n}"})
    return double


def settings_values(url: str, double: dict[str, str], batch_size: int) -> dict[str, Any]:
    """The engine's settings: the QuickBooks ledger on the double, the adapter's default limits."""
    return {
        "database_url": url,
        "ledger": "quickbooks",
        "qbo_api_base_url": double["QBO_API_BASE_URL"],
        "qbo_token_url": double["QBO_TOKEN_URL"],
        "qbo_auth_url": double["QBO_AUTH_URL"],
        "qbo_revoke_url": double["QBO_REVOKE_URL"],
        "qbo_client_id": CLIENT_ID,
        "qbo_client_secret": CLIENT_SECRET,
        "qbo_realm_id": double["QBO_REALM_ID"],
        "qbo_account_reimbursement": ACCOUNT,
        "qbo_account_honorarium": ACCOUNT,
        "qbo_batch_size": batch_size,
    }


def bound(records: int, routes: dict[str, int]) -> float:
    """Records/s the limits allow for the requests this run needed (writes, queries, batches).

    Every request counts against QBO_RATE_PER_MINUTE (min with 60 x QBO_RATE_PER_SECOND); batch
    calls also against QBO_BATCH_PER_MINUTE. The tighter of the two sets the shortest time.
    """
    requests = sum(routes.values())
    batches = sum(n for route, n in routes.items() if "batch" in route)
    per_minute = min(RATE_PER_MINUTE, 60 * RATE_PER_SECOND)
    minutes = max(requests / per_minute, batches / BATCH_PER_MINUTE)
    return records / (minutes * 60)


def figures(double: LedgerDouble, stats: dict[str, Any]) -> dict[str, object]:
    """The Bills the double holds and how many records have more than one."""
    by_marker = double.get("bills")["by_marker"]
    return {
        "Bills": sum(by_marker.values()),
        "duplicates": sum(n - 1 for n in by_marker.values() if n > 1),
    }


QUICKBOOKS = LedgerBench(
    ledger="quickbooks",
    title="QuickBooks Online",
    prefix="QBO",
    module="bench.retry_all_quickbooks",
    double=quickbooks_double,
    settings_values=settings_values,
    tenant=lambda grant, _values: str(grant["realm_id"]),
    bound=bound,
    figures=figures,
    records=900,
    payees=20,
    payees_help="Distinct vendors (one query each).",
)


if __name__ == "__main__":
    main(QUICKBOOKS, __doc__)
