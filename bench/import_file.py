"""Import speed and memory: one file of approved records through `SyncEngine.import_file`.

    .venv/bin/python -m bench.import_file [--db sqlite|postgres|both] [--rows N] [--big N]

Each import runs in its own process (`run_child`), so the peak RSS is the import's own; the
"before" column is that process's peak once the engine is built, so the growth is the import's.
The big file (JSON lines only) shows whether memory grows with the file's size.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import drop_database, fresh_database, machine, peak_rss_mb, run_child, show_table
from sync_engine.import_rows import FIELDS

KINDS = ("reimbursement", "honorarium")
CURRENCIES = (("USD", 2), ("EUR", 2), ("JPY", 0))
COLUMNS = FIELDS  # every field an import file may hold, in the reader's order


def rows(count: int, prefix: str = "IMP") -> Iterator[dict[str, str]]:
    """`count` distinct valid rows, drawn lazily, with every optional field now and then."""
    for n in range(1, count + 1):
        currency, places = CURRENCIES[n % len(CURRENCIES)]
        amount = f"{10 + n % 5000}" + (f".{n % 100:02d}" if places else "")
        row = {
            "source_id": f"{prefix}-{n:08d}",
            "kind": KINDS[n % 2],
            "payee_id": f"VOL-{n % 700}",
            "payee_name": f"Volunteer {n % 700}",
            "amount": amount,
            "currency": currency,
            "description": f"Food bank drive, shift {n}",
            "approved_at": f"2026-11-{1 + n % 28:02d}T15:04:05Z",
            "approved_by": "Finance lead" if n % 3 else "",
            "account_code": f"6{n % 90:03d}" if n % 4 else "",
            "memo": "" if n % 5 else "mileage and parking",
        }
        yield row


def write_jsonl(path: Path, count: int) -> Path:
    """A JSON lines file of `count` rows (optional fields left out when empty)."""
    with path.open("w", encoding="utf-8") as out:
        for row in rows(count):
            out.write(json.dumps({k: v for k, v in row.items() if v}) + "\n")
    return path


def write_csv(path: Path, count: int) -> Path:
    """A CSV file of `count` rows with a header row."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        writer.writerows(rows(count))
    return path


def child(url: str, path: str) -> dict[str, Any]:
    """Import `path` into `url` in this process; time it and note the memory."""
    from sync_engine.build import build_engine
    from sync_engine.settings import Settings

    with build_engine(Settings(database_url=url)) as engine:
        before = peak_rss_mb()
        start = time.perf_counter()
        result = engine.import_file(path, by="bench")
        seconds = time.perf_counter() - start
    return {
        "imported": result.imported,
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
    }


def measure(db: str, path: Path, fmt: str, count: int) -> dict[str, Any]:
    """One import of a fresh database, in a child process; one table row."""
    url = fresh_database(db)
    try:
        out = run_child("bench.import_file", ["--url", url, "--file", str(path)])
    finally:
        drop_database(url)
    assert out["imported"] == count, out
    return {
        "db": db,
        "format": fmt,
        "rows": count,
        "seconds": out["seconds"],
        "records/s": round(count / out["seconds"]),
        "target/s": 20_000,
        "ratio": count / out["seconds"] / 20_000,
        "RSS before MB": out["rss_before_mb"],
        "peak RSS MB": out["peak_rss_mb"],
        "growth MB": out["peak_rss_mb"] - out["rss_before_mb"],
    }


def main(argv: list[str]) -> None:
    """Parse the options, write the files, import each into fresh databases, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.import_file")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=1_000_000, help="0 skips the big file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.url, args.file)))
        return
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    folder = Path(tempfile.mkdtemp(prefix="syncbot-import-bench-"))
    try:
        files = [
            ("jsonl", args.rows, write_jsonl(folder / "records.jsonl", args.rows)),
            ("csv", args.rows, write_csv(folder / "records.csv", args.rows)),
        ]
        if args.big:
            files.append(("jsonl", args.big, write_jsonl(folder / "big.jsonl", args.big)))
        table = [measure(db, path, fmt, n) for fmt, n, path in files for db in dbs]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    show_table(f"Import through the engine ({machine()})", table)


if __name__ == "__main__":
    main(sys.argv[1:])
