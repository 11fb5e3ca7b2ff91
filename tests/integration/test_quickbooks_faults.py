"""Every fault row of the QuickBooks contract's section 7, through the adapter and the double:
its class, its outcome and the admin's message, with Intuit's code and Detail kept."""

from __future__ import annotations

from datetime import date

import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.quickbooks.messages import ADMIN_LOST, AUTH_EXPIRED, NOT_FOUND, SUBSCRIPTION
from sync_engine.quickbooks_sim import PlannedFault
from tests.integration.qbo_harness import Qbo, qbo, record

__all__ = ["qbo"]


def plan(**fields: object) -> PlannedFault:
    """A fault on Bill creates only (queries and lookups answer normally)."""
    return PlannedFault(routes=("bill",), **fields)  # type: ignore[arg-type]


def fields(**given: object) -> dict[str, object]:
    """A fault's fields (each test builds its own fault: the plan counts them down)."""
    return given


# (fault, class, words of the admin's message, words of Intuit's kept in the text)
REFUSALS = [
    (
        fields(kind="fault", code="6000", detail="Vendor 1099 needs a tax id"),
        ErrorClass.NEEDS_ATTENTION,
        "QuickBooks refused the Bill for RMB-2026-0142: Vendor 1099 needs a tax id",
        "ValidationFault 6000",
    ),
    (
        fields(kind="fault", code="2050", detail="String length is too long: DocNumber"),
        ErrorClass.NEEDS_ATTENTION,
        "(a syncbot or data bug)",
        "2050",
    ),
    (
        fields(kind="fault", code="2020", detail="Required parameter Line is missing"),
        ErrorClass.NEEDS_ATTENTION,
        "Required parameter Line is missing",
        "2020",
    ),
    (
        fields(kind="fault", status=403, type="AuthorizationFault", code="120", detail="no"),
        ErrorClass.AUTH,
        ADMIN_LOST,
        "HTTP 403",
    ),
    (
        fields(kind="fault", status=403, type="AuthorizationFault", code="3100", detail="no"),
        ErrorClass.AUTH,
        ADMIN_LOST,
        "3100",
    ),
    (
        fields(kind="fault", status=401, type="AuthenticationFault", code="3200", count=2),
        ErrorClass.AUTH,
        AUTH_EXPIRED,
        "HTTP 401",
    ),
    (
        fields(kind="fault", status=200, code="6000", detail="Refused inside a 200"),
        ErrorClass.NEEDS_ATTENTION,
        "Refused inside a 200",
        "HTTP 200",
    ),
    (
        fields(kind="throttle", retry_after=7),
        ErrorClass.TRANSIENT,
        "throttling syncbot (429): nothing was booked; retrying after 7 s",
        "3001",
    ),
]


@pytest.mark.parametrize(("given", "error_class", "message", "raw"), REFUSALS)
def test_a_refusal_books_nothing_and_says_what_to_fix(
    qbo: Qbo, given: dict[str, object], error_class: str, message: str, raw: str
) -> None:
    fault = qbo.sim.faults.add(plan(**given))
    result = qbo.ledger().post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.FAILED, error_class), result
    assert message in (result.error or "")
    assert raw in (result.error or "") and "intuit_tid" in (result.error or "")
    if fault.detail:
        assert fault.detail in (result.error or "")
    assert qbo.bills_of("RMB-2026-0142") == []


def test_a_throttle_without_retry_after_waits_sixty_seconds(qbo: Qbo) -> None:
    qbo.sim.faults.add(plan(kind="throttle", retry_after=None))
    result = qbo.ledger().post("key-1", record())
    assert (result.error_class, result.http_status, result.retry_after) == ("transient", 429, 60)


def test_a_refusal_then_a_fix_sends_a_new_request_and_books(qbo: Qbo) -> None:
    qbo.sim.faults.add(plan(kind="fault", code="6000", detail="fix me", count=1))
    ledger = qbo.ledger()
    assert ledger.post("key-1", record()).outcome == Outcome.FAILED
    assert ledger.post("key-1", record()).outcome == Outcome.SUCCEEDED
    assert len(qbo.bills_of("RMB-2026-0142")) == 1
    rids = [r.path for r in qbo.sim.requests() if r.method == "POST"]
    assert len(rids) == 2


def test_a_deleted_vendor_is_2500_then_the_bookkeeper_creates_it(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    assert ledger.post("key-1", record("RMB-1")).outcome == Outcome.SUCCEEDED
    del qbo.sim.company().vendors[qbo.vendor.id]  # deleted in QuickBooks; its Id is cached
    result = ledger.post("key-2", record("RMB-2"))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "QuickBooks has no active vendor with account no. 'VOL-88' or named 'Jane Doe'" in (
        result.error or ""
    )
    assert "2500" in (result.error or "") and "Invalid Reference Id" in (result.error or "")
    qbo.sim.add_vendor("Jane Doe", acct_num="VOL-88")
    again = ledger.post("key-2", record("RMB-2"))
    assert again.outcome == Outcome.SUCCEEDED, again
    assert len(qbo.bills_of("RMB-2")) == 1


def test_an_inactive_vendor_is_610(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    assert ledger.post("key-1", record("RMB-1")).outcome == Outcome.SUCCEEDED
    qbo.vendor.active = False
    result = ledger.post("key-2", record("RMB-2"))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "is inactive in QuickBooks" in (result.error or "") and "610" in (result.error or "")


def test_no_vendor_at_all_fails_before_sending(qbo: Qbo) -> None:
    result = qbo.ledger().post("key-1", record(payee_id="VOL-9", payee_name="Nobody Here"))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert result.error == (
        "QuickBooks has no active vendor with account no. 'VOL-9' or named 'Nobody Here': "
        "create (or reactivate) the vendor, or enter VOL-9 as its account no., then retry."
    )
    assert "POST bill" not in qbo.sim.requests_by_route()


def test_a_vendor_found_by_name_when_acctnum_queries_are_refused(qbo: Qbo) -> None:
    qbo.sim.set_config(refuse_acctnum=("Vendor", "Account"))
    result = qbo.ledger().post("key-1", record(payee_id="VOL-X", account_code="Travel"))
    assert result.outcome == Outcome.SUCCEEDED, result


def test_a_deleted_account_is_2500_with_the_account_message(qbo: Qbo) -> None:
    ledger = qbo.ledger()
    assert ledger.post("key-1", record("RMB-1")).outcome == Outcome.SUCCEEDED
    del qbo.sim.company().accounts[qbo.account.id]
    result = ledger.post("key-2", record("RMB-2"))
    assert "no active expense account with number or name '6100'" in (result.error or "")
    assert "fix the account code on RMB-2" in (result.error or "")


def test_an_unknown_account_code_fails_before_sending(qbo: Qbo) -> None:
    result = qbo.ledger().post("key-1", record(account_code="9999"))
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "no active expense account with number or name '9999'" in (result.error or "")


def test_closed_books_are_6210_with_the_closing_date(qbo: Qbo) -> None:
    qbo.sim.company().closed_through = date(2026, 11, 30)
    result = qbo.ledger().post("key-1", record())
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert "QuickBooks books are closed for 2026-11-30: reopen the period" in (result.error or "")
    assert "6210" in (result.error or "") and "account period has closed" in (result.error or "")


def test_an_ended_subscription_is_6190(qbo: Qbo) -> None:
    qbo.sim.company().active = False
    result = qbo.ledger().post("key-1", record())
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert SUBSCRIPTION in (result.error or "") and "6190" in (result.error or "")


def test_a_duplicate_number_not_ours_names_the_transaction(qbo: Qbo) -> None:
    detail = "DocNumber=RMB-2026-0142 is assigned to TxnType=Bill with TxnId=118"
    qbo.sim.faults.add(plan(kind="fault", code="6140", detail=detail))
    result = qbo.ledger().post("key-1", record())
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert (
        "QuickBooks already has a transaction numbered RMB-2026-0142 (TxnId 118, from the error"
        " detail) that syncbot did not make" in (result.error or "")
    )


def test_a_duplicate_number_that_is_ours_is_booked_once(qbo: Qbo) -> None:
    qbo.sim.set_config(duplicate_docnumber_check=True)
    ledger = qbo.ledger()
    first = ledger.post("key-1", record())
    # A correction gives the record a new key; QuickBooks already has its Bill.
    second = ledger.post("key-2", record())
    assert second.outcome == Outcome.SUCCEEDED, second
    assert second.accounting_ref == first.accounting_ref
    assert len(qbo.bills_of("RMB-2026-0142")) == 1


def test_404_says_check_the_base_url(qbo: Qbo) -> None:
    result = qbo.ledger(qbo_api_base_url=qbo.sim.url + "/wrong").post("key-1", record())
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert NOT_FOUND in (result.error or "")


def test_a_refused_connection_is_transient_and_sends_nothing(qbo: Qbo) -> None:
    result = qbo.ledger(qbo_api_base_url="http://127.0.0.1:9").post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.FAILED, ErrorClass.TRANSIENT)


def test_an_unexpected_6000_is_uncertain(qbo: Qbo) -> None:
    qbo.sim.faults.add(plan(kind="fault", code="6000", detail="An unexpected error occurred"))
    result = qbo.ledger().post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.UNCERTAIN, ErrorClass.TRANSIENT)
    assert result.retry_after == pytest.approx(180, abs=1)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_uncertain_until_looked_up(qbo: Qbo, status: int) -> None:
    qbo.sim.faults.add(plan(kind="fault", status=status, type="SystemFault", code="10000"))
    result = qbo.ledger().post("key-1", record())
    assert (result.outcome, result.error_class) == (Outcome.UNCERTAIN, ErrorClass.TRANSIENT)
    assert "looks it up before sending again" in (result.error or "")


def test_600_duplicate_request_id_is_uncertain(qbo: Qbo) -> None:
    qbo.sim.faults.add(plan(kind="fault", code="600", detail="Duplicate Request ID"))
    result = qbo.ledger().post("key-1", record())
    assert result.outcome == Outcome.UNCERTAIN and "600" in (result.error or "")
