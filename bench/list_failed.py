"""Pages of the failed queue: 1,000,000 records, 50,000 of them failed, by filter.

    .venv/bin/python -m bench.list_failed [--db sqlite|postgres|both] [--records N]

Each page is one `SyncEngine.list_failed` call (its rows, their errors and the total). For
every filter it times first pages, a walk along the cursor from the start and a walk from a
cursor 90% of the way in, and prints the median and 95th percentile per page. In the fill,
every 20th record is failed; those are all reimbursements, so `kind=honorarium` is a filter
the queue holds nothing of: a page must find that out without reading the queue. PostgreSQL
is vacuumed and analysed after the fill, as autovacuum would soon do after such a load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from bench.common import drop_database, fill, fresh_database, machine, show_table
from storage.db import make_engine
from storage.vocabulary import ErrorClass
from sync_engine.build import build_engine
from sync_engine.engine import SyncEngine
from sync_engine.settings import Settings

BOUND_MS = 20.0
PAGE = 10
FAILED_EVERY = 20
ERROR_CLASSES = tuple(ErrorClass)
FILTERS: list[tuple[str, str | None, str | None]] = [
    ("none", None, None),
    ("kind=reimbursement", "reimbursement", None),
    ("kind=honorarium (none failed)", "honorarium", None),
    ("error_class=auth", None, "auth"),
    ("reimbursement + needs_attention", "reimbursement", "needs_attention"),
]


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Milliseconds `call` took, and what it returned."""
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def walk(
    engine: SyncEngine, kind: str | None, error_class: str | None, after: int | None, pages: int
) -> list[float]:
    """Times of up to `pages` pages along the cursor from `after`."""
    times = []
    for _ in range(pages):
        ms, page = timed(
            lambda a=after: engine.list_failed(
                kind=kind, error_class=error_class, after=a, limit=PAGE
            )
        )
        times.append(ms)
        after = page.next_cursor
        if after is None:
            break
    return times


def filter_row(
    engine: SyncEngine, db: str, label: str, kind: str | None, error_class: str | None, records: int
) -> dict[str, Any]:
    """One table row: every page time of one filter."""
    first = [
        timed(lambda: engine.list_failed(kind=kind, error_class=error_class, limit=PAGE))[0]
        for _ in range(20)
    ]
    pages = first + walk(engine, kind, error_class, None, 100)
    pages += walk(engine, kind, error_class, records * 9 // 10, 100)
    total = engine.list_failed(kind=kind, error_class=error_class, limit=PAGE).total
    p95 = statistics.quantiles(pages, n=20)[-1]
    return {
        "db": db,
        "filter": label,
        "total": total,
        "pages": len(pages),
        "first page ms": statistics.median(first),
        "median ms": statistics.median(pages),
        "p95 ms": p95,
        "max ms": max(pages),
        "bound ms": BOUND_MS,
        "p95/bound": p95 / BOUND_MS,
    }


def other_rows(engine: SyncEngine, db: str) -> list[dict[str, Any]]:
    """count_failed and status (not targets: figures for the record)."""
    rows = []
    for label, call in (("count_failed()", engine.count_failed), ("status()", engine.status)):
        times = [timed(call)[0] for _ in range(10)]
        rows.append(
            {"db": db, "filter": label, "median ms": statistics.median(times), "max ms": max(times)}
        )
    return rows


def run(db: str, records: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], float]:
    """Fill a fresh database and time its pages; the rows of both tables and the fill's seconds."""
    url = fresh_database(db)
    try:
        fill_seconds, _ = timed(lambda: fill(url, records, FAILED_EVERY, ERROR_CLASSES))
        if db == "postgres":
            vacuum(url)
        with build_engine(Settings(database_url=url)) as engine:
            pages = [filter_row(engine, db, *f, records) for f in FILTERS]
            others = other_rows(engine, db)
    finally:
        drop_database(url)
    return pages, others, fill_seconds / 1000


def vacuum(url: str) -> None:
    """VACUUM ANALYZE, as autovacuum does after a large insert."""
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def main(argv: list[str]) -> None:
    """Parse the options, run each database, print the tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.list_failed")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    pages: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        db_pages, db_others, seconds = run(db, args.records)
        print(f"{db}: filled {args.records:,} records in {seconds:.0f} s", file=sys.stderr)
        pages += db_pages
        others += db_others
    title = f"{args.records:,} records, every {FAILED_EVERY}th failed, {PAGE} a page ({machine()})"
    show_table(f"list_failed: {title}", pages)
    show_table("Other reads (not targets)", others)


if __name__ == "__main__":
    main(sys.argv[1:])
