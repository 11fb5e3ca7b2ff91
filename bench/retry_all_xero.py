"""Retry All through the Xero double at the contract's limits: pacing, 429s, duplicates.

The double runs as `syncbot ledger-sim xero` in its own process with Xero's limits per
organisation (5 calls in flight, 60 a minute, 5,000 a day); the engine is connected through the
real connect path (`connect_with_refresh_token` against the double's identity endpoints) and
measured in a child process at the adapter's default limits (contract section 8):
XERO_CONCURRENCY 3, XERO_RATE_PER_MINUTE 50 (a sliding 60 s window, look-ups and batches
counted), XERO_BATCH_SIZE 30, XERO_DAILY_BUDGET 4500. The adapter spaces its calls evenly,
1.2 s apart at 50 a minute, so the calls, not the database, set the pace: a run needing N
calls (a look-up per payee, one for the account, a write per 30 records) takes about 1.2 N s.
Keep runs short (the defaults below need about 21 calls, some 25 s).

python -m bench.retry_all_xero --records 300 --payees 10                # batches of 30
python -m bench.retry_all_xero --records 60 --payees 10 --batch-size 1  # singles: ~85 s a db
python -m bench.retry_all_xero --records 900 --payees 40 --db sqlite    # 71 calls: ~85 s
"""

from __future__ import annotations

import argparse
import json
import os
import sys
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
RATE_PER_MINUTE = 50  # the adapter's default (XERO_RATE_PER_MINUTE); Xero allows 60


def xero_double(latency_ms: float, payees: int) -> LedgerDouble:
    """`syncbot ledger-sim xero` with an expense account and a contact per payee."""
    options = ["--latency-ms", str(latency_ms), "--client-id", CLIENT_ID]
    double = LedgerDouble("xero", [*options, "--client-secret", CLIENT_SECRET])
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


def connect(values: dict[str, Any], double: LedgerDouble) -> str:
    """Store the connection as `syncbot connect xero --refresh-token` does; the organisation."""
    from sync_engine.connecting import connect_with_refresh_token
    from sync_engine.settings import Settings

    grant = double.admin("oauth/grant", {})
    settings = Settings(**values)
    connected = connect_with_refresh_token(
        settings, "xero", grant["refresh_token"], values["xero_tenant_id"]
    )
    return str(connected.company_name)


def child(values_json: str) -> None:
    """The measured part, in its own process so its peak RSS is the engine's own."""
    from sync_engine.settings import Settings

    settings = Settings(**json.loads(values_json))  # SYNCBOT_SECRET_KEY from the environment
    measure_retry_all(settings)


def bound(records: int, routes: dict[str, int]) -> float:
    """Records/s the limits allow for the requests this run needed: the adapter spaces every
    call (look-ups, writes) evenly at XERO_RATE_PER_MINUTE, 1.2 s apart at 50 a minute."""
    requests = sum(routes.values())
    return records / (requests * 60 / RATE_PER_MINUTE)


def run(args: argparse.Namespace, db: str) -> dict[str, object]:
    """One measured Retry All on a fresh database, connected to a fresh double."""
    url = fresh_database(db)
    try:
        fill(url, args.records, payees=args.payees)
        with xero_double(args.latency_ms, args.payees) as double:
            values = settings_values(url, double.settings, args.batch_size)
            connect(values, double)
            before = double.get("stats")["requests_by_route"]
            out = run_child("bench.retry_all_xero", [json.dumps(values)])
            stats = double.get("stats")
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
        "bills": stats["bills"],
        "duplicates": sum(n - 1 for n in stats["duplicate_numbers"].values()),
        "contacts created": stats["contacts_created"],
        "failed": out["failed"],
    }


def main() -> None:
    """Parse the options, run on each database asked for, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--payees", type=int, default=10, help="Distinct contacts.")
    parser.add_argument("--batch-size", type=int, default=30, help="XERO_BATCH_SIZE (1: singles).")
    parser.add_argument("--latency-ms", type=float, default=200, help="The double's, per answer.")
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    args = parser.parse_args()
    os.environ["SYNCBOT_SECRET_KEY"] = Fernet.generate_key().decode()  # this run's, thrown away
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [run(args, db) for db in dbs]
    show_table(f"Retry All through Xero ({machine()})", rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
