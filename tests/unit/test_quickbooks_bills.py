"""A record as a QuickBooks Bill: DocNumbers that never collide, exact amounts, escaped literals."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_engine.contract import Posting
from sync_engine.quickbooks import bills
from sync_engine.quickbooks.faults import Verdict, read_faults, verdict_of

SOURCE_IDS = st.text(min_size=1, max_size=128).filter(lambda s: s.strip() == s and s)


@settings(max_examples=500, deadline=None)
@given(st.lists(SOURCE_IDS, min_size=2, max_size=40, unique=True))
def test_distinct_source_ids_get_distinct_doc_numbers_of_at_most_21_chars(ids: list[str]) -> None:
    numbers = [bills.doc_number(i) for i in ids]
    assert len(set(numbers)) == len(numbers)
    for source_id, number in zip(ids, numbers, strict=True):
        assert 1 <= len(number) <= 21
        assert re.fullmatch(r"[A-Za-z0-9._-]+", number)
        assert (number == source_id) == (len(number) <= 20)


@settings(max_examples=300, deadline=None)
@given(SOURCE_IDS, SOURCE_IDS)
def test_a_verbatim_number_never_meets_a_derived_one(a: str, b: str) -> None:
    if a != b:
        assert bills.doc_number(a) != bills.doc_number(b)


def test_the_contracts_example() -> None:
    number = bills.doc_number("VOLUNTEER-REIMBURSEMENT-2026-000142")
    assert number.startswith("VOLUNTEER-") and len(number) == 21
    assert bills.doc_number("RMB-2026-0142") == "RMB-2026-0142"
    assert bills.doc_number("ÄÖÜ ßß").startswith("SB-")


def posting(source_id: str, amount: str, currency: str, memo: str | None = None) -> Posting:
    """A posting with the fields the Bill needs."""
    return Posting(
        source_id,
        "reimbursement",
        "VOL-88",
        "Jane Doe",
        Decimal(amount),
        currency,
        "d",
        datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
        "Finance lead",
        None,
        memo,
    )


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [("42.50", "USD", "42.50"), ("15000", "JPY", "15000"), ("0.01", "USD", "0.01")],
)
def test_amounts_are_exact_json_numbers(amount: str, currency: str, wire: str) -> None:
    body = bills.bill_body(
        posting("R-1", amount, currency),
        vendor_id="1",
        account_id="2",
        currency=currency,
        dates=bills.bill_dates(posting("R-1", amount, currency), "UTC", 0),
    )
    text = bills.dumps(body)
    assert f'"Amount":{wire}' in text
    assert json.loads(text, parse_float=Decimal)["Line"][0]["Amount"] == Decimal(amount)


@pytest.mark.parametrize(("amount", "currency"), [("1.5", "JPY"), ("0", "USD"), ("1.500", "KWD")])
def test_amounts_that_cannot_be_booked_are_refused(amount: str, currency: str) -> None:
    with pytest.raises(bills.BillRefused):
        bills.exact_amount(Decimal(amount), currency)


def test_dates_follow_the_ledger_timezone_and_due_days() -> None:
    p = posting("R-1", "1.00", "USD")
    assert [d.isoformat() for d in bills.bill_dates(p, "UTC", 0)] == ["2026-11-20", "2026-11-20"]
    assert [d.isoformat() for d in bills.bill_dates(p, "Asia/Tokyo", 14)] == [
        "2026-11-21",
        "2026-12-05",
    ]


def test_the_marker_survives_a_long_memo_and_is_told_apart() -> None:
    note = bills.private_note(posting("R-1", "1.00", "USD", memo="x" * 5000))
    assert len(note) == 4000 and bills.is_ours(note, "R-1")
    assert not bills.is_ours(note, "R-")
    assert not bills.is_ours("syncbot:R-10 | reimbursement", "R-1")


def test_literals_are_escaped() -> None:
    assert bills.escape_literal("O'Brien \\ Co") == "O\\'Brien \\\\ Co"


def test_request_ids_fit_both_limits_and_change_with_the_generation() -> None:
    first, second = bills.request_id("r", "k", 0), bills.request_id("r", "k", 1)
    assert len(first) == 36 and first != second
    assert len(bills.batch_request_id("r", [("k", 0), ("j", 2)])) == 36


def test_faults_are_read_case_insensitively_and_classified_by_status_and_code() -> None:
    body = {
        "fault": {
            "error": [{"message": "m", "detail": "d", "code": "3200"}],
            "type": "AUTHENTICATION",
        }
    }
    [fault] = read_faults(body)
    assert (fault.code, fault.detail) == ("3200", "d")
    assert verdict_of(401, [fault])[1] == "auth"
    assert verdict_of(502, [])[0] == Verdict.UNCERTAIN
    assert verdict_of(400, read_faults({"Fault": {"Error": [{"code": "6140"}]}}))[0] == (
        Verdict.DUPLICATE
    )
