"""Start-up time of the command line: `syncbot --help` and the query commands, each run a new
process.

    .venv/bin/python -m bench.startup [--runs N] [--db sqlite|postgres|both]

Also times the help of two commands (each imports only click and bot.cli), the query commands
`syncbot status` and `syncbot failed` on a small database (200 records, 20 of them failed;
SQLite by default), and for contrast the import of everything a sending command loads (the
engine, SQLAlchemy, pydantic, rich). Each command runs once first: that run may compile
bytecode (written even where PYTHONDONTWRITEBYTECODE is set, as an installed package has it)
and fill the file cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.common import SYNCBOT, drop_database, fill, fresh_database, machine, show_table

BOUND_MS = 500.0
QUERY_BOUND_MS = 300.0
HEAVY = "import bot.cli, bot.render, sync_engine.engine, rich.console"
SMALL, SMALL_FAILED_EVERY = 200, 10


def wall_ms(args: list[str], env: dict[str, str] | None = None) -> float:
    """Milliseconds from starting `args` to its exit."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return (time.perf_counter() - start) * 1000


def row(
    label: str, args: list[str], runs: int, bound: float | None, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """One table row: `runs` runs of `args` after one warm-up run."""
    env = {k: v for k, v in (env or os.environ).items() if k != "PYTHONDONTWRITEBYTECODE"}
    wall_ms(args, env)  # the first run may compile bytecode and fill the file cache
    times = [wall_ms(args, env) for _ in range(runs)]
    return {
        "command": label,
        "runs": runs,
        "min ms": min(times),
        "median ms": statistics.median(times),
        "max ms": max(times),
        "bound ms": bound if bound is not None else "-",
        "median/bound": statistics.median(times) / bound if bound else "-",
    }


def query_rows(db: str, runs: int) -> list[dict[str, Any]]:
    """`syncbot status` and `syncbot failed` on a small database of kind `db`."""
    url = fresh_database(db)
    try:
        fill(url, SMALL, failed_every=SMALL_FAILED_EVERY)
        env = dict(os.environ) | {
            "SYNCBOT_DATABASE_URL": url,
            "ACCOUNTING_GATEWAY_URL": "http://127.0.0.1:9",  # never asked by a query
            "ACCOUNTING_GATEWAY_TOKEN": "bench",
        }
        return [
            row(f"syncbot {' '.join(command)} ({db})", [SYNCBOT, *command], runs, bound, env)
            for command, bound in (
                (["status"], QUERY_BOUND_MS),
                (["failed"], QUERY_BOUND_MS),
                (["status", "--json"], QUERY_BOUND_MS),
                (["failed", "--json"], QUERY_BOUND_MS),
            )
        ]
    finally:
        drop_database(url)


def main(argv: list[str]) -> None:
    """Time each command line and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres", "both"])
    args = parser.parse_args(argv)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows = [
        *(r for db in dbs for r in query_rows(db, args.runs)),
        row("syncbot --help", [SYNCBOT, "--help"], args.runs, BOUND_MS),
        row("syncbot import --help", [SYNCBOT, "import", "--help"], args.runs, BOUND_MS),
        row("syncbot failed --help", [SYNCBOT, "failed", "--help"], args.runs, BOUND_MS),
        row("python -c 'import sys'", [sys.executable, "-c", "import sys"], args.runs, None),
        row(f"python -c '{HEAVY}'", [sys.executable, "-c", HEAVY], args.runs, None),
    ]
    show_table(f"Start-up, wall time per process ({machine()})", rows)


if __name__ == "__main__":
    main(sys.argv[1:])
