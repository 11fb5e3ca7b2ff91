"""Shared pieces of the benchmarks: the simulator as a process, fresh databases, fast fills."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import bindparam, text

from storage.db import make_engine
from storage.migrate import ensure_schema
from storage.models import UTCDateTime

PG_URL = os.environ.get("SYNCBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "bench-token"
SYNCBOT = str(Path(sys.executable).with_name("syncbot"))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Simulator:
    """`syncbot gateway-sim` in its own process, as a real gateway would be."""

    def __init__(self, latency_ms: float = 0, concurrency: int = 0, rate_per_minute: int = 0):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [SYNCBOT, "gateway-sim", "--port", str(port), "--token", TOKEN]
        args += ["--latency-ms", str(latency_ms), "--concurrency", str(concurrency)]
        args += ["--rate-per-minute", str(rate_per_minute)]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/_sim/stats", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the gateway simulator did not start")

    def stats(self, keys: bool = False) -> dict[str, Any]:
        """The simulator's counters (and per-key booking counts with `keys`)."""
        suffix = "?keys=1" if keys else ""
        return httpx.get(f"{self.url}/_sim/stats{suffix}", timeout=30).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End the process."""
        self.proc.terminate()
        self.proc.wait(10)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class LedgerDouble:
    """`syncbot ledger-sim NAME` (QuickBooks, Xero) in its own process, as the real ledger
    would be: the settings it prints, its admin endpoints under /_sim/."""

    def __init__(self, name: str, options: list[str]):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [SYNCBOT, "ledger-sim", name, "--port", str(port), *options]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()  # "... listening on URL"
        self.settings: dict[str, str] = json.loads(self.proc.stdout.readline())

    def admin(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to one of the double's admin endpoints."""
        answer = httpx.post(f"{self.url}/_sim/{name}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def get(self, name: str) -> dict[str, Any]:
        """GET one of the double's admin endpoints (stats, bills, invoices)."""
        return httpx.get(f"{self.url}/_sim/{name}", timeout=30).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        """End the process."""
        self.proc.terminate()
        self.proc.wait(10)

    @contextmanager
    def stopped_on_error(self) -> Iterator[None]:
        """Stop the process if setting it up fails."""
        try:
            yield
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> LedgerDouble:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def routes_since(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """Requests per route made between two `requests_by_route` readings."""
    return {
        route: n - before.get(route, 0) for route, n in after.items() if n > before.get(route, 0)
    }


def fresh_database(kind: str) -> str:
    """A new empty database at the schema's head: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="syncbot-bench-")
        url = f"sqlite:///{folder}/bench.db"
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    """Remove a database made by `fresh_database`."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    schema = url.rsplit("%3D", 1)[1]
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def fill(
    url: str,
    total: int,
    failed_every: int = 1,
    error_classes: tuple[str, ...] = ("transient", "needs_attention"),
    payees: int = 500,
) -> None:
    """Insert `total` records: every `failed_every`-th in the failed queue, the rest succeeded.

    The records' payees are VOL-0 ... VOL-(payees - 1), named "Volunteer <n>".

    The rows are made by the database itself (a series of ids), so a million take seconds.
    """
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    classes = " ".join(f"WHEN {i} THEN :c{i}" for i in range(len(error_classes)))
    failed = f"n % {failed_every} = 0"
    params = {f"c{i}": name for i, name in enumerate(error_classes)}
    sql = _FILL_RECORDS.format(series=_series(postgres), payees=int(payees), **_fill_sql(postgres))
    record = text(sql)
    entry = text(
        _FILL_LOG.format(
            series=_series(postgres),
            failed=failed,
            every=failed_every,
            count=len(error_classes),
            classes=classes,
        )
    )
    now = bindparam("now", datetime.now(UTC), type_=UTCDateTime())
    with engine.begin() as conn:
        for first in range(1, total + 1, 100_000):
            last = min(first + 99_999, total)
            conn.execute(record.bindparams(now), {"first": first, "last": last})
            conn.execute(entry.bindparams(now), {"first": first, "last": last} | params)
    engine.dispose()


_FILL_RECORDS = """
{series} INSERT INTO records (id, source_id, kind, payee_id, payee_name, amount_minor, currency,
  description, approved_at, idempotency_key, imported_at)
SELECT n, CASE WHEN n % 2 = 1 THEN 'HON' ELSE 'RMB' END || '-B-' || {padded},
  CASE WHEN n % 2 = 1 THEN 'honorarium' ELSE 'reimbursement' END,
  'VOL-' || (n % {payees}), 'Volunteer ' || (n % {payees}),
  1000 + n % 9000, 'USD', 'Benchmark record',
  :now, 'bench-' || n || '-' || {random8}, :now
FROM s
"""
_FILL_LOG = """
{series} INSERT INTO sync_log (record_id, kind, state, updated_at, accounting_ref, error_class,
  last_error, attempt_count, auto_streak, next_attempt_at, parked)
SELECT n, CASE WHEN n % 2 = 1 THEN 'honorarium' ELSE 'reimbursement' END,
  CASE WHEN {failed} THEN 'failed' ELSE 'succeeded' END, :now,
  CASE WHEN {failed} THEN NULL ELSE 'ACC-' || n END,
  CASE WHEN {failed} THEN CASE (n / {every}) % {count} {classes} END END,
  CASE WHEN {failed} THEN '503 upstream_unavailable: the ledger is offline' END,
  1, 0, NULL, 1 = 0
FROM s
"""


def _series(postgres: bool) -> str:
    if postgres:
        return "WITH s AS (SELECT generate_series(CAST(:first AS int), CAST(:last AS int)) AS n)"
    return "WITH RECURSIVE s(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM s WHERE n < :last)"


def _fill_sql(postgres: bool) -> dict[str, str]:
    if postgres:
        return {
            "padded": "lpad(n::text, greatest(7, length(n::text)), '0')",
            "random8": "substr(md5(random()::text), 1, 8)",
        }
    return {"padded": "printf('%07d', n)", "random8": "lower(hex(randomblob(4)))"}


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_retry_all(settings: Any) -> None:
    """In a benchmark's child process: one Retry All on `settings`, its figures printed as JSON
    for `run_child` (peak RSS the child's own)."""
    from bot.cli import tune_threads
    from sync_engine.build import build_engine

    tune_threads()  # as the syncbot command does
    with build_engine(settings) as engine:
        started = time.perf_counter()
        result = engine.retry_all(requested_by="bench", via="cli")
        wall = time.perf_counter() - started
    print(
        json.dumps(
            {
                "wall": wall,
                "succeeded": len(result.succeeded),
                "failed": len(result.failed),
                "rss_mb": peak_rss_mb(),
            }
        )
    )


def run_child(module: str, args: list[str]) -> dict[str, Any]:
    """Run `python -m module --child args...` and read the JSON it prints last."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--child", *args],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def show_table(title: str, rows: list[dict[str, Any]]) -> None:
    """Print rows as a small rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for name in rows[0]:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row.values()))
    Console(width=200).print(table)


def machine() -> str:
    """A line naming this machine, for the records in docs/performance.md."""
    cpus = os.cpu_count()
    return f"{cpus} cores, Python {sys.version.split()[0]}, {datetime.now(UTC):%Y-%m-%d}"
