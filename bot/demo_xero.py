"""`syncbot demo --ledger xero`: the whole loop offline, on SQLite and the Xero double.

The demo connects as a person would (`syncbot connect xero --refresh-token`, with a token from
the double's grant and a throwaway SYNCBOT_SECRET_KEY), then tells the story every OAuth
ledger's demo tells (bot/demo_ledger.py): a payee with no contact, the bookkeeper adding it,
Retry Selected; an outage (Xero "offline") and Retry All. It ends with one line counting the
bills the double holds per record (tests/integration/test_demo_xero.py reads it).
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
from sync_engine import Settings, XeroFault, XeroSimulator, build_engine, connect_with_refresh_token

API, CONNECTIONS = "/api.xro/2.0", "/connections"  # Xero's paths, which the double serves


@dataclass
class XeroBooks:
    """The Xero double as the demo's story acts on it (`bot.demo_ledger.Books`).

    The demo's source ids are valid InvoiceNumbers as they are, so bills are found by them.
    """

    sim: XeroSimulator
    title: str = "Xero"
    bill: str = "bill"
    payee: str = "contact"
    number_field: str = "InvoiceNumber"
    failure: str = "503 Organisation offline on every bill write"

    def add_payee(self, name: str, number: str) -> None:
        """The bookkeeper adds the contact with its account number."""
        self.sim.org().add_contact(name, account_number=number)

    def fail(self) -> None:
        """Every invoice write answers 503 "Organisation offline"."""
        self.sim.faults.add(XeroFault(kind="offline"))

    def heal(self) -> None:
        """No more faults."""
        self.sim.faults.clear()

    def writes(self) -> int:
        """Invoice writes so far (Xero has one endpoint for one bill and for many)."""
        return len(self._writes())

    def batches(self) -> int:
        """Invoice writes carrying more than one bill."""
        return sum(1 for numbers in self._writes() if len(numbers) > 1)

    def bills_of(self, source_id: str) -> list[Bill]:
        """The bills numbered with the record's source id."""
        found = self.sim.bills_by_number().get(source_id, [])
        return [Bill(b.invoice_id, b.number, b.total, b.currency) for b in found]

    def counts(self) -> dict[str, int]:
        """Bills per InvoiceNumber."""
        return self.sim.number_counts()

    def _writes(self) -> list[list[str]]:
        return [
            r.source_ids
            for r in self.sim.requests()
            if r.method in ("PUT", "POST") and r.path.rstrip("/").endswith("/Invoices")
        ]


def run_xero_demo(keep: str | None = None) -> None:
    """Connect to the Xero double, then fail, fix, pause, recover and retry; show each."""
    with demo_folder(keep, "Xero") as folder, XeroSimulator() as sim:
        settings = demo_settings(sim, folder / "syncbot-demo.db")
        _connect(sim, settings)
        with build_engine(settings) as engine:
            tell(XeroBooks(sim), engine, folder)


def demo_settings(sim: XeroSimulator, database: Path) -> Settings:
    """Settings for the ledger `xero` on the double, with a fresh SYNCBOT_SECRET_KEY."""
    oauth = sim.authority.config
    return Settings(
        **common_settings(database),
        ledger="xero",
        xero_api_base_url=sim.url + API,
        xero_connections_url=sim.url + CONNECTIONS,
        xero_auth_url=sim.url + sim.oauth.paths.authorize,
        xero_token_url=sim.url + sim.oauth.paths.token,
        xero_client_id=oauth.client_id,
        xero_client_secret=oauth.client_secret,
        xero_tenant_id=sim.tenant_id,
        xero_account_reimbursement=ACCOUNTS[0][1],
        xero_account_honorarium=ACCOUNTS[1][1],
        # Demo-only, said aloud at the start: a send left unanswered is looked up at once
        # (default: after 180 s).
        xero_settle_seconds=0.0,
    )


def _connect(sim: XeroSimulator, settings: Settings) -> None:
    """Set up the organisation as its bookkeeper has, then connect as `syncbot connect` does."""
    rule("0. Connect syncbot to the Xero organisation")
    org = sim.org()
    org.name = COMPANY
    for connection in sim.connections():
        connection.tenant_name = COMPANY
    for name, code in ACCOUNTS:
        org.add_account(code, name)
    for payee_id, payee_name in KNOWN:
        org.add_contact(payee_name, account_number=payee_id)
    double = f"Xero double (with its identity endpoints) on {sim.url}; tenant id {sim.tenant_id}"
    introduce(double, "contact", "XERO_SETTLE_SECONDS")
    # A refresh token from the double's grant, then the real headless path of `syncbot connect
    # xero --refresh-token`: a refresh proves it, the rotated tokens are stored encrypted, the
    # organisation is probed.
    granted = sim.grant()
    connected = connect_with_refresh_token(
        settings, settings.ledger, granted.refresh_token, sim.tenant_id
    )
    say(f"connected to Xero organisation {connected.company_name} (tenant id {sim.tenant_id})")
    say(f"bills booked so far: {len(sim.bills())}; token refreshes: {sim.authority.refreshes}")
