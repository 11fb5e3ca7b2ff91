"""`syncbot retry --all` as a person or a script runs it, against the engine's own Retry All.

    .venv/bin/python -m bench.cli_retry_all --records 10000 --batch-size 30 --latency-ms 20
    .venv/bin/python -m bench.cli_retry_all --records 100000 --no-engine   # peak RSS, both dbs

For each database: the engine alone (`bench.retry_all`'s measured child) on a fresh fill, then
the real `syncbot retry --all` console script on another fresh fill, plain and `--json`, its
stdout and stderr written to files. The command's peak RSS is its own (`os.wait4` on that one
process, the simulator being another). Its rate is given two ways: records over the whole
process's wall time, and records over the wall time less the same command's on an empty queue
(start-up: imports, settings, the schema check, an empty retry event), which is what compares
with the engine's figure. `--tty` runs the plain command in a pseudo-terminal, so the progress
bar draws as it does for a person.
"""

from __future__ import annotations

import argparse
import os
import pty
import subprocess
import tempfile
import time
from typing import Any

from bench import retry_all
from bench.common import (
    SYNCBOT,
    TOKEN,
    Simulator,
    drop_database,
    fill,
    fresh_database,
    machine,
    show_table,
)


def run_syncbot(args: list[str], env: dict[str, str], tty: bool) -> tuple[float, float, int]:
    """Run `syncbot ARGS`: its wall seconds, its own peak RSS in MB, its exit code."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        leader = follower = -1
        if tty:
            leader, follower = pty.openpty()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [SYNCBOT, *args],
            stdout=follower if tty else out,
            stderr=follower if tty else err,
            env=env,
        )
        if tty:
            os.close(follower)
            _drain(leader)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if tty:
            os.close(leader)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def _drain(fd: int) -> None:
    # A terminal's reader: keeps the pseudo-terminal's buffer from filling up.
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:  # EIO once the command has closed its end
            return


def cli_env(url: str, gateway: str, args: argparse.Namespace) -> dict[str, str]:
    """The command's settings, as a person would export them."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCBOT_", "ACCOUNTING_"))}
    return keep | {
        "SYNCBOT_DATABASE_URL": url,
        "ACCOUNTING_GATEWAY_URL": gateway,
        "ACCOUNTING_GATEWAY_TOKEN": TOKEN,
        "ACCOUNTING_GATEWAY_BATCH_SIZE": str(args.batch_size),
        "ACCOUNTING_GATEWAY_CONCURRENCY": str(args.concurrency),
        "COLUMNS": "120",
    }


def cli_run(args: argparse.Namespace, db: str, as_json: bool) -> dict[str, Any]:
    """One `syncbot retry --all` of `args.records` failed records on a fresh database."""
    url = fresh_database(db)
    try:
        with Simulator(args.latency_ms, args.concurrency) as sim:
            env = cli_env(url, sim.url, args)
            command = ["retry", "--all", *(["--json"] if as_json else [])]
            tty = args.tty and not as_json
            empty = min(run_syncbot(command, env, tty)[0] for _ in range(3))
            fill(url, args.records)
            wall, rss, code = run_syncbot(command, env, tty)
            stats = sim.stats()
    finally:
        drop_database(url)
    assert code == 0, f"syncbot {' '.join(command)} exited {code}"
    assert stats["bookings"] == args.records, stats
    return {
        "db": db,
        "what": "syncbot retry --all" + (" --json" if as_json else "") + (" (tty)" if tty else ""),
        "records": args.records,
        "wall s": round(wall, 2),
        "start-up s": round(empty, 2),
        "records/s": round(args.records / (wall - empty)),
        "records/s, whole process": round(args.records / wall),
        "peak RSS MB": round(rss),
    }


def engine_run(args: argparse.Namespace, db: str) -> dict[str, Any]:
    """The engine alone, as `bench.retry_all` measures it."""
    row = retry_all.run(
        argparse.Namespace(
            records=args.records,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            latency_ms=args.latency_ms,
            rate_per_minute=0,
            sim_limits=True,
        ),
        db,
    )
    return {
        "db": db,
        "what": "engine (bench.retry_all)",
        "records": args.records,
        "wall s": row["wall s"],
        "start-up s": "-",
        "records/s": row["records/s"],
        "records/s, whole process": "-",
        "peak RSS MB": row["peak RSS MB"],
    }


def main() -> None:
    """Parse the options, run each database asked for, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--db", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--no-engine", dest="engine", action="store_false")
    parser.add_argument("--no-json", dest="json", action="store_false")
    parser.add_argument("--tty", action="store_true", help="Plain runs in a pseudo-terminal.")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        if args.engine:
            rows.append(engine_run(args, db))
        rows.append(cli_run(args, db, as_json=False))
        if args.json:
            rows.append(cli_run(args, db, as_json=True))
    show_table(f"syncbot retry --all ({machine()})", rows)


if __name__ == "__main__":
    main()
