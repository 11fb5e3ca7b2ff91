"""A record as a Xero bill: numbers that never collide, keys, exact amounts, and lookups read."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_engine import exact_json
from sync_engine.contract import Posting
from sync_engine.sim_json import loads as sim_loads
from sync_engine.xero import invoices
from sync_engine.xero.invoices import Found
from sync_engine.xero_sim.invoices import book_element
from sync_engine.xero_sim.org import Organisation
from sync_engine.xero_sim.wire import json_answer
from tests.xero_example import example_body

SOURCE_IDS = st.text(min_size=1, max_size=128)
CONTACT = "eaa28f49-6028-4b6e-bb12-d8f6278073fc"


def posting(
    source_id: str = "RMB-2026-0142",
    amount: str = "42.50",
    currency: str = "USD",
    **extra: Any,
) -> Posting:
    fields: dict[str, Any] = {
        "kind": "reimbursement",
        "payee_id": "VOL-88",
        "payee_name": "Jane Doe",
        "description": "Mileage, food bank drive 2026-11-14",
        "approved_at": datetime(2026, 11, 20, 18, 30, tzinfo=UTC),
        "approved_by": "Finance lead",
        **extra,
    }
    return Posting(source_id=source_id, amount=Decimal(amount), currency=currency, **fields)


def body_of(p: Posting, status: str = "AUTHORISED") -> dict[str, Any]:
    return invoices.invoice_body(
        p,
        contact_id=CONTACT,
        account_code="6100",
        status=status,
        dates=invoices.invoice_dates(p, "UTC", 0),
    )


# --- InvoiceNumber and keys (sections 5 and 6) ---


@settings(max_examples=500, deadline=None)
@given(st.lists(SOURCE_IDS, min_size=2, max_size=40, unique=True))
def test_distinct_source_ids_get_distinct_numbers_and_the_sets_never_meet(ids: list[str]) -> None:
    numbers = [invoices.invoice_number(i) for i in ids]
    assert len(set(numbers)) == len(numbers)
    for source_id, number in zip(ids, numbers, strict=True):
        verbatim = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}", source_id) is not None
        assert (number == source_id) == verbatim
        assert ("~" in number) == (not verbatim)  # `~` never occurs in a verbatim number
        assert "," not in number and len(number) <= 255
        if not verbatim:
            assert re.fullmatch(r"SB~[A-Z2-7]{32}", number)


@settings(max_examples=300, deadline=None)
@given(SOURCE_IDS, SOURCE_IDS)
def test_a_verbatim_number_never_meets_a_hashed_one(a: str, b: str) -> None:
    if a != b:
        assert invoices.invoice_number(a) != invoices.invoice_number(b)


@pytest.mark.parametrize(
    ("source_id", "verbatim"),
    [
        ("RMB-2026-0142", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("x.y_z-1", True),
        (".hidden", False),
        ("-lead", False),
        ("with space", False),
        ("a,b", False),
        ("Ünïcode", False),
        ("RMB~1", False),
    ],
)
def test_invoice_number_rule(source_id: str, verbatim: bool) -> None:
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    hashed = "SB~" + base64.b32encode(digest).decode().rstrip("=")[:32]
    assert invoices.invoice_number(source_id) == (source_id if verbatim else hashed)


def test_keys_follow_the_contract_formulas() -> None:
    tenant = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
    digest = hashlib.sha256(f"{tenant}|engine-key-1".encode()).hexdigest()[:40]
    assert invoices.idempotency_key(tenant, "engine-key-1", 0) == f"sb-{digest}-g0"
    assert invoices.idempotency_key(tenant, "engine-key-1", 7) == f"sb-{digest}-g7"
    assert len(invoices.idempotency_key(tenant, "k" * 500, 99_999)) <= 50  # the contract says <= 50
    assert len(invoices.idempotency_key(tenant, "k", 10**60)) <= 128  # Xero takes <= 128
    items = [("k1", 0), ("k2", 3)]
    joined = hashlib.sha256(f"{tenant}|k1:0,k2:3".encode()).hexdigest()[:40]
    assert invoices.batch_key(tenant, items) == f"sbb-{joined}"
    assert invoices.batch_key(tenant, items[::-1]) != invoices.batch_key(tenant, items)
    assert invoices.batch_key("other", items) != invoices.batch_key(tenant, items)
    assert invoices.batch_key(tenant, [("k1", 1), ("k2", 3)]) != invoices.batch_key(tenant, items)


# --- the body (section 2) ---


def test_the_body_is_the_contracts_example() -> None:
    sent = json.loads(invoices.request_body([body_of(posting())]), parse_float=Decimal)
    assert sent == example_body(CONTACT)


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [("42.50", "USD", b"42.50"), ("1000", "JPY", b"1000"), ("0.01", "USD", b"0.01"),
     ("42.5", "USD", b"42.50"), ("12345678901234.99", "EUR", b"12345678901234.99")],
)  # fmt: skip
def test_amounts_are_exact_in_the_encoded_bytes(amount: str, currency: str, wire: bytes) -> None:
    sent = invoices.request_body([body_of(posting(amount=amount, currency=currency))])
    assert b'"UnitAmount":' + wire + b"," in sent
    assert b"e" not in sent.split(b'"UnitAmount":')[1][:20].lower().split(b",")[0]


@pytest.mark.parametrize(
    ("amount", "currency", "why"),
    [
        ("1.500", "KWD", "KWD has 3 decimal places"),
        ("2", "BHD", "BHD has 3 decimal places"),
        ("1.5", "JPY", "more than 0 decimal places"),
        ("1.005", "USD", "more than 2 decimal places"),
        ("0", "USD", "must be a positive number"),
        ("-3.00", "USD", "must be a positive number"),
        ("5", "XXX", "no minor unit"),
    ],
)
def test_amounts_that_cannot_be_booked_are_refused_before_sending(
    amount: str, currency: str, why: str
) -> None:
    with pytest.raises(invoices.InvoiceRefused) as refused:
        body_of(posting("RMB-9", amount, currency))
    assert why in str(refused.value) and "RMB-9" in str(refused.value)


def test_floats_are_never_written() -> None:
    with pytest.raises(TypeError):
        invoices.request_body([{"UnitAmount": 42.5}])


def test_dates_follow_the_ledger_timezone_and_due_days() -> None:
    p = posting()
    assert invoices.invoice_dates(p, "UTC", 0) == (date(2026, 11, 20), date(2026, 11, 20))
    assert invoices.invoice_dates(p, "Pacific/Auckland", 14) == (
        date(2026, 11, 21),
        date(2026, 12, 5),
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"description": "d" * 5000},
        {"description": "d" * 3000, "memo": "m" * 3000},
        {"description": "  ", "approved_by": "b" * 5000},
        {"memo": "note"},
    ],
)
def test_the_description_always_names_the_full_source_id(extra: dict[str, Any]) -> None:
    source_id = "weird id with spaces " + "x" * 100
    line = body_of(posting(source_id, **extra))["LineItems"][0]["Description"]
    assert 1 <= len(line) <= 4000 and f"reimbursement {source_id} approved" in line
    if "memo" in extra and len(extra["memo"]) < 100:
        assert line.endswith(" | note")


def test_the_double_books_our_body_as_sent() -> None:
    org = Organisation()
    contact = org.add_contact("Jane Doe", account_number="VOL-88")
    org.add_account("6100", "Volunteer expenses")
    p = posting(amount="1000", currency="JPY")
    org.currencies.add("JPY")
    body = invoices.invoice_body(
        p,
        contact_id=contact.contact_id,
        account_code="6100",
        status="AUTHORISED",
        dates=invoices.invoice_dates(p, "UTC", 0),
    )
    item = sim_loads(invoices.request_body([body]))
    assert isinstance(item, dict)
    element = book_element(org, item["Invoices"][0], date(2026, 11, 20))
    assert element.body["StatusAttributeString"] == "OK"
    assert element.invoice is not None and element.invoice.total == Decimal(1000)
    assert org.contacts_created == 0


# --- reading answers, and the lookup (section 5) ---


def test_read_json_keeps_decimals_and_refuses_what_it_cannot_trust() -> None:
    assert invoices.read_json(b'{"Total": 42.50, "n": 3}') == {"Total": Decimal("42.50"), "n": 3}
    assert invoices.read_json(b"Not Available") is None
    assert invoices.read_json(b"[" * 5000 + b"]" * 5000) is None
    assert invoices.read_json(b"[" * 70 + b"]" * 70) is None
    assert invoices.read_json(b'"' + b"a" * (exact_json.MAX_BYTES + 1) + b'"') is None
    assert invoices.read_json(b"\xff\xfe") is None
    assert invoices.read_json(b"1" * 5000) is None  # past Python's int digit limit


def booked(**changes: Any) -> dict[str, Any]:
    """A bill as the double answers it (its Decimals written as Xero money, read back)."""
    bill = {
        "Type": "ACCPAY",
        "InvoiceID": "d4956132-8d8d-4d2b-9a36-5b0b1c1b0e11",
        "InvoiceNumber": "RMB-2026-0142",
        "Contact": {"ContactID": CONTACT, "Name": "Jane Doe"},
        "Status": "AUTHORISED",
        "Total": Decimal("42.50"),
        "CurrencyCode": "USD",
        **changes,
    }
    read = invoices.read_json(json_answer(200, {"Invoices": [bill]}).body)
    return invoices.answer_invoices(read)[0]


@pytest.mark.parametrize(
    ("changes", "contact", "found"),
    [
        ({}, CONTACT, Found.BOOKED),
        ({}, None, Found.BOOKED),
        ({"Status": "DRAFT"}, CONTACT, Found.BOOKED),
        ({"Status": "SUBMITTED"}, CONTACT, Found.BOOKED),
        ({"Status": "PAID"}, CONTACT, Found.BOOKED),
        ({"Total": Decimal("42.5")}, CONTACT, Found.BOOKED),
        ({"Status": "VOIDED"}, CONTACT, Found.REMOVED),
        ({"Status": "DELETED"}, CONTACT, Found.REMOVED),
        ({"Status": "WEIRD"}, CONTACT, Found.DIFFERS),
        ({"Total": Decimal("42.51")}, CONTACT, Found.DIFFERS),
        ({"CurrencyCode": "NZD"}, CONTACT, Found.DIFFERS),
        ({"Contact": {"ContactID": "another"}}, CONTACT, Found.DIFFERS),
        ({"Contact": "Jane"}, CONTACT, Found.DIFFERS),
        ({"Total": "42.50"}, CONTACT, Found.DIFFERS),
        ({"Total": True}, CONTACT, Found.DIFFERS),
        ({"Type": "ACCREC"}, CONTACT, Found.OTHER),
        ({"InvoiceNumber": "rmb-2026-0142"}, CONTACT, Found.OTHER),
        ({"InvoiceNumber": None}, CONTACT, Found.OTHER),
    ],
)
def test_ours(changes: dict[str, Any], contact: str | None, found: Found) -> None:
    assert invoices.ours(posting(), booked(**changes), contact) == found


def test_ours_for_a_whole_yen_amount() -> None:
    bill = booked(Total=Decimal("1000.00"), CurrencyCode="JPY")
    assert invoices.ours(posting(amount="1000", currency="JPY"), bill, CONTACT) == Found.BOOKED


def test_find_ours_prefers_a_booked_bill_and_survives_garbage() -> None:
    p = posting()
    voided, other = booked(Status="VOIDED"), booked(Total=Decimal("1.00"))
    good = booked()
    assert invoices.find_ours(p, ["x", None, other, voided, good], CONTACT) == (Found.BOOKED, good)
    assert invoices.find_ours(p, [other, voided], CONTACT) == (Found.REMOVED, voided)
    assert invoices.find_ours(p, [booked(Type="ACCREC"), other], CONTACT) == (Found.DIFFERS, other)
    assert invoices.find_ours(p, [booked(Type="ACCREC")], CONTACT) == (Found.OTHER, None)
    assert invoices.find_ours(p, [], CONTACT) == (Found.OTHER, None)


@pytest.mark.parametrize(
    ("body", "count"),
    [(None, 0), ([], 0), ("x", 0), ({"Invoices": "x"}, 0), ({"Invoices": [1, {}, []]}, 1)],
)
def test_answer_invoices_takes_only_objects(body: object, count: int) -> None:
    assert len(invoices.answer_invoices(body)) == count


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("d4956132-8d8d-4d2b-9a36-5b0b1c1b0e11", "d4956132-8d8d-4d2b-9a36-5b0b1c1b0e11"),
        ("not a guid", None),
        ("a" * 10_000, None),
        (12, None),
        (None, None),
    ],
)
def test_invoice_id_is_bounded(value: object, found: str | None) -> None:
    assert invoices.invoice_id({"InvoiceID": value}) == found
