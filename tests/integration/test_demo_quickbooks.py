"""End to end: `syncbot demo --ledger quickbooks` run as the real console script, offline.

The demo starts the QuickBooks double (with its OAuth endpoints) inside its own process, so the
test reads what it booked from the demo's last line and what syncbot stored from the database
the demo keeps (`--keep`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import Attempt, LedgerConnection, Record, SyncLogEntry
from tests.integration.cli_harness import SYNCBOT, clean_env

NO_VENDOR = (
    "QuickBooks has no active vendor with account no. 'VOL-404' or named 'Chris Unknown': "
    "create (or reactivate) the vendor, or enter VOL-404 as its account no., then retry."
)
BILLS_LINE = re.compile(
    r"the QuickBooks double holds (\d+) Bills for (\d+) of (\d+) records; "
    r"records with more than one Bill: (\d+)"
)
# What a token or a Fernet key or ciphertext would look like if one were ever printed.
SECRET_SHAPES = re.compile(r"RT1-|eyJ[\w-]{20}|gAAAAA|\b[\w-]{43}=")


def run_demo(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`syncbot demo ARGS...` in `folder` (no stray `.env`), wide enough for whole lines."""
    return subprocess.run(
        [str(SYNCBOT), "demo", *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=folder,
        timeout=120,
    )


def test_the_quickbooks_demo_books_one_bill_per_record(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    ran = run_demo(tmp_path, "--ledger", "quickbooks", "--keep", str(kept))
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    out = " ".join(ran.stdout.split())  # rich wraps long cells: compare the words

    # Connected through the real path: one refresh of the Playground token, the probe's name.
    assert "connected to QuickBooks company Riverside Food Bank (realm id " in out
    assert "token refreshes: 1" in out
    assert "ledger: quickbooks, Riverside Food Bank (" in out and "): connected" in out
    # The everyday case: no vendor -> needs_attention with the admin's message; the bookkeeper
    # creates it; Retry Selected books the Bill.
    assert NO_VENDOR in out and "needs_attention" in out
    booked = re.search(
        r"QuickBooks now holds Bill (\d+) \(DocNumber RMB-2026-0002, 24.02 USD\)", out
    )
    assert booked, out
    # The outage: begun by QuickBooks failing, automatic sends paused, ended by a probe.
    assert "QuickBooks: DOWN since" in out and "QuickBooks HTTP 503" in out
    assert "held back 2 record(s) until QuickBooks answers a probe" in out
    assert "Bill writes QuickBooks received during that sync: 0" in out
    assert out.count("QuickBooks: up (no outage)") == 2
    assert "gateway" not in out.lower().replace("gateway_", "")  # the one ledger is named
    assert "batch calls QuickBooks received for it: 1" in out
    # What the double booked: exactly one Bill per record, every record.
    found = BILLS_LINE.search(out)
    assert found, out[-2000:]
    assert [int(n) for n in found.groups()] == [15, 15, 15, 0]
    assert not SECRET_SHAPES.search(ran.stdout + ran.stderr)

    with Session(create_engine(f"sqlite:///{kept / 'syncbot-demo.db'}")) as session:
        states = dict(
            session.execute(
                select(Record.source_id, SyncLogEntry.state).join(
                    SyncLogEntry, SyncLogEntry.record_id == Record.id
                )
            ).all()
        )
        assert len(states) == 15 and set(states.values()) == {"succeeded"}
        ref = session.scalar(
            select(SyncLogEntry.accounting_ref)
            .join(Record, SyncLogEntry.record_id == Record.id)
            .where(Record.source_id == "RMB-2026-0002")
        )
        assert ref == booked.group(1)
        tried = session.execute(
            select(Attempt.trigger, Attempt.outcome, Attempt.error_class)
            .join(Record, Attempt.record_id == Record.id)
            .where(Record.source_id == "RMB-2026-0002")
            .order_by(Attempt.id)
        ).all()
        assert [tuple(t) for t in tried] == [
            ("initial", "failed", "needs_attention"),
            ("manual", "succeeded", None),
        ]
        [connection] = session.scalars(select(LedgerConnection)).all()
        assert (connection.ledger, connection.state) == ("quickbooks", "connected")
        assert connection.company_name == "Riverside Food Bank"
        # Stored sealed (Fernet), never as the clear token.
        assert connection.refresh_token_encrypted.startswith("gAAAAA")
        assert not connection.access_token_encrypted.startswith("eyJ")


def test_the_gateway_demo_is_still_the_default(tmp_path: Path) -> None:
    ran = run_demo(tmp_path, "--ledger", "gateway")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert re.search(r"the gateway booked 13 postings; keys booked twice: 0\b", ran.stdout)
    assert "QuickBooks" not in ran.stdout


def test_an_unknown_ledger_is_refused(tmp_path: Path) -> None:
    ran = run_demo(tmp_path, "--ledger", "sage")
    assert ran.returncode == 2
    assert "'gateway'" in ran.stderr and "'quickbooks'" in ran.stderr and "'xero'" in ran.stderr
