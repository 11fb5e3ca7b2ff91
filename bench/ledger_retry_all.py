"""The measured Retry All every ledger double's benchmark runs (bench/retry_all_quickbooks.py,
bench/retry_all_xero.py): a fresh database filled with failed records, the ledger's double in
its own process (`syncbot ledger-sim NAME`), the engine connected through the real headless path
(`connect_with_refresh_token` against the double's OAuth endpoints) and measured in a child
process, then one table row per database.

A ledger's script is a `LedgerBench`: how to start and fill its double, the engine's settings on
it, the bound its limits set, and the figures its double reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class LedgerBench:
    """One ledger's benchmark: what differs from another ledger's."""

    ledger: str  # the settings' `ledger` and the double's name: "quickbooks"
    title: str  # for the table: "QuickBooks Online"
    prefix: str  # its settings' environment prefix: "QBO"
    module: str  # the script, run again as the child: "bench.retry_all_quickbooks"
    double: Callable[[float, int], LedgerDouble]  # (latency_ms, payees) -> the filled double
    settings_values: Callable[[str, dict[str, str], int], dict[str, Any]]  # url, printed, batch
    tenant: Callable[[dict[str, Any], dict[str, Any]], str]  # (grant, values) -> realm/tenant
    bound: Callable[[int, dict[str, int]], float]  # records/s the limits allow for these routes
    figures: Callable[[LedgerDouble, dict[str, Any]], dict[str, object]]  # (double, stats)
    records: int  # the default --records
    payees: int  # the default --payees
    payees_help: str


def double_options(latency_ms: float) -> list[str]:
    """`syncbot ledger-sim` options every double takes: latency and the bench's client."""
    return [
        "--latency-ms",
        str(latency_ms),
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
    ]


def connect(bench: LedgerBench, values: dict[str, Any], double: LedgerDouble) -> str:
    """Store the connection as `syncbot connect NAME --refresh-token` does; the company."""
    from sync_engine.connecting import connect_with_refresh_token
    from sync_engine.settings import Settings

    grant = double.admin("oauth/grant", {})
    settings = Settings(**values)
    tenant = bench.tenant(grant, values)
    connected = connect_with_refresh_token(settings, bench.ledger, grant["refresh_token"], tenant)
    return str(connected.company_name)


def child(values_json: str) -> None:
    """The measured part, in its own process so its peak RSS is the engine's own."""
    from sync_engine.settings import Settings

    settings = Settings(**json.loads(values_json))  # SYNCBOT_SECRET_KEY from the environment
    measure_retry_all(settings)


def run(bench: LedgerBench, args: argparse.Namespace, db: str) -> dict[str, object]:
    """One measured Retry All on a fresh database, connected to a fresh double."""
    url = fresh_database(db)
    try:
        fill(url, args.records, payees=args.payees)
        with bench.double(args.latency_ms, args.payees) as double:
            values = bench.settings_values(url, double.settings, args.batch_size)
            connect(bench, values, double)
            before = double.get("stats")["requests_by_route"]
            out = run_child(bench.module, [json.dumps(values)])
            stats = double.get("stats")
            figures = bench.figures(double, stats)
    finally:
        drop_database(url)
    routes = routes_since(stats["requests_by_route"], before)
    print(db, "requests by route:", json.dumps(routes), flush=True)
    rate = out["succeeded"] / out["wall"]
    limit = bench.bound(out["succeeded"], routes)
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
        **figures,
        "failed": out["failed"],
    }


def main(bench: LedgerBench, doc: str | None) -> None:
    """Parse the options (or run the child), run on each database asked for, print the table."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--records", type=int, default=bench.records)
    parser.add_argument("--payees", type=int, default=bench.payees, help=bench.payees_help)
    parser.add_argument(
        "--batch-size", type=int, default=30, help=f"{bench.prefix}_BATCH_SIZE (1: singles)."
    )
    parser.add_argument("--latency-ms", type=float, default=200, help="The double's, per answer.")
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    args = parser.parse_args()
    os.environ["SYNCBOT_SECRET_KEY"] = Fernet.generate_key().decode()  # this run's, thrown away
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [run(bench, args, db) for db in dbs]
    show_table(f"Retry All through {bench.title} ({machine()})", rows)
