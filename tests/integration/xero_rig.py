"""The Xero double behind the engine, as a `ledger_rigs.LedgerRig` (beside the QuickBooks one).

Postings fail transiently by the double's "offline" fault (503 "Organisation offline" before
anything is booked), as `needs_attention` by a payee with no active contact (missing, or
archived) or by the organisation's lock date; the double's bills are matched to records by
InvoiceNumber (`sync_engine.xero.invoices.invoice_number`), its requests by route.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Record
from sync_engine.engine import SyncEngine
from sync_engine.ledger import Ledger, make_ledger
from sync_engine.send_log import SendLog
from sync_engine.settings import Settings
from sync_engine.xero_sim import XeroFault
from tests.integration.adapter_support import Engines
from tests.integration.xero_harness import XeroRig as XeroHarness

INVOICES = "/Invoices"
LOCKED_THROUGH = date(2026, 11, 30)  # the tests' records are approved on 2026-11-20


class XeroRig:
    """The Xero double through the adapter, bills found by InvoiceNumber."""

    name = "xero"

    def __init__(self, xero: XeroHarness, vendors: int) -> None:
        self.xero, self.sim = xero, xero.sim
        self.database, self.clock = xero.database, xero.clock
        self._engines = Engines(self.database, self.clock)
        self._missing: list[str] = []
        self._archived: list[str] = []
        for n in range(1, vendors + 1):
            self.sim.org().add_contact(f"Volunteer VOL-{n}", account_number=f"VOL-{n}")

    def engine(self, **overrides: object) -> SyncEngine:
        """`build_engine` with `ACCOUNTING_LEDGER=xero` (its adapter paced on the harness's
        clock); an uncertain write is looked up at once."""
        values: dict[str, object] = {"xero_settle_seconds": 0}
        values.update(overrides)
        return self._engines.build(self.xero.settings, values, self._ledger)

    def _ledger(self, settings: Settings) -> Ledger:
        """The adapter on the harness's pacing clock: its limits hold without real sleeps."""
        skip = self.xero.time
        send_log = SendLog(self.database, self.clock)
        return make_ledger(settings, send_log=send_log, monotonic=skip.monotonic, sleep=skip.sleep)

    def close(self) -> None:
        """Close the engines made."""
        self._engines.close()

    def fail_transiently(self) -> None:
        """Every invoice write answers 503 "Organisation offline" (nothing booked)."""
        self.sim.faults.add(XeroFault(kind="offline"))

    def refuse_payee(self, payee_id: str) -> tuple[str, ...]:
        """The everyday case: the payee has no active contact (archived if it had one)."""
        org = self.sim.org()
        with org.lock:
            found = [c for c in org.contacts.values() if c.account_number == payee_id]
            for contact in found:
                contact.status = "ARCHIVED"
        if found:
            self._archived.append(payee_id)
            return ("Xero", payee_id)
        self._missing.append(payee_id)
        return (f"Xero has no active contact with account number '{payee_id}'",)

    def close_books(self) -> tuple[str, ...]:
        """The organisation's lock date covers the end of November."""
        self.sim.org().lock_date = LOCKED_THROUGH
        return (f"Xero's lock date covers {LOCKED_THROUGH.isoformat()}",)

    def heal(self) -> None:
        """No faults, no lock date, archived contacts restored, missing ones added."""
        self.sim.faults.clear()
        org = self.sim.org()
        org.lock_date = None
        with org.lock:
            for contact in org.contacts.values():
                if contact.account_number in self._archived:
                    contact.status = "ACTIVE"
        for payee_id in self._missing:
            org.add_contact(f"Volunteer {payee_id}", account_number=payee_id)
        self._missing.clear()
        self._archived.clear()

    def mark(self) -> int:
        """Requests answered so far."""
        return len(self.sim.requests())

    def sent(self, since: int = 0) -> list[str]:
        """Records of the invoices in each write (a stranger number: `?number`)."""
        names = self._source_ids()
        return [names.get(n, f"?{n}") for size in self._writes(since) for n in size]

    def batch_sizes(self, since: int = 0) -> list[int]:
        """Invoices per write: Xero has one endpoint, a single posting is a batch of one."""
        return [len(numbers) for numbers in self._writes(since)]

    def booked(self) -> dict[str, int]:
        """Bills per record, through their InvoiceNumber."""
        names = self._source_ids()
        return {names.get(n, f"?{n}"): c for n, c in self.sim.number_counts().items()}

    def references(self, source_id: str) -> list[str]:
        """The InvoiceIDs of the bills numbered for the record."""
        number = {s: n for n, s in self._source_ids().items()}[source_id]
        return [bill.invoice_id for bill in self.sim.bills_by_number().get(number, [])]

    def rate_limited(self) -> int:
        """429s answered."""
        return int(self.sim.stats()["rate_limited"])

    def _writes(self, since: int) -> list[list[str]]:
        """The InvoiceNumbers of each PUT or POST to /Invoices after `since`."""
        return [
            r.source_ids
            for r in self.sim.requests()[since:]
            if r.method in ("PUT", "POST") and r.path.rstrip("/").endswith(INVOICES)
        ]

    def _source_ids(self) -> dict[str, str]:
        from sync_engine.xero.invoices import invoice_number

        with self.database.session() as session:
            found = session.scalars(select(Record.source_id)).all()
        return {invoice_number(source_id): source_id for source_id in found}
