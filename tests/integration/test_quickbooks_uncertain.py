"""Uncertain QuickBooks writes settled by lookup (contract sections 5 and 6): exactly one Bill
per record, whatever the double does with the answer or the `requestid`."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.errors import GatewayUnreachable
from sync_engine.quickbooks_sim import PlannedFault
from tests.integration.qbo_harness import Qbo, Recording, qbo, record

__all__ = ["qbo"]


def writes(qbo: Qbo) -> int:
    """Bill creates and batches the double answered."""
    routes = qbo.sim.requests_by_route()
    return routes.get("POST bill", 0) + routes.get("POST batch", 0)


@pytest.mark.parametrize("kind", ["book_then_500", "book_then_drop"])
def test_booked_then_no_good_answer_is_settled_by_lookup(qbo: Qbo, kind: str) -> None:
    qbo.sim.faults.add(PlannedFault(kind=kind, count=1))
    ledger = qbo.ledger()
    first = ledger.post("key-1", record())
    assert (first.outcome, first.error_class) == (Outcome.UNCERTAIN, ErrorClass.TRANSIENT)
    assert first.retry_after == pytest.approx(180, abs=1)
    # Too early to look up: the attempt neither sends nor looks up.
    again = ledger.post("key-1", record())
    assert again.outcome == Outcome.UNCERTAIN and writes(qbo) == 1
    with pytest.raises(GatewayUnreachable):
        ledger.lookup("key-1")
    qbo.clock.advance(seconds=181)
    settled = ledger.post("key-1", record())
    [bill] = qbo.bills_of("RMB-2026-0142")
    assert (settled.outcome, settled.accounting_ref) == (Outcome.SUCCEEDED, bill.id)
    assert writes(qbo) == 1
    assert ledger.lookup("key-1") == bill.id


def test_booked_after_the_clients_timeout_is_settled_by_lookup(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="book_late", seconds=1.5, count=1))
    ledger = qbo.ledger(qbo_timeout_seconds=0.5)
    assert ledger.post("key-1", record()).outcome == Outcome.UNCERTAIN
    deadline = time.monotonic() + 5
    while not qbo.bills_of("RMB-2026-0142") and time.monotonic() < deadline:
        time.sleep(0.1)
    qbo.clock.advance(seconds=181)
    settled = ledger.post("key-1", record())
    assert settled.outcome == Outcome.SUCCEEDED
    assert len(qbo.bills_of("RMB-2026-0142")) == 1 and writes(qbo) == 1


def test_nothing_booked_is_sent_again_under_a_new_requestid(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="unavailable", routes=("bill",), count=1))
    wire = Recording()
    ledger = qbo.ledger(transport=wire)
    assert ledger.post("key-1", record()).outcome == Outcome.UNCERTAIN
    qbo.clock.advance(seconds=181)
    assert ledger.post("key-1", record()).outcome == Outcome.SUCCEEDED
    assert len(qbo.bills_of("RMB-2026-0142")) == 1
    rids = [r.url.params["requestid"] for r in wire.writes()]
    assert len(rids) == 2 and rids[0] != rids[1]


@pytest.mark.parametrize("mode", ["ignore", "refuse"])
def test_a_requestid_the_double_ignores_still_books_once(qbo: Qbo, mode: str) -> None:
    qbo.sim.set_config(requestid_mode=mode)
    qbo.sim.faults.add(PlannedFault(kind="book_then_500", count=1))
    qbo.sim.faults.add(PlannedFault(kind="book_then_drop", routes=("batch",), count=1))
    ledger = qbo.ledger(qbo_settle_seconds=0)
    # With no wait to keep, the adapter looks up at once: booked, never sent twice.
    result = ledger.post("key-1", record())
    assert result.outcome == Outcome.SUCCEEDED, result
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 4)]
    assert all(r.outcome == Outcome.SUCCEEDED for r in ledger.post_batch(items))
    counts = qbo.sim.marker_counts()
    assert counts == {"RMB-2026-0142": 1, "RMB-1": 1, "RMB-2": 1, "RMB-3": 1}
    assert writes(qbo) == 2


def test_a_restart_looks_up_what_a_crashed_process_sent(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="book_then_drop", count=1))
    assert qbo.ledger().post("key-1", record()).outcome == Outcome.UNCERTAIN
    qbo.ledgers[0].close()
    qbo.clock.advance(seconds=200)
    restarted = qbo.ledger()  # a new process: only the database remembers the send
    assert restarted.post("key-1", record()).outcome == Outcome.SUCCEEDED
    assert len(qbo.bills_of("RMB-2026-0142")) == 1 and writes(qbo) == 1


def test_a_bill_edited_by_hand_needs_attention_and_is_never_resent(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="book_then_500", count=1))
    ledger = qbo.ledger()
    assert ledger.post("key-1", record()).outcome == Outcome.UNCERTAIN
    [bill] = qbo.bills_of("RMB-2026-0142")
    bill.entity["TotalAmt"] = Decimal("40.00")  # the bookkeeper edits it meanwhile
    qbo.clock.advance(seconds=181)
    for _ in range(2):
        result = ledger.post("key-1", record())
        assert (result.outcome, result.error_class) == (Outcome.FAILED, "needs_attention")
        assert f"QuickBooks has Bill {bill.id} for RMB-2026-0142, but its TotalAmt" in (
            result.error or ""
        )
    assert len(qbo.bills_of("RMB-2026-0142")) == 1 and writes(qbo) == 1


def test_a_batch_item_missing_from_the_answer_is_settled(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="item_missing", doc_numbers=("RMB-2",), book=True))
    qbo.sim.faults.add(PlannedFault(kind="item_system_fault", doc_numbers=("RMB-3",)))
    ledger = qbo.ledger()
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 5)]
    results = ledger.post_batch(items)
    assert [r.outcome for r in results] == [
        Outcome.SUCCEEDED,
        Outcome.UNCERTAIN,
        Outcome.UNCERTAIN,
        Outcome.SUCCEEDED,
    ]
    qbo.sim.faults.clear()
    qbo.clock.advance(seconds=181)
    again = ledger.post_batch(items[1:3])  # the engine sends again only what is not settled
    assert all(r.outcome == Outcome.SUCCEEDED for r in again), again
    assert qbo.sim.marker_counts() == {f"RMB-{n}": 1 for n in range(1, 5)}
    assert writes(qbo) == 1  # both were found booked: nothing sent again


def test_a_batch_without_an_answer_settles_each_item(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault(kind="book_then_drop", routes=("batch",), count=1))
    ledger = qbo.ledger()
    items = [(f"key-{n}", record(f"RMB-{n}")) for n in range(1, 4)]
    assert all(r.outcome == Outcome.UNCERTAIN for r in ledger.post_batch(items))
    qbo.clock.advance(seconds=181)
    assert all(r.outcome == Outcome.SUCCEEDED for r in ledger.post_batch(items))
    assert qbo.sim.marker_counts() == {f"RMB-{n}": 1 for n in range(1, 4)}
