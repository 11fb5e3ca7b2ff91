"""The story every OAuth ledger's demo tells (`syncbot demo --ledger quickbooks|xero`).

A ledger's demo (bot/demo_quickbooks.py, bot/demo_xero.py) starts its double, sets up the
books as the bookkeeper has, connects syncbot as a person would, and hands `tell` a `Books`:
the few things the story needs to do to, or read from, that double. The story itself is the
same for every ledger: the everyday case (a payee the ledger does not know, the bookkeeper
adding it, Retry Selected), an outage (the ledger failing, automatic sends paused, a probe
ending it) and Retry All, ending with one line counting the bills per record that the
ledger's demo test reads.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from cryptography.fernet import Fernet

from bot.demo import PAYEES, sample_records, write_file
from bot.render import (
    cell,
    failed_table,
    held_back_line,
    history_table,
    ledger_line,
    outage_line,
    retry_table,
    say,
    show,
)
from sync_engine import ErrorClass, SyncEngine, Via

MISSING = PAYEES[2]  # ("VOL-404", "Chris Unknown"): unknown to the ledger until it is added
KNOWN = tuple(p for p in PAYEES if p != MISSING)  # the payees the bookkeeper has set up
COMPANY = "Riverside Food Bank"
ACCOUNTS = (("Volunteer reimbursements", "6100"), ("Volunteer honoraria", "6200"))


@dataclass(frozen=True)
class Bill:
    """One bill the double holds, as the story shows it."""

    id: str
    number: str | None
    total: Decimal
    currency: str


class Books(Protocol):
    """One ledger's double, as the story acts on it and reads it."""

    title: str  # "QuickBooks"
    bill: str  # what the ledger calls a bill: "Bill"
    payee: str  # what the ledger calls a payee: "vendor"
    number_field: str  # where the bill carries the record's source id: "DocNumber"
    failure: str  # what `fail` does: "503 on every call"

    def add_payee(self, name: str, number: str) -> None:
        """The bookkeeper adds the missing payee (`number`: its account number)."""
        ...

    def fail(self) -> None:
        """Bill writes fail with a 503 from now on."""
        ...

    def heal(self) -> None:
        """Bill writes succeed again."""
        ...

    def writes(self) -> int:
        """Bill writes (single and batch) received so far."""
        ...

    def batches(self) -> int:
        """Batch writes received so far."""
        ...

    def bills_of(self, source_id: str) -> list[Bill]:
        """The bills booked for the record."""
        ...

    def counts(self) -> dict[str, int]:
        """Source id -> bills booked for it."""
        ...


@contextmanager
def demo_folder(keep: str | None, title: str) -> Iterator[Path]:
    """The folder of the demo's database and import files: `keep`, else a scratch one."""
    with tempfile.TemporaryDirectory(prefix="syncbot-demo-") as scratch:
        folder = Path(keep) if keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        if keep:
            say("")
            say(
                f"The demo database is kept in {folder / 'syncbot-demo.db'} (its {title}"
                " tokens are sealed with a key the demo did not keep, and the double is gone)"
            )


def common_settings(database: Path) -> dict[str, Any]:
    """The settings every ledger's demo shares: its SQLite database, a fresh key, the pace."""
    return {
        "database_url": f"sqlite:///{database}",
        # A key made for this throwaway database only; a real one is made once and kept.
        "secret_key": Fernet.generate_key().decode("ascii"),
        # Demo-only, said aloud at the start: an outage begins at the first failed request
        # (the default waits for 5), its first probe is due after 1 s (default 15 s).
        "outage_threshold": 1,
        "probe_base_seconds": 1.0,
    }


def introduce(double: str, payee: str, settle: str) -> None:
    """Say where the double runs (`double`), which payees it knows (as `payee`s) and the demo's
    settings (`settle`: the ledger's settle setting, 0 in the demo)."""
    say(double)
    say(
        f"{payee}s: "
        + ", ".join(f"{n} ({i})" for i, n in KNOWN)
        + f"; payee {MISSING[0]} ({MISSING[1]}) has no {payee} yet"
    )
    say(
        "demo settings: SYNCBOT_SECRET_KEY made for this database only; "
        f"SYNCBOT_OUTAGE_THRESHOLD=1, SYNCBOT_PROBE_BASE_SECONDS=1, {settle}=0"
    )


def tell(books: Books, engine: SyncEngine, folder: Path) -> None:
    """The whole story on a connected ledger; import files are written in `folder`."""
    say(ledger_line(engine.ledger_view()))
    missing = _everyday_case(books, engine, folder)
    outage_hit = _outage(books, engine, folder)

    rule("6. Retry All Failed: the rest of the queue, one retry event, through the batch API")
    batches = books.batches()
    everything = engine.retry_all(requested_by="demo", via=Via.CLI)
    show(retry_table(everything, f"Retry All (retry event {everything.retry_event_id})"))
    say(f"batch calls {books.title} received for it: {books.batches() - batches}")

    rule("7. Where things stand")
    status = engine.status()
    say(f"records by state: {status.by_state}")
    say(outage_line(status.outage, status.ledger))
    show(history_table(engine.history(missing)), history_table(engine.history(outage_hit)))
    _bills_line(books, sum(status.by_state.values()))


def _everyday_case(books: Books, engine: SyncEngine, folder: Path) -> str:
    """A payee the ledger lacks fails; the bookkeeper adds it; Retry Selected books the bill."""
    rule("1. Import 9 approved records and sync them")
    _import(engine, folder, "batch-1.jsonl", 1, 9)
    first = engine.sync(requested_by="demo", via=Via.CLI)
    show(retry_table(first.initial, f"First postings (payee {MISSING[0]} has no {books.payee})"))

    rule(f"2. The failed queue: what to fix in {books.title}")
    show(failed_table(list(engine.list_failed(limit=50).items)))

    rule(f"3. The bookkeeper creates {books.payee} {MISSING[1]}; Retry Selected of one record")
    books.add_payee(MISSING[1], MISSING[0])
    stuck = [r.source_id for r in engine.list_failed(error_class=ErrorClass.NEEDS_ATTENTION).items]
    selected = engine.retry_selected(stuck[:1], requested_by="demo", via=Via.CLI)
    show(retry_table(selected, f"Retry Selected (retry event {selected.retry_event_id})"))
    for bill in books.bills_of(stuck[0]):
        say(
            f"{books.title} now holds {books.bill} {bill.id} ({books.number_field} "
            f"{bill.number}, {bill.total} {bill.currency}) for {stuck[0]}"
        )
    return stuck[0]


def _outage(books: Books, engine: SyncEngine, folder: Path) -> str:
    """The ledger fails: an outage begins, syncs hold records back, a probe ends it."""
    title = books.title
    rule(f"4. {title} fails ({books.failure}); 4 more records are approved and synced")
    books.fail()
    _import(engine, folder, "batch-2.jsonl", 10, 4)
    down = engine.sync(requested_by="demo", via=Via.CLI)
    show(retry_table(down.initial, f"First postings while {title} fails"))
    say(outage_line(engine.outage(), engine.ledger_view()))

    rule(f"5. Automatic sends are paused; {title} comes back and a probe ends the outage")
    _import(engine, folder, "batch-3.jsonl", 14, 2)
    before = books.writes()
    paused = engine.sync(requested_by="demo", via=Via.CLI)
    say(held_back_line(paused.held_back, engine.ledger_view()))
    say(f"{books.bill} writes {title} received during that sync: {books.writes() - before}")
    books.heal()
    outage = engine.outage()
    if outage is not None and outage.next_probe_at is not None:
        say(f"{title} answers again; the next sync probes the company once the probe is due")
        _wait_until(outage.next_probe_at.timestamp())
    resumed = engine.sync(requested_by="demo", via=Via.CLI)
    say(outage_line(resumed.outage, engine.ledger_view()))
    show(retry_table(resumed.initial, "First postings of the records held back"))
    return str(sample_records(10, 1)[0]["source_id"])  # the first record the outage hit


def _import(engine: SyncEngine, folder: Path, name: str, start: int, count: int) -> None:
    """Import approved records `start`.. from a JSON lines file, as an approval system exports."""
    path = write_file(folder, name, sample_records(start, count))
    result = engine.import_file(path, by="demo")
    say(f"imported {result.imported} approved record(s) from {name}")


def _bills_line(books: Books, records: int) -> None:
    """The line tests read: bills in the double, per record, none twice."""
    counts = books.counts()
    twice = sum(1 for n in counts.values() if n > 1)
    say(
        f"the {books.title} double holds {sum(counts.values())} {books.bill}s for {len(counts)}"
        f" of {records} records; records with more than one {books.bill}: {twice}"
    )


def rule(title: str) -> None:
    """A titled rule between the story's steps."""
    from rich.console import Console

    Console(markup=False, emoji=False, highlight=False).rule(cell(title))


def _wait_until(moment: float) -> None:
    """Sleep until `moment` (epoch seconds), at most a few seconds (the probe's first wait)."""
    time.sleep(min(max(moment - time.time(), 0.0) + 0.05, 5.0))
