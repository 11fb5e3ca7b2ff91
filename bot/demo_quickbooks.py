"""`syncbot demo --ledger quickbooks`: the whole loop offline, on SQLite and the QuickBooks double.

The demo connects as a person would (`syncbot connect quickbooks --refresh-token`, with a token
from the double's OAuth Playground grant and a throwaway SYNCBOT_SECRET_KEY), then plays the
everyday case (a payee with no vendor, the bookkeeper creating it, Retry Selected), an outage
(QuickBooks failing, automatic sends paused, a probe ending it) and Retry All. It ends with one
line counting the Bills the double holds per record (tests/integration/test_demo_quickbooks.py
reads it).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

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
from sync_engine import (
    ErrorClass,
    PlannedFault,
    QuickBooksSimulator,
    Settings,
    SyncEngine,
    Via,
    build_engine,
    connect_with_refresh_token,
)

COMPANY = "Riverside Food Bank"
ACCOUNTS = (("Volunteer reimbursements", "6100"), ("Volunteer honoraria", "6200"))
MISSING = PAYEES[2]  # ("VOL-404", "Chris Unknown"): no vendor until the bookkeeper adds one


@dataclass
class Stage:
    """The demo's running parts: the double, the engine and the folder of import files."""

    sim: QuickBooksSimulator
    engine: SyncEngine
    folder: Path

    def postings_sent(self) -> int:
        """Bill writes (single and batch) the double has received so far."""
        routes = self.sim.requests_by_route()
        return routes.get("POST bill", 0) + routes.get("POST batch", 0)


def run_quickbooks_demo(keep: str | None = None) -> None:
    """Connect to the QuickBooks double, then fail, fix, pause, recover and retry; show each."""
    with tempfile.TemporaryDirectory(prefix="syncbot-demo-") as scratch:
        folder = Path(keep) if keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        with QuickBooksSimulator() as sim:
            settings = demo_settings(sim, folder / "syncbot-demo.db")
            _connect(sim, settings)
            with build_engine(settings) as engine:
                _story(Stage(sim, engine, folder))
        if keep:
            say(
                f"\nThe demo database is kept in {folder / 'syncbot-demo.db'} (its QuickBooks"
                " tokens are sealed with a key the demo did not keep, and the double is gone)"
            )


def demo_settings(sim: QuickBooksSimulator, database: Path) -> Settings:
    """Settings for the ledger `quickbooks` on the double, with a fresh SYNCBOT_SECRET_KEY."""
    oauth = sim.authority.config
    return Settings(
        database_url=f"sqlite:///{database}",
        ledger="quickbooks",
        # A key made for this throwaway database only; a real one is made once and kept.
        secret_key=Fernet.generate_key().decode("ascii"),
        qbo_api_base_url=sim.url,
        qbo_auth_url=sim.url + sim.oauth.paths.authorize,
        qbo_token_url=sim.url + sim.oauth.paths.token,
        qbo_revoke_url=sim.url + sim.oauth.paths.revoke,
        qbo_client_id=oauth.client_id,
        qbo_client_secret=oauth.client_secret,
        qbo_realm_id=sim.realm_id,
        qbo_account_reimbursement=ACCOUNTS[0][1],
        qbo_account_honorarium=ACCOUNTS[1][1],
        # Demo-only, said aloud at the start: an outage begins at the first failed request
        # (the default waits for 5), its first probe is due after 1 s (default 15 s), and a
        # send left unanswered is looked up at once (default: after 180 s, once QuickBooks
        # has settled).
        outage_threshold=1,
        probe_base_seconds=1.0,
        qbo_settle_seconds=0.0,
    )


def _connect(sim: QuickBooksSimulator, settings: Settings) -> None:
    """Set up the company as its bookkeeper has, then connect as `syncbot connect` does."""
    _rule("0. Connect syncbot to the QuickBooks company")
    sim.add_company(sim.realm_id, name=COMPANY)
    for name, number in ACCOUNTS:
        sim.add_account(name, acct_num=number)
    for payee_id, payee_name in PAYEES:
        if (payee_id, payee_name) != MISSING:
            sim.add_vendor(payee_name, acct_num=payee_id)
    say(f"QuickBooks double (with its OAuth endpoints) on {sim.url}; realm id {sim.realm_id}")
    say(
        "vendors: "
        + ", ".join(f"{n} ({i})" for i, n in PAYEES if (i, n) != MISSING)
        + f"; payee {MISSING[0]} ({MISSING[1]}) has no vendor yet"
    )
    say(
        "demo settings: SYNCBOT_SECRET_KEY made for this database only; "
        "SYNCBOT_OUTAGE_THRESHOLD=1, SYNCBOT_PROBE_BASE_SECONDS=1, QBO_SETTLE_SECONDS=0"
    )
    # A refresh token from the double's Playground-style grant, then the real headless path
    # of `syncbot connect quickbooks --refresh-token`: a refresh proves it, the rotated tokens
    # are stored encrypted, the company is probed.
    granted = sim.grant()
    connected = connect_with_refresh_token(
        settings, settings.ledger, granted.refresh_token, sim.realm_id
    )
    say(f"connected to QuickBooks company {connected.company_name} (realm id {sim.realm_id})")
    say(f"Bills booked so far: {len(sim.bills())}; token refreshes: {sim.authority.refreshes}")


def _story(stage: Stage) -> None:
    engine, sim = stage.engine, stage.sim
    say(ledger_line(engine.ledger_view()))
    missing = _everyday_case(stage)
    outage_hit = _outage(stage)

    _rule("6. Retry All Failed: the rest of the queue, one retry event, through the batch API")
    batches = sim.requests_by_route().get("POST batch", 0)
    everything = engine.retry_all(requested_by="demo", via=Via.CLI)
    show(retry_table(everything, f"Retry All (retry event {everything.retry_event_id})"))
    batches = sim.requests_by_route().get("POST batch", 0) - batches
    say(f"batch calls QuickBooks received for it: {batches}")

    _rule("7. Where things stand")
    status = engine.status()
    say(f"records by state: {status.by_state}")
    say(outage_line(status.outage, status.ledger))
    show(history_table(engine.history(missing)), history_table(engine.history(outage_hit)))
    _bills_line(sim, sum(status.by_state.values()))


def _everyday_case(stage: Stage) -> str:
    """A payee with no vendor fails; the bookkeeper adds it; Retry Selected books the Bill."""
    engine, sim = stage.engine, stage.sim
    _rule("1. Import 9 approved records and sync them")
    _import(stage, "batch-1.jsonl", 1, 9)
    first = engine.sync(requested_by="demo", via=Via.CLI)
    show(retry_table(first.initial, f"First postings (payee {MISSING[0]} has no vendor)"))

    _rule("2. The failed queue: what to fix in QuickBooks")
    show(failed_table(list(engine.list_failed(limit=50).items)))

    _rule(f"3. The bookkeeper creates vendor {MISSING[1]}; Retry Selected of one record")
    sim.add_vendor(MISSING[1], acct_num=MISSING[0])
    stuck = [r.source_id for r in engine.list_failed(error_class=ErrorClass.NEEDS_ATTENTION).items]
    selected = engine.retry_selected(stuck[:1], requested_by="demo", via=Via.CLI)
    show(retry_table(selected, f"Retry Selected (retry event {selected.retry_event_id})"))
    for bill in sim.bills_by_marker().get(stuck[0], []):
        say(
            f"QuickBooks now holds Bill {bill.id} (DocNumber {bill.doc_number}, "
            f"{bill.total} {bill.currency}) for {stuck[0]}"
        )
    return stuck[0]


def _outage(stage: Stage) -> str:
    """QuickBooks fails: an outage begins, syncs hold records back, a probe ends it."""
    engine, sim = stage.engine, stage.sim
    _rule("4. QuickBooks fails (503 on every call); 4 more records are approved and synced")
    sim.faults.add(PlannedFault(kind="unavailable"))
    _import(stage, "batch-2.jsonl", 10, 4)
    down = engine.sync(requested_by="demo", via=Via.CLI)
    show(retry_table(down.initial, "First postings while QuickBooks fails"))
    say(outage_line(engine.outage(), engine.ledger_view()))

    _rule("5. Automatic sends are paused; QuickBooks comes back and a probe ends the outage")
    _import(stage, "batch-3.jsonl", 14, 2)
    before = stage.postings_sent()
    paused = engine.sync(requested_by="demo", via=Via.CLI)
    say(held_back_line(paused.held_back, engine.ledger_view()))
    say(f"Bill writes QuickBooks received during that sync: {stage.postings_sent() - before}")
    sim.faults.clear()
    outage = engine.outage()
    if outage is not None and outage.next_probe_at is not None:
        say("QuickBooks answers again; the next sync probes the company once the probe is due")
        _wait_until(outage.next_probe_at.timestamp())
    resumed = engine.sync(requested_by="demo", via=Via.CLI)
    say(outage_line(resumed.outage, engine.ledger_view()))
    show(retry_table(resumed.initial, "First postings of the records held back"))
    return str(sample_records(10, 1)[0]["source_id"])  # the first record the outage hit


def _import(stage: Stage, name: str, start: int, count: int) -> None:
    """Import approved records `start`.. from a JSON lines file, as an approval system exports."""
    path = write_file(stage.folder, name, sample_records(start, count))
    result = stage.engine.import_file(path, by="demo")
    say(f"imported {result.imported} approved record(s) from {name}")


def _bills_line(sim: QuickBooksSimulator, records: int) -> None:
    """The line tests read: Bills in the double, per record, none twice."""
    counts = sim.marker_counts()
    twice = sum(1 for n in counts.values() if n > 1)
    say(
        f"the QuickBooks double holds {len(sim.bills())} Bills for {len(counts)} of {records} "
        f"records; records with more than one Bill: {twice}"
    )


def _rule(title: str) -> None:
    from rich.console import Console

    Console(markup=False, emoji=False, highlight=False).rule(cell(title))


def _wait_until(moment: float) -> None:
    """Sleep until `moment` (epoch seconds), at most a few seconds (the probe's first wait)."""
    time.sleep(min(max(moment - time.time(), 0.0) + 0.05, 5.0))
