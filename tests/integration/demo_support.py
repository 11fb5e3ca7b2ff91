"""What the demo tests of every ledger share (test_demo_quickbooks.py, test_demo_xero.py): run
`syncbot demo` as the real console script, and the checks every OAuth ledger's demo passes
alike: connected through the real path, one bill per record, no secret printed, and the kept
database holding what the story did.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage.models import Attempt, LedgerConnection, Record, SyncLogEntry
from tests.integration.cli_harness import SYNCBOT, clean_env

# What a token or a Fernet key or ciphertext would look like if one were ever printed.
SECRET_SHAPES = re.compile(r"RT1-|eyJ[\w-]{20}|gAAAAA|\b[\w-]{43}=")
COMPANY = "Riverside Food Bank"
BOOKED = "RMB-2026-0002"  # the everyday case's record: failed, then booked by Retry Selected


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


def run_ledger_demo(folder: Path, ledger: str) -> tuple[str, Path]:
    """`syncbot demo --ledger LEDGER --keep`: it succeeds and prints no secret; its output's
    words (rich wraps long cells) and the folder of the database it kept."""
    kept = folder / "kept"
    ran = run_demo(folder, "--ledger", ledger, "--keep", str(kept))
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert not SECRET_SHAPES.search(ran.stdout + ran.stderr)
    return " ".join(ran.stdout.split()), kept


def connected_through_the_real_path(out: str, ledger: str, connected: str) -> None:
    """One refresh of the granted token, the probe's name in the ledger line; `connected`:
    the line saying so."""
    assert connected in out
    assert "token refreshes: 1" in out
    assert f"ledger: {ledger}, {COMPANY} (" in out and "): connected" in out


def one_bill_per_record(out: str, bills_line: re.Pattern[str]) -> None:
    """The one ledger is named, never the gateway; the demo's last line (`bills_line`: bills,
    records with bills, records, records with more than one) says one bill per record."""
    assert "gateway" not in out.lower().replace("gateway_", "")
    found = bills_line.search(out)
    assert found, out[-2000:]
    assert [int(n) for n in found.groups()] == [15, 15, 15, 0]


def the_kept_database_holds(kept: Path, ledger: str, reference: str) -> None:
    """Every record succeeded; the everyday case's record failed once then was booked as
    `reference` by hand; the connection is stored sealed."""
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
            .where(Record.source_id == BOOKED)
        )
        assert ref == reference
        tried = session.execute(
            select(Attempt.trigger, Attempt.outcome, Attempt.error_class)
            .join(Record, Attempt.record_id == Record.id)
            .where(Record.source_id == BOOKED)
            .order_by(Attempt.id)
        ).all()
        assert [tuple(t) for t in tried] == [
            ("initial", "failed", "needs_attention"),
            ("manual", "succeeded", None),
        ]
        [connection] = session.scalars(select(LedgerConnection)).all()
        assert (connection.ledger, connection.state) == (ledger, "connected")
        assert connection.company_name == COMPANY
        # Stored sealed (Fernet), never as the clear token.
        assert connection.refresh_token_encrypted.startswith("gAAAAA")
        assert not connection.access_token_encrypted.startswith("eyJ")
