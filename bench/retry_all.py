"""Retry All against the simulator over real HTTP: throughput against the bound, memory, 429s.

python -m bench.retry_all --records 10000 --batch-size 30 --latency-ms 20 --concurrency 10
python -m bench.retry_all --records 1000 --batch-size 1 --latency-ms 100 --concurrency 10
python -m bench.retry_all --records 700 --batch-size 1 --rate-per-minute 300 --latency-ms 20
python -m bench.retry_all --records 100000 --db sqlite      # peak RSS
"""

from __future__ import annotations

import argparse

from bench.common import (
    TOKEN,
    Simulator,
    drop_database,
    fill,
    fresh_database,
    machine,
    measure_retry_all,
    run_child,
    show_table,
)


def child(url: str, gateway: str, batch_size: int, concurrency: int, rate: int) -> None:
    """The measured part, in its own process so its peak RSS is the engine's own."""
    from sync_engine.settings import Settings

    settings = Settings(
        database_url=url,
        gateway_url=gateway,
        gateway_token=TOKEN,
        batch_size=batch_size,
        concurrency=concurrency,
        rate_per_minute=rate,
    )
    measure_retry_all(settings)


def bound(args: argparse.Namespace) -> float:
    """The most records per second the gateway's latency, concurrency or rate limit allow."""
    by_latency = args.concurrency * args.batch_size / (args.latency_ms / 1000)
    if args.latency_ms <= 0:
        by_latency = float("inf")
    if args.rate_per_minute:
        return min(by_latency, args.rate_per_minute / 60 * args.batch_size)
    return by_latency


def run(args: argparse.Namespace, db: str) -> dict[str, object]:
    """One measured Retry All on a fresh database."""
    url = fresh_database(db)
    try:
        fill(url, args.records)
        sim_concurrency = args.concurrency if args.sim_limits else 0
        sim_rate = args.rate_per_minute if args.sim_limits else 0
        with Simulator(args.latency_ms, sim_concurrency, sim_rate) as sim:
            out = run_child(
                "bench.retry_all",
                [
                    url,
                    sim.url,
                    str(args.batch_size),
                    str(args.concurrency),
                    str(args.rate_per_minute),
                ],
            )
            stats = sim.stats()
    finally:
        drop_database(url)
    rate = out["succeeded"] / out["wall"]
    limit = bound(args)
    return {
        "db": db,
        "records": args.records,
        "batch": args.batch_size,
        "conc": args.concurrency,
        "latency ms": args.latency_ms,
        "wall s": round(out["wall"], 2),
        "records/s": round(rate),
        "bound/s": round(limit) if limit != float("inf") else "-",
        "ratio": f"{rate / limit:.0%}" if limit != float("inf") else "-",
        "peak RSS MB": round(out["rss_mb"]),
        "429s": stats["rate_limited"],
        "duplicates": stats["duplicate_bookings"],
        "failed": out["failed"],
    }


def main() -> None:
    """Parse the options, run on each database asked for, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--rate-per-minute", type=int, default=0)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument(
        "--no-sim-limits",
        dest="sim_limits",
        action="store_false",
        help="Do not make the simulator enforce the same concurrency and rate limits.",
    )
    args = parser.parse_args()
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [run(args, db) for db in dbs]
    show_table(f"Retry All ({machine()})", rows)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, gateway, batch, conc, rate = sys.argv[2:7]
        child(url, gateway, int(batch), int(conc), int(rate))
    else:
        main()
