"""`syncbot demo`: the whole loop offline, on SQLite and the built-in gateway simulator."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from rich.console import Console

from bot.render import failed_table, history_table, retry_table
from sync_engine import ErrorClass, Kind, Via
from sync_engine.build import build_engine
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, FaultPlan, GatewaySimulator, SimConfig
from sync_engine.settings import Settings

TOKEN = "demo-token"
PAYEES = [("VOL-11", "Ana Lima"), ("VOL-12", "Ben Okafor"), ("VOL-404", "Chris Unknown")]


def sample_records(start: int, count: int) -> list[dict[str, object]]:
    """Approved records of both kinds; payee VOL-404 is missing from the simulated ledger."""
    rows: list[dict[str, object]] = []
    for n in range(start, start + count):
        kind = Kind.HONORARIUM if n % 3 == 0 else Kind.REIMBURSEMENT
        payee_id, payee_name = PAYEES[n % len(PAYEES)]
        rows.append(
            {
                "source_id": f"{'HON' if kind == Kind.HONORARIUM else 'RMB'}-2026-{n:04d}",
                "kind": kind,
                "payee": {"id": payee_id, "name": payee_name},
                "amount": f"{10 + n * 7}.{n % 100:02d}",
                "currency": "USD",
                "description": f"Food bank drive, volunteer {payee_name}",
                "approved_at": "2026-11-20T15:04:05Z",
                "approved_by": "Finance lead",
            }
        )
    return rows


def write_file(folder: Path, name: str, rows: list[dict[str, object]]) -> Path:
    """Write rows as a JSON lines file, as an approval system would export them."""
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def run_demo(keep: str | None = None) -> None:
    """Import, sync with failures, fix the ledger, retry selected, retry all; show each step."""
    console = Console()
    with tempfile.TemporaryDirectory(prefix="syncbot-demo-") as scratch:
        folder = Path(keep) if keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        faults = FaultPlan([Fault(kind="validation", payee_ids=("VOL-404",))])
        with GatewaySimulator(SimConfig(latency_seconds=0.01, token=TOKEN), faults) as sim:
            settings = Settings(
                database_url=f"sqlite:///{folder / 'syncbot-demo.db'}",
                gateway_url=sim.url,
                gateway_token=TOKEN,
            )
            with build_engine(settings) as engine:
                _story(console, engine, sim, folder)
        if keep:
            console.print(f"\nThe demo database is kept in {folder / 'syncbot-demo.db'}")


def _story(console: Console, engine: SyncEngine, sim: GatewaySimulator, folder: Path) -> None:
    step = console.rule
    step("1. Import 9 approved records and sync them")
    console.print(
        engine.import_file(write_file(folder, "batch-1.jsonl", sample_records(1, 9)), by="demo")
    )
    first = engine.sync(requested_by="demo", via=Via.CLI)
    console.print(retry_table(first.initial, "First postings (payee VOL-404 is not in the ledger)"))

    step("2. The ledger goes offline; 4 more records are approved and synced")
    sim.faults.add(Fault(kind="unavailable"))
    engine.import_file(write_file(folder, "batch-2.jsonl", sample_records(10, 4)), by="demo")
    second = engine.sync(requested_by="demo", via=Via.CLI)
    console.print(retry_table(second.initial, "First postings while the ledger is offline"))

    step("3. The failed queue")
    console.print(failed_table(list(engine.list_failed(limit=50).items)))

    step("4. The ledger is back and payee VOL-404 now exists: retry one record")
    sim.faults.clear()
    stuck = [r.source_id for r in engine.list_failed(error_class=ErrorClass.NEEDS_ATTENTION).items]
    selected = engine.retry_selected(stuck[:1], requested_by="demo", via=Via.CLI)
    console.print(retry_table(selected, f"Retry Selected (retry event {selected.retry_event_id})"))

    step("5. Retry All Failed: the rest of the queue, one retry event, through the batch endpoint")
    everything = engine.retry_all(requested_by="demo", via=Via.CLI)
    console.print(retry_table(everything, f"Retry All (retry event {everything.retry_event_id})"))

    step("6. Where things stand")
    status = engine.status()
    console.print(f"records by state: {status.by_state}")
    console.print(history_table(engine.history(stuck[0])))
    twice = [k for k in sim.bookings() if sim.booking_count(k) > 1]
    console.print(
        f"the gateway booked {len(sim.bookings())} postings; keys booked twice: {len(twice)}"
    )
