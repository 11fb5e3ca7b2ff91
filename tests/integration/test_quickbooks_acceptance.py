"""What only QuickBooks has, end to end through `build_engine` with `ACCOUNTING_LEDGER=quickbooks`
against the QuickBooks double: the engine sees only the port; the double's Bills prove it. The
six acceptance criteria themselves run on every ledger in test_acceptance.py."""

from __future__ import annotations

from sync_engine.quickbooks_sim import PlannedFault
from tests.conftest import posting
from tests.integration.ledger_rigs import QuickBooksRig, qbo, quickbooks_rig, records

__all__ = ["qbo", "quickbooks_rig"]  # fixtures


def test_the_everyday_case_vendor_created_then_retry_selected_books(
    quickbooks_rig: QuickBooksRig,
) -> None:
    qbo = quickbooks_rig.qbo
    engine = quickbooks_rig.engine()
    engine.submit([posting(7, payee_id="VOL-700", kind="honorarium")])
    engine.sync(requested_by="tester", via="cli")
    assert engine.list_failed().items[0].error_class == "needs_attention"
    qbo.sim.add_vendor("Volunteer VOL-700")  # the bookkeeper creates it (by name)
    result = engine.retry_selected(["HON-2026-0007"], requested_by="U1", via="slack")
    [bill] = qbo.bills_of("HON-2026-0007")
    assert result.succeeded[0].accounting_ref == bill.id
    assert engine.list_failed().total == 0


def test_uncertain_postings_wait_to_be_looked_up_and_never_duplicate(
    quickbooks_rig: QuickBooksRig,
) -> None:
    qbo = quickbooks_rig.qbo
    engine = quickbooks_rig.engine(qbo_settle_seconds=180)
    engine.submit(records(3))
    qbo.sim.faults.add(PlannedFault(kind="book_then_500", routes=("batch",), count=1))
    engine.sync(requested_by="tester", via="cli")
    assert engine.list_failed().total == 3
    assert all(row.error_class == "transient" for row in engine.list_failed().items)
    # A manual retry before the settle time neither sends nor books.
    engine.retry_all(requested_by="U1", via="cli")
    assert qbo.sim.requests_by_route().get("POST batch") == 1
    qbo.clock.advance(seconds=200)
    result = engine.retry_all(requested_by="U1", via="cli")
    assert len(result.succeeded) == 3
    assert qbo.sim.marker_counts() == {"HON-2026-0001": 1, "RMB-2026-0002": 1, "HON-2026-0003": 1}
    assert qbo.sim.requests_by_route().get("POST batch") == 1


def test_a_revoked_connection_parks_records_and_reconnecting_books_them(
    quickbooks_rig: QuickBooksRig,
) -> None:
    qbo = quickbooks_rig.qbo
    engine = quickbooks_rig.engine()
    engine.submit(records(3))
    qbo.sim.authority.revoke_all()  # the company disconnected the app
    qbo.sim.authority.expire_access_tokens()
    engine.sync(requested_by="tester", via="cli")
    failed = engine.list_failed().items
    assert {row.error_class for row in failed} == {"auth"} and len(failed) == 3
    assert "reconnect syncbot to QuickBooks" in (failed[0].last_error or "")
    assert engine.outage() is not None and qbo.sim.bills() == []

    qbo.connect()  # `syncbot connect quickbooks` stores a new token set
    qbo.clock.advance(hours=1)  # the outage's next probe is due
    engine.sync(requested_by="scheduler", via="scheduler")
    qbo.clock.advance(hours=1)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert engine.outage() is None
    assert qbo.sim.marker_counts() == {"HON-2026-0001": 1, "RMB-2026-0002": 1, "HON-2026-0003": 1}
    assert engine.list_failed().total == 0
