"""The Xero adapter against the Xero double over real HTTP: postings, batches, contacts and
accounts (contract sections 2, 3, 4 and 6)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.errors import GatewayUnreachable
from sync_engine.xero.invoices import idempotency_key, invoice_number
from sync_engine.xero_sim import XeroFault
from tests.integration.xero_harness import Recording, XeroRig, record, xero
from tests.xero_example import example_body

__all__ = ["xero"]


def test_one_bill_per_record_with_exact_fields_in_usd_and_jpy(xero: XeroRig) -> None:
    xero.sim.org().currencies.add("JPY")
    sent = Recording()
    ledger = xero.ledger(sent)
    usd = ledger.post("key-usd", record("RMB-2026-0142"))
    jpy = ledger.post(
        "key-jpy",
        record("HON-2026-0007", kind="honorarium", amount=Decimal("5000"), currency="JPY"),
    )
    assert usd.outcome == Outcome.SUCCEEDED and jpy.outcome == Outcome.SUCCEEDED
    bills = xero.sim.bills_by_number()
    assert [b.invoice_id for b in bills["RMB-2026-0142"]] == [usd.accounting_ref]
    assert [b.invoice_id for b in bills["HON-2026-0007"]] == [jpy.accounting_ref]
    assert bills["HON-2026-0007"][0].total == Decimal("5000")
    first, second = sent.writes()
    text = first.content.decode()
    assert '"UnitAmount":42.50' in text.replace(" ", "")
    assert '"UnitAmount":5000' in second.content.decode().replace(" ", "")
    body = json.loads(text, parse_float=Decimal)
    assert body == example_body(xero.contact.contact_id)
    assert first.url.params["summarizeErrors"] == "false"
    assert first.headers["Idempotency-Key"] == idempotency_key(xero.tenant_id, "key-usd", 0)
    for request in sent.sent:
        assert request.headers["Authorization"].startswith("Bearer ")
        assert request.headers["xero-tenant-id"] == xero.tenant_id
        assert request.headers["Accept"] == "application/json"
    assert xero.sim.stats()["contacts_created"] == 0


def test_batch_with_a_refused_item_and_shuffled_elements(xero: XeroRig) -> None:
    xero.sim.set_config(seed=7)
    xero.sim.faults.add(XeroFault("shuffle", count=1))
    sent = Recording()
    ledger = xero.ledger(sent)
    items = [(f"k{i}", record(f"RMB-{i}", amount=Decimal(f"{i}.25"))) for i in range(1, 6)]
    items[2] = ("k3", record("RMB-3", currency="EUR"))  # not enabled: the element is an ERROR
    results = ledger.post_batch(items)
    assert len(sent.writes()) == 1  # one request for the batch
    assert [r.idempotency_key for r in results] == ["k1", "k2", "k3", "k4", "k5"]
    refused = results[2]
    assert refused.outcome == Outcome.FAILED
    assert refused.error_class == ErrorClass.NEEDS_ATTENTION
    assert "Xero refused the bill for RMB-3" in (refused.error or "")
    bills = xero.sim.bills_by_number()
    for (_, posting), result in zip(items, results, strict=True):
        if posting.source_id == "RMB-3":
            assert "RMB-3" not in bills
            continue
        assert result.outcome == Outcome.SUCCEEDED
        assert [b.invoice_id for b in bills[posting.source_id]] == [result.accounting_ref]
        assert bills[posting.source_id][0].total == posting.amount
    # The refusal moved the key to its next generation: a retry is a new request.
    entry = ledger.log.entry(ledger.scope, "k3")
    assert entry is not None and entry.generation == 1 and entry.answered


def test_a_missing_contact_is_never_created_and_the_retry_books_once_added(xero: XeroRig) -> None:
    ledger = xero.ledger()
    posting = record("RMB-9", payee_id="VOL-99", payee_name="Sam Lee")
    missed = ledger.post("k9", posting)
    assert missed.outcome == Outcome.FAILED
    assert missed.error_class == ErrorClass.NEEDS_ATTENTION
    assert missed.error == (
        "Xero has no active contact with account number 'VOL-99' or name 'Sam Lee': add the"
        " contact in Xero (enter VOL-99 as its account number), then retry."
    )
    assert xero.puts() == [] and xero.sim.stats()["contacts_created"] == 0
    sam = xero.sim.org().add_contact("Sam Lee")  # found by name, no account number
    booked = ledger.post("k9", posting)
    assert booked.outcome == Outcome.SUCCEEDED
    [bill] = xero.sim.bills_by_number()["RMB-9"]
    assert bill.contact.contact_id == sam.contact_id
    assert xero.sim.stats()["contacts_created"] == 0


def test_contacts_are_rechecked_archived_ones_skipped_and_ids_cached(xero: XeroRig) -> None:
    org = xero.sim.org()
    org.add_contact("Ann Poe", account_number="VOL-7", status="ARCHIVED")
    ledger = xero.ledger()
    gone = ledger.post("k7", record("RMB-7", payee_id="VOL-7", payee_name="Ann Poe"))
    assert gone.error_class == ErrorClass.NEEDS_ATTENTION and xero.puts() == []
    quoted = ledger.post("kq", record("RMB-8", payee_id='VOL"8', payee_name='Jane "JD" Doe'))
    assert quoted.error_class == ErrorClass.NEEDS_ATTENTION  # no escape: both steps skipped
    before = xero.sim.requests_by_route().get("GET Contacts", 0)
    for i in range(3):
        assert ledger.post(f"c{i}", record(f"RMB-C{i}")).outcome == Outcome.SUCCEEDED
    assert xero.sim.requests_by_route()["GET Contacts"] == before + 1  # then cached


def test_an_unknown_or_archived_account_is_needs_attention_and_nothing_is_sent(
    xero: XeroRig,
) -> None:
    xero.sim.org().add_account("6200", "Old travel", status="ARCHIVED")
    xero.sim.org().add_account("1000", "Checking", type="BANK")
    ledger = xero.ledger()
    for code in ("7777", "6200", "1000"):
        result = ledger.post(f"a{code}", record(f"RMB-A{code}", account_code=code))
        assert result.outcome == Outcome.FAILED
        assert result.error_class == ErrorClass.NEEDS_ATTENTION
        assert result.error == (
            f"Xero has no active account with code '{code}': fix the account code on"
            f" RMB-A{code} or Xero's chart of accounts, then retry."
        )
    assert xero.puts() == []


def test_a_long_source_id_gets_a_derived_number_and_probe_names_the_organisation(
    xero: XeroRig,
) -> None:
    ledger = xero.ledger()
    assert ledger.probe() == "Demo Company (US)"
    source_id = "expense/2026 #42 " + "x" * 90
    result = ledger.post("long", record(source_id))
    assert result.outcome == Outcome.SUCCEEDED
    number = invoice_number(source_id)
    assert number.startswith("SB~") and xero.sim.number_counts() == {number: 1}
    assert ledger.lookup("long") == result.accounting_ref
    assert ledger.lookup("never-sent") is None


def test_the_tenant_is_the_one_stored_and_several_need_xero_tenant_id(xero: XeroRig) -> None:
    alone = xero.ledger(xero_tenant_id="")
    assert alone.tenant_id == xero.tenant_id
    assert alone.post("t1", record("RMB-T1")).outcome == Outcome.SUCCEEDED
    second = xero.sim.add_organisation("Other Org")
    xero.connect(second.tenant_id)
    unsure = xero.ledger(xero_tenant_id="")
    sent = len(xero.sim.requests())
    result = unsure.post("t2", record("RMB-T2"))
    assert result.outcome == Outcome.FAILED and result.error_class == ErrorClass.AUTH
    assert "set XERO_TENANT_ID" in (result.error or "")
    assert len(xero.sim.requests()) == sent


def test_a_403_for_an_organisation_no_longer_connected_says_so(xero: XeroRig) -> None:
    ledger = xero.ledger()
    [connection] = xero.sim.connections()
    xero.sim.disconnect(connection.id)
    result = ledger.post("d1", record("RMB-D1"))
    assert result.outcome == Outcome.FAILED and result.error_class == ErrorClass.AUTH
    assert (result.error or "").startswith(
        "Xero organisation 'Demo Company (US)' is no longer connected to syncbot: reconnect it."
    )
    xero.sim.connect()
    wrong = "00000000-0000-4000-8000-000000000000"
    xero.connect_as(wrong)
    other = xero.ledger(xero_tenant_id=wrong)
    denied = other.post("d2", record("RMB-D2"))  # a tenant id the connections do not list
    assert denied.error_class == ErrorClass.AUTH and denied.http_status == 403
    assert f"Xero organisation '{wrong}' is no longer connected" in (denied.error or "")
    assert xero.sim.bills() == []


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(xero: XeroRig) -> None:
    ledger = xero.ledger()
    xero.sim.advance(1900)  # the double's access token has expired; the stored one looks valid
    result = ledger.post("r1", record("RMB-R1"))
    assert result.outcome == Outcome.SUCCEEDED
    assert xero.sim.stats()["refreshes"] == 1
    assert xero.sim.number_counts() == {"RMB-R1": 1}


def test_probe_failures_are_gateway_unreachable(xero: XeroRig) -> None:
    ledger = xero.ledger()
    [connection] = xero.sim.connections()
    xero.sim.disconnect(connection.id)
    with pytest.raises(GatewayUnreachable):
        ledger.probe()
    with pytest.raises(GatewayUnreachable):
        xero.ledger(xero_api_base_url="http://127.0.0.1:9/api.xro/2.0").probe()
