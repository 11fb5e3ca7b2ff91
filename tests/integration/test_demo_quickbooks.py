"""End to end: `syncbot demo --ledger quickbooks` run as the real console script, offline.

The demo starts the QuickBooks double (with its OAuth endpoints) inside its own process, so the
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
    run_demo,
    run_ledger_demo,
    the_kept_database_holds,
)

NO_VENDOR = (
    "QuickBooks has no active vendor with account no. 'VOL-404' or named 'Chris Unknown': "
    "create (or reactivate) the vendor, or enter VOL-404 as its account no., then retry."
)
BILLS_LINE = re.compile(
    r"the QuickBooks double holds (\d+) Bills for (\d+) of (\d+) records; "
    r"records with more than one Bill: (\d+)"
)


def test_the_quickbooks_demo_books_one_bill_per_record(tmp_path: Path) -> None:
    out, kept = run_ledger_demo(tmp_path, "quickbooks")

    # Connected through the real path: one refresh of the Playground token, the probe's name.
    connected = "connected to QuickBooks company Riverside Food Bank (realm id "
    connected_through_the_real_path(out, "quickbooks", connected)
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
    assert "batch calls QuickBooks received for it: 1" in out
    # What the double booked: exactly one Bill per record, every record.
    one_bill_per_record(out, BILLS_LINE)
    the_kept_database_holds(kept, "quickbooks", booked.group(1))


def test_the_gateway_demo_is_still_the_default(tmp_path: Path) -> None:
    ran = run_demo(tmp_path, "--ledger", "gateway")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert re.search(r"the gateway booked 13 postings; keys booked twice: 0\b", ran.stdout)
    assert "QuickBooks" not in ran.stdout


def test_an_unknown_ledger_is_refused(tmp_path: Path) -> None:
    ran = run_demo(tmp_path, "--ledger", "sage")
    assert ran.returncode == 2
    assert "'gateway'" in ran.stderr and "'quickbooks'" in ran.stderr and "'xero'" in ran.stderr
