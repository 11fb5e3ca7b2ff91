"""End to end: `syncbot demo --ledger xero` run as the real console script, offline.

The demo starts the Xero double (with its identity endpoints) inside its own process, so the
test reads what it booked from the demo's last line and what syncbot stored from the database
the demo keeps (`--keep`). The checks every ledger's demo passes are
tests/integration/demo_support.py's.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.demo_support import (
    connected_through_the_real_path,
    one_bill_per_record,
    run_ledger_demo,
    the_kept_database_holds,
)

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
    out, kept = run_ledger_demo(tmp_path, "xero")

    # Connected through the real path: one refresh of the granted token, the probe's name.
    connected = "connected to Xero organisation Riverside Food Bank (tenant id "
    connected_through_the_real_path(out, "xero", connected)
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
    assert re.search(r"batch calls Xero received for it: [1-9]", out), out
    # What the double booked: exactly one bill per record, every record.
    one_bill_per_record(out, BILLS_LINE)
    the_kept_database_holds(kept, "xero", booked.group(1))
