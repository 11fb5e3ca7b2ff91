"""Retry All through the QuickBooks Online double at the contract's limits: rate, 429s, duplicates.

The double runs as `syncbot ledger-sim quickbooks` in its own process (Intuit's limits: 500
requests a minute, 10 at once, 40 batch calls a minute); the engine is connected through the real
connect path (`connect_with_refresh_token` against the double's OAuth endpoints) and measured in
a child process at the adapter's default limits (QBO_CONCURRENCY 4, QBO_RATE_PER_SECOND 8,
QBO_RATE_PER_MINUTE 400, QBO_BATCH_SIZE 30, QBO_BATCH_PER_MINUTE 30).

python -m bench.retry_all_quickbooks --records 900 --payees 20                 # batches of 30
python -m bench.retry_all_quickbooks --records 200 --payees 20 --batch-size 1  # single posts
python -m bench.retry_all_quickbooks --records 900 --payees 500                # look-ups bind
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from cryptography.fernet import Fernet

from bench.common import (
    LedgerDouble,
    drop_database,
    fill,
    fresh_database,
    machine,
    measure_retry_all,
    routes_since,
    run_child,
    show_table,
)

CLIENT_ID, CLIENT_SECRET = "bench-client-id", "bench-client-secret"
ACCOUNT = "6100"
# The adapter's defaults (contract section 8) and the double's enforced limits (Intuit's).
RATE_PER_MINUTE, RATE_PER_SECOND, BATCH_PER_MINUTE = 400, 8, 30


def quickbooks_double(latency_ms: float, payees: int) -> LedgerDouble:
    """`syncbot ledger-sim quickbooks` with vendors and an expense account."""
    options = ["--latency-ms", str(latency_ms), "--client-id", CLIENT_ID]
    double = LedgerDouble("quickbooks", [*options, "--client-secret", CLIENT_SECRET])
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


def connect(values: dict[str, Any], double: LedgerDouble) -> str:
    """Store the connection as `syncbot connect quickbooks --refresh-token` does; the company."""
    from sync_engine.connecting import connect_with_refresh_token
    from sync_engine.settings import Settings

    grant = double.admin("oauth/grant", {})
    settings = Settings(**values)
    connected = connect_with_refresh_token(
        settings, "quickbooks", grant["refresh_token"], grant["realm_id"]
    )
    return str(connected.company_name)


def child(values_json: str) -> None:
    """The measured part, in its own process so its peak RSS is the engine's own."""
    from sync_engine.settings import Settings

    settings = Settings(**json.loads(values_json))  # SYNCBOT_SECRET_KEY from the environment
    measure_retry_all(settings)


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


def run(args: argparse.Namespace, db: str) -> dict[str, object]:
    """One measured Retry All on a fresh database, connected to a fresh double."""
    url = fresh_database(db)
    try:
        fill(url, args.records, payees=args.payees)
        with quickbooks_double(args.latency_ms, args.payees) as double:
            values = settings_values(url, double.settings, args.batch_size)
            connect(values, double)
            before = double.get("stats")["requests_by_route"]
            out = run_child("bench.retry_all_quickbooks", [json.dumps(values)])
            stats = double.get("stats")
            by_marker = double.get("bills")["by_marker"]
    finally:
        drop_database(url)
    routes = routes_since(stats["requests_by_route"], before)
    print(db, "requests by route:", json.dumps(routes), flush=True)
    rate = out["succeeded"] / out["wall"]
    limit = bound(out["succeeded"], routes)
    return {
        "db": db,
        "records": args.records,
        "batch": args.batch_size,
        "payees": args.payees,
        "requests": sum(routes.values()),
        "wall s": round(out["wall"], 1),
        "records/s": round(rate, 2),
        "bound/s": round(limit, 2),
        "ratio": f"{rate / limit:.0%}",
        "peak RSS MB": round(out["rss_mb"]),
        "429s": stats["rate_limited"],
        "Bills": sum(by_marker.values()),
        "duplicates": sum(n - 1 for n in by_marker.values() if n > 1),
        "failed": out["failed"],
    }


def main() -> None:
    """Parse the options, run on each database asked for, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=900)
    parser.add_argument("--payees", type=int, default=20, help="Distinct vendors (one query each).")
    parser.add_argument("--batch-size", type=int, default=30, help="QBO_BATCH_SIZE (1: singles).")
    parser.add_argument("--latency-ms", type=float, default=200, help="The double's, per answer.")
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    args = parser.parse_args()
    os.environ["SYNCBOT_SECRET_KEY"] = Fernet.generate_key().decode()  # this run's, thrown away
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [run(args, db) for db in dbs]
    show_table(f"Retry All through QuickBooks Online ({machine()})", rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
