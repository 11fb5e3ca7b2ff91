"""Uncertain writes against the Xero double (contract sections 5 and 6): a write whose outcome
is unknown is resent identically under its key inside the key window, else looked up by its
InvoiceNumber once settled, and sent under the next generation only if nothing was booked."""

from __future__ import annotations

import json
import time

import httpx

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.xero.invoices import idempotency_key
from sync_engine.xero_sim import XeroFault
from tests.integration.xero_harness import Recording, XeroRig, record, xero

__all__ = ["xero"]


def _wait_for_bill(rig: XeroRig, number: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while number not in rig.sim.bills_by_number():
        assert time.monotonic() < deadline, "the double never booked the late bill"
        time.sleep(0.05)


def test_book_then_500_is_looked_up_after_settling_and_booked_once(xero: XeroRig) -> None:
    xero.sim.faults.add(XeroFault("book_then_500", count=1))
    ledger = xero.ledger()
    first = ledger.post("k1", record("RMB-1"))
    assert first.outcome == Outcome.UNCERTAIN
    assert first.error_class == ErrorClass.TRANSIENT and first.retry_after == 180.0
    assert len(xero.puts()) == 1  # a 500 is never resent under its key
    early = ledger.post("k1", record("RMB-1"))  # before the settle time: neither sent nor asked
    assert early.outcome == Outcome.UNCERTAIN and len(xero.puts()) == 1
    xero.clock.advance(seconds=180)
    settled = ledger.post("k1", record("RMB-1"))
    [bill] = xero.sim.bills_by_number()["RMB-1"]
    assert settled.outcome == Outcome.SUCCEEDED and settled.accounting_ref == bill.invoice_id
    assert len(xero.puts()) == 1
    assert ledger.lookup("k1") == bill.invoice_id


def test_book_then_drop_is_resent_identically_and_answered_from_the_key_store(
    xero: XeroRig,
) -> None:
    xero.sim.faults.add(XeroFault("book_then_drop", count=1))
    sent = Recording()
    ledger = xero.ledger(sent)
    result = ledger.post("k2", record("RMB-2"))
    assert result.outcome == Outcome.SUCCEEDED
    first, again = sent.writes()
    assert first.content == again.content
    key = idempotency_key(xero.tenant_id, "k2", 0)
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"] == key
    assert xero.sim.stats()["replays"] == 1
    assert [b.invoice_id for b in xero.sim.bills_by_number()["RMB-2"]] == [result.accounting_ref]


def test_book_late_beyond_the_client_timeout_books_once(xero: XeroRig) -> None:
    xero.sim.faults.add(XeroFault("book_late", count=1, seconds=1.2))
    ledger = xero.ledger(xero_timeout_seconds=0.5)
    result = ledger.post("k3", record("RMB-3"))
    _wait_for_bill(xero, "RMB-3")
    if result.outcome == Outcome.UNCERTAIN:  # every resend gave up before the first booked
        xero.clock.advance(seconds=180)
        result = ledger.post("k3", record("RMB-3"))
    bills = xero.sim.bills_by_number()["RMB-3"]
    assert result.outcome == Outcome.SUCCEEDED
    assert [b.invoice_id for b in bills] == [result.accounting_ref]
    keys = {r.idempotency_keys[0] for r in xero.puts()}
    assert keys == {idempotency_key(xero.tenant_id, "k3", 0)}


def test_past_the_window_a_booked_bill_is_found_and_never_sent_again(xero: XeroRig) -> None:
    xero.sim.faults.add(XeroFault("book_late", count=1, seconds=1.0))
    ledger = xero.ledger(xero_timeout_seconds=0.4, xero_key_window_seconds=0)
    lost = ledger.post("k4", record("RMB-4"))
    assert lost.outcome == Outcome.UNCERTAIN and lost.retry_after == 180.0
    _wait_for_bill(xero, "RMB-4")
    xero.clock.advance(seconds=181)
    found = ledger.post("k4", record("RMB-4"))
    [bill] = xero.sim.bills_by_number()["RMB-4"]
    assert found.outcome == Outcome.SUCCEEDED and found.accounting_ref == bill.invoice_id
    assert len(xero.puts()) == 1


def test_past_the_window_nothing_booked_is_sent_under_the_next_generation(xero: XeroRig) -> None:
    xero.sim.faults.add(XeroFault("offline", count=4))  # 503 before booking, every resend too
    ledger = xero.ledger()
    first = ledger.post("k5", record("RMB-5"))
    assert first.outcome == Outcome.UNCERTAIN
    assert len(xero.puts()) == 4  # the first send and 3 identical resends
    assert {r.idempotency_keys[0] for r in xero.puts()} == {
        idempotency_key(xero.tenant_id, "k5", 0)
    }
    xero.clock.advance(seconds=301)  # past the key window and the settle time
    booked = ledger.post("k5", record("RMB-5"))
    assert booked.outcome == Outcome.SUCCEEDED
    last = xero.puts()[-1]
    assert last.idempotency_keys == [idempotency_key(xero.tenant_id, "k5", 1)]
    assert xero.sim.number_counts() == {"RMB-5": 1}
    assert xero.sim.requests_by_route()["GET Invoices"] == 1  # looked up before the new send


class DropElement(httpx.HTTPTransport):
    """The real transport, leaving one InvoiceNumber's element out of write answers."""

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "PUT":
            return response
        body = json.loads(response.read())
        body["Invoices"] = [e for e in body["Invoices"] if e["InvoiceNumber"] != self.number]
        return httpx.Response(response.status_code, headers=response.headers, json=body)


def test_a_batch_element_missing_is_uncertain_and_settled_alone(xero: XeroRig) -> None:
    ledger = xero.ledger(DropElement("RMB-7"))
    items = [(f"k{i}", record(f"RMB-{i}")) for i in (6, 7, 8)]
    results = ledger.post_batch(items)
    assert [r.outcome for r in results] == [Outcome.SUCCEEDED, Outcome.UNCERTAIN, Outcome.SUCCEEDED]
    assert results[1].retry_after == 180.0
    xero.clock.advance(seconds=180)
    [settled] = ledger.post_batch([items[1]])
    [bill] = xero.sim.bills_by_number()["RMB-7"]
    assert settled.outcome == Outcome.SUCCEEDED and settled.accounting_ref == bill.invoice_id
    assert len(xero.puts()) == 1
    assert xero.sim.number_counts() == {"RMB-6": 1, "RMB-7": 1, "RMB-8": 1}
