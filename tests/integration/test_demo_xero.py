"""End to end: `syncbot demo --ledger xero` run as the real console script, offline.

The demo starts the Xero double (with its identity endpoints) inside its own process, so the
test reads what it booked from the demo's last line and what syncbot stored from the database
the demo keeps (`--keep`).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import Attempt, LedgerConnection, Record, SyncLogEntry
from tests.integration.test_demo_quickbooks import SECRET_SHAPES, run_demo

NO_CONTACT = (
    "Xero has no active contact with account number 'VOL-404' or name 'Chris Unknown': add the"
    " contact in Xero (enter VOL-404 as its account number), then retry."
)
BILLS_LINE = re.compile(
    r"the Xero double holds (\d+) bills for (\d+) of (\d+) records; "
    r"records with more than one bill: (\d+)"
)
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def test_the_xero_demo_books_one_bill_per_record(tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    ran = run_demo(tmp_path, "--ledger", "xero", "--keep", str(kept))
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    out = " ".join(ran.stdout.split())  # rich wraps long cells: compare the words

    # Connected through the real path: one refresh of the granted token, the probe's name.
    assert "connected to Xero organisation Riverside Food Bank (tenant id " in out
    assert "token refreshes: 1" in out
    assert "ledger: xero, Riverside Food Bank (" in out and "): connected" in out
    # The everyday case: no contact -> needs_attention with the admin's message; the
    # bookkeeper adds it; Retry Selected books the bill.
    assert NO_CONTACT in out and "needs_attention" in out
    booked = re.search(
        rf"Xero now holds bill ({GUID}) \(InvoiceNumber RMB-2026-0002, 24.02 USD\)", out
    )
    assert booked, out
    # The outage: Xero "offline", automatic sends paused, ended by a probe.
    assert "Xero: DOWN since" in out and "503" in out
    assert "held back 2 record(s) until Xero answers a probe" in out
    assert "bill writes Xero received during that sync: 0" in out
    assert out.count("Xero: up (no outage)") == 2
    assert "gateway" not in out.lower().replace("gateway_", "")  # the one ledger is named
    assert re.search(r"batch calls Xero received for it: [1-9]", out), out
    # What the double booked: exactly one bill per record, every record.
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
        assert (connection.ledger, connection.state) == ("xero", "connected")
        assert connection.company_name == "Riverside Food Bank"
        # Stored sealed (Fernet), never as the clear token.
        assert connection.refresh_token_encrypted.startswith("gAAAAA")
        assert not connection.access_token_encrypted.startswith("eyJ")
