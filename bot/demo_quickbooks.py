"""`syncbot demo --ledger quickbooks`: the whole loop offline, on SQLite and the QuickBooks double.

The demo connects as a person would (`syncbot connect quickbooks --refresh-token`, with a token
from the double's OAuth Playground grant and a throwaway SYNCBOT_SECRET_KEY), then plays the
everyday case (a payee with no vendor, the bookkeeper creating it, Retry Selected), an outage
(QuickBooks failing, automatic sends paused, a probe ending it) and Retry All. It ends with one
line counting the Bills the double holds per record (tests/integration/test_demo_quickbooks.py
reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.demo_ledger import (
    ACCOUNTS,
    COMPANY,
    KNOWN,
    Bill,
    common_settings,
    demo_folder,
    introduce,
    rule,
    tell,
)
from bot.render import say
from sync_engine import (
    PlannedFault,
    QuickBooksSimulator,
    Settings,
    build_engine,
    connect_with_refresh_token,
)


@dataclass
class QuickBooksBooks:
    """The QuickBooks double as the demo's story acts on it (`bot.demo_ledger.Books`)."""

    sim: QuickBooksSimulator
    title: str = "QuickBooks"
    bill: str = "Bill"
    payee: str = "vendor"
    number_field: str = "DocNumber"
    failure: str = "503 on every call"

    def add_payee(self, name: str, number: str) -> None:
        """The bookkeeper creates the vendor with its account no."""
        self.sim.add_vendor(name, acct_num=number)

    def fail(self) -> None:
        """503 on every call."""
        self.sim.faults.add(PlannedFault(kind="unavailable"))

    def heal(self) -> None:
        """No more faults."""
        self.sim.faults.clear()

    def writes(self) -> int:
        """Bill creates and batch calls so far."""
        routes = self.sim.requests_by_route()
        return routes.get("POST bill", 0) + routes.get("POST batch", 0)

    def batches(self) -> int:
        """Batch calls so far."""
        return self.sim.requests_by_route().get("POST batch", 0)

    def bills_of(self, source_id: str) -> list[Bill]:
        """The Bills carrying the record's `syncbot:` marker."""
        found = self.sim.bills_by_marker().get(source_id, [])
        return [Bill(b.id, b.doc_number, b.total, b.currency) for b in found]

    def counts(self) -> dict[str, int]:
        """Bills per marker."""
        return self.sim.marker_counts()


def run_quickbooks_demo(keep: str | None = None) -> None:
    """Connect to the QuickBooks double, then fail, fix, pause, recover and retry; show each."""
    with demo_folder(keep, "QuickBooks") as folder, QuickBooksSimulator() as sim:
        settings = demo_settings(sim, folder / "syncbot-demo.db")
        _connect(sim, settings)
        with build_engine(settings) as engine:
            tell(QuickBooksBooks(sim), engine, folder)


def demo_settings(sim: QuickBooksSimulator, database: Path) -> Settings:
    """Settings for the ledger `quickbooks` on the double, with a fresh SYNCBOT_SECRET_KEY."""
    oauth = sim.authority.config
    return Settings(
        **common_settings(database),
        ledger="quickbooks",
        qbo_api_base_url=sim.url,
        qbo_auth_url=sim.url + sim.oauth.paths.authorize,
        qbo_token_url=sim.url + sim.oauth.paths.token,
        qbo_revoke_url=sim.url + sim.oauth.paths.revoke,
        qbo_client_id=oauth.client_id,
        qbo_client_secret=oauth.client_secret,
        qbo_realm_id=sim.realm_id,
        qbo_account_reimbursement=ACCOUNTS[0][1],
        qbo_account_honorarium=ACCOUNTS[1][1],
        # Demo-only, said aloud at the start: a send left unanswered is looked up at once
        # (default: after 180 s, once QuickBooks has settled).
        qbo_settle_seconds=0.0,
    )


def _connect(sim: QuickBooksSimulator, settings: Settings) -> None:
    """Set up the company as its bookkeeper has, then connect as `syncbot connect` does."""
    rule("0. Connect syncbot to the QuickBooks company")
    sim.add_company(sim.realm_id, name=COMPANY)
    for name, number in ACCOUNTS:
        sim.add_account(name, acct_num=number)
    for payee_id, payee_name in KNOWN:
        sim.add_vendor(payee_name, acct_num=payee_id)
    double = f"QuickBooks double (with its OAuth endpoints) on {sim.url}; realm id {sim.realm_id}"
    introduce(double, "vendor", "QBO_SETTLE_SECONDS")
    # A refresh token from the double's Playground-style grant, then the real headless path
    # of `syncbot connect quickbooks --refresh-token`: a refresh proves it, the rotated tokens
    # are stored encrypted, the company is probed.
    granted = sim.grant()
    connected = connect_with_refresh_token(
        settings, settings.ledger, granted.refresh_token, sim.realm_id
    )
    say(f"connected to QuickBooks company {connected.company_name} (realm id {sim.realm_id})")
    say(f"Bills booked so far: {len(sim.bills())}; token refreshes: {sim.authority.refreshes}")
