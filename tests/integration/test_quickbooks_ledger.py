"""The QuickBooks adapter posting single Bills to the double over real HTTP (contract 2-4, 9)."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.credentials import QUICKBOOKS, Tokens, connect, connection_statuses
from sync_engine.errors import GatewayUnreachable
from sync_engine.quickbooks.messages import AUTH_EXPIRED
from sync_engine.quickbooks_sim import PlannedFault
from sync_engine.secret_box import SecretBox
from tests.integration.qbo_harness import SECRET_KEY, Qbo, Recording, qbo, record

__all__ = ["qbo"]


def test_probe_names_the_company(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    assert ledger.probe() == qbo.sim.company().name


def test_one_record_is_one_bill_with_its_marker_and_exact_amount(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    result = ledger.post("key-1", record())
    assert result.outcome == Outcome.SUCCEEDED, result
    [bill] = qbo.bills_of("RMB-2026-0142")
    assert result.accounting_ref == bill.id
    assert bill.doc_number == "RMB-2026-0142"
    assert bill.total == Decimal("42.50")
    assert bill.vendor_id == qbo.vendor.id
    assert bill.private_note.startswith("syncbot:RMB-2026-0142 | reimbursement | approved ")
    assert str(bill.txn_date) == "2026-11-20"
    assert ledger.lookup("key-1") == bill.id
    assert ledger.lookup("never-sent") is None


def test_the_wire_carries_exact_decimals_and_the_required_headers(qbo: Qbo) -> None:
    wire = Recording()
    qbo.ledger(transport=wire).post("key-1", record())
    [sent] = wire.writes()
    assert b'"Amount":42.50' in sent.content
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert sent.url.params["minorversion"] == "75"
    assert len(sent.url.params["requestid"]) == 36
    body = json.loads(sent.content, parse_float=Decimal)
    assert "TotalAmt" not in body and body["DueDate"] == "2026-11-20"
    assert "CurrencyRef" not in body  # multicurrency off: the home currency


def test_usd_and_jpy_amounts_are_exact_in_the_bill(qbo: Qbo) -> None:
    qbo.sim.company().multicurrency = True
    qbo.sim.add_vendor("Taro Yamada", acct_num="VOL-JP", currency="JPY")
    ledger = qbo.ledger()
    usd = ledger.post("key-usd", record("RMB-USD", amount=Decimal("1234567.89")))
    jpy = ledger.post(
        "key-jpy",
        record(
            "RMB-JPY",
            amount=Decimal("15000"),
            currency="JPY",
            payee_id="VOL-JP",
            payee_name="Taro Yamada",
        ),
    )
    assert usd.outcome == jpy.outcome == Outcome.SUCCEEDED, (usd, jpy)
    [usd_bill], [jpy_bill] = qbo.bills_of("RMB-USD"), qbo.bills_of("RMB-JPY")
    assert (usd_bill.total, usd_bill.currency) == (Decimal("1234567.89"), "USD")
    assert (jpy_bill.total, jpy_bill.currency) == (Decimal("15000"), "JPY")


def test_a_currency_other_than_home_with_multicurrency_off_is_refused_before_sending(
    qbo: Qbo,
) -> None:
    result = qbo.ledger().post("key-1", record(currency="EUR"))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "multicurrency off" in (result.error or "")
    assert "POST bill" not in qbo.sim.requests_by_route()


def test_a_three_decimal_currency_is_refused_before_sending(qbo: Qbo) -> None:
    qbo.sim.company().multicurrency = True
    result = qbo.ledger().post("key-1", record(currency="KWD", amount=Decimal("1.500")))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "POST bill" not in qbo.sim.requests_by_route()


def test_a_long_source_id_gets_a_hashed_doc_number_and_its_marker(qbo: Qbo) -> None:
    source_id = "VOLUNTEER-REIMBURSEMENT-2026-000142"
    assert qbo.ledger().post("key-1", record(source_id)).outcome == Outcome.SUCCEEDED
    [bill] = qbo.bills_of(source_id)
    assert bill.doc_number is not None and len(bill.doc_number) == 21
    assert bill.doc_number.startswith("VOLUNTEER-")


def test_batches_book_one_bill_per_record_matched_by_bid(qbo: Qbo) -> None:
    wire = Recording()
    items = [(f"key-{n}", record(f"RMB-{n}", amount=Decimal(f"{n}.05"))) for n in range(1, 8)]
    results = qbo.ledger(transport=wire).post_batch(items)
    assert [r.outcome for r in results] == [Outcome.SUCCEEDED] * 7
    bills = {b.marker: b for b in qbo.sim.bills()}
    for (_, posting), result in zip(items, results, strict=True):
        assert bills[posting.source_id].id == result.accounting_ref
        assert bills[posting.source_id].total == posting.amount
    [batch] = wire.writes()
    assert batch.url.path.endswith("/batch") and len(batch.url.params["requestid"]) == 36


def test_a_batch_too_large_for_quickbooks_is_split(qbo: Qbo) -> None:
    qbo.sim.set_config(max_batch=2)
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 6)]
    results = qbo.ledger().post_batch(items)
    assert all(r.outcome == Outcome.SUCCEEDED for r in results), results
    assert qbo.sim.marker_counts() == {f"RMB-{n}": 1 for n in range(1, 6)}


def test_a_throttled_batch_books_nothing_and_fails_transient(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="throttle", routes=("batch",), retry_after=3, count=1))
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 4)]
    results = qbo.ledger().post_batch(items)
    assert {(r.outcome, r.error_class, r.retry_after) for r in results} == {
        (Outcome.FAILED, ErrorClass.TRANSIENT, 3)
    }
    assert qbo.sim.bills() == []


def test_a_batch_item_refused_is_its_own_failure(qbo: Qbo) -> None:
    qbo.sim.company().closed_through = date(2026, 11, 19)
    items = [
        ("key-1", record("RMB-1")),
        ("key-2", record("RMB-2", approved_at=datetime(2026, 11, 1, tzinfo=UTC))),
    ]
    first, second = qbo.ledger().post_batch(items)
    assert first.outcome == Outcome.SUCCEEDED
    assert second.error_class == ErrorClass.NEEDS_ATTENTION
    assert "books are closed for 2026-11-19" in (second.error or "")


def test_an_access_token_expiring_mid_run_is_refreshed_once(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    assert ledger.post("key-1", record("RMB-1")).outcome == Outcome.SUCCEEDED
    qbo.sim.authority.expire_access_tokens()
    assert ledger.post("key-2", record("RMB-2")).outcome == Outcome.SUCCEEDED
    assert qbo.sim.authority.refreshes == 1
    # Rotation: the next refresh presents the newest refresh token (the old one is retired).
    qbo.sim.authority.expire_access_tokens()
    assert ledger.post("key-3", record("RMB-3")).outcome == Outcome.SUCCEEDED
    assert qbo.sim.authority.refreshes == 2
    [status] = connection_statuses(qbo.database)
    assert (status.state, status.generation) == ("connected", 3)


def test_a_restart_uses_the_stored_token(qbo: Qbo) -> None:
    assert qbo.ledger().post("key-1", record("RMB-1")).outcome == Outcome.SUCCEEDED
    qbo.sim.authority.expire_access_tokens()
    assert qbo.ledger().post("key-2", record("RMB-2")).outcome == Outcome.SUCCEEDED
    assert qbo.sim.authority.refreshes == 1
    restarted = qbo.ledger()  # a new process: the database's token, no refresh
    assert restarted.post("key-3", record("RMB-3")).outcome == Outcome.SUCCEEDED
    assert restarted.probe() == qbo.sim.company().name
    assert qbo.sim.authority.refreshes == 1


def test_a_revoked_connection_is_auth_and_marks_reconnect_required(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    qbo.sim.authority.revoke_all()
    qbo.sim.authority.expire_access_tokens()
    result = ledger.post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.FAILED, ErrorClass.AUTH)
    assert AUTH_EXPIRED in (result.error or "")
    [status] = connection_statuses(qbo.database)
    assert status.state == "reconnect_required"
    with pytest.raises(GatewayUnreachable):
        ledger.probe()


def test_a_burst_from_many_threads_stays_under_the_limits(qbo: Qbo) -> None:
    qbo.sim.set_config(concurrency=2, latency_seconds=0.05)
    ledger = qbo.ledger(qbo_concurrency=2, qbo_rate_per_second=8, qbo_rate_per_minute=400)
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 25)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda item: ledger.post(*item), items))
    assert all(r.outcome == Outcome.SUCCEEDED for r in results), results
    assert qbo.sim.stats()["rate_limited"] == 0
    assert len(qbo.sim.bills()) == 24


def test_a_401_on_a_batch_refreshes_and_resends_the_identical_batch(qbo: Qbo) -> None:
    qbo.sim.faults.add(
        PlannedFault(
            kind="fault",
            routes=("batch",),
            status=401,
            type="AuthenticationFault",
            code="3200",
            count=1,
        )
    )
    wire = Recording()
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 4)]
    results = qbo.ledger(transport=wire).post_batch(items)
    assert all(r.outcome == Outcome.SUCCEEDED for r in results), results
    first, second = wire.writes()
    assert first.url.params["requestid"] == second.url.params["requestid"]
    assert first.content == second.content
    assert first.headers["Authorization"] != second.headers["Authorization"]
    assert qbo.sim.marker_counts() == {"RMB-1": 1, "RMB-2": 1, "RMB-3": 1}


def test_no_token_or_secret_reaches_a_log_line(qbo: Qbo, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wire = Recording()
    ledger = qbo.ledger(transport=wire)
    qbo.sim.authority.expire_access_tokens()  # a 401, a refresh, a new token set
    qbo.sim.faults.add(PlannedFault(kind="fault", routes=("bill",), code="6000", count=1))
    ledger.post("key-1", record())
    ledger.post("key-1", record())
    tokens = {r.headers["Authorization"].removeprefix("Bearer ") for r in wire.sent}
    assert len(tokens) == 2
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "sim-client-secret" not in text
    for secret in tokens | {qbo.granted.refresh_token}:
        assert secret not in text


def test_a_realm_id_not_connected_fails_every_call_auth_and_nothing_is_sent(qbo: Qbo) -> None:
    ledger = qbo.ledger(qbo_realm_id="4620816365")
    result = ledger.post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.FAILED, ErrorClass.AUTH)
    assert "connect it first" in (result.error or "")
    with pytest.raises(GatewayUnreachable):
        ledger.probe()
    assert qbo.sim.requests_by_route() == {}


def test_a_payee_name_with_quotes_and_backslashes_is_escaped_in_the_query(qbo: Qbo) -> None:
    name = "Siobhán O'Brien \\ Co"
    vendor = qbo.sim.add_vendor(name)
    result = qbo.ledger().post("key-1", record(payee_id="VOL-77", payee_name=name))
    assert result.outcome == Outcome.SUCCEEDED, result
    assert qbo.bills_of("RMB-2026-0142")[0].vendor_id == vendor.id


def test_the_company_is_the_one_stored_and_several_need_qbo_realm_id(qbo: Qbo) -> None:
    alone = qbo.ledger(qbo_realm_id="")
    assert alone.realm_id == qbo.sim.realm_id
    assert alone.post("c1", record("RMB-C1")).outcome == Outcome.SUCCEEDED
    other = Tokens("other-access", "other-refresh", 3600.0)
    connect(qbo.database, SecretBox(SECRET_KEY), QUICKBOOKS, "4620816365", other, clock=qbo.clock)
    unsure = qbo.ledger(qbo_realm_id="")
    sent = len(qbo.sim.requests())
    result = unsure.post("c2", record("RMB-C2"))
    assert result.outcome == Outcome.FAILED and result.error_class == ErrorClass.AUTH
    assert "set QBO_REALM_ID" in (result.error or "")
    assert len(qbo.sim.requests()) == sent
    with pytest.raises(GatewayUnreachable, match="QBO_REALM_ID"):
        unsure.probe()
