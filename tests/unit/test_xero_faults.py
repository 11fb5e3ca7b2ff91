"""Xero's answers read into verdicts and the admin's messages: every row of contract section 7,
in the contract's shapes and in the double's own answers (`sync_engine.xero_sim`)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sync_engine.contract import Posting
from sync_engine.gateway_sim.messages import Answer
from sync_engine.vocabulary import ErrorClass
from sync_engine.xero import messages
from sync_engine.xero.faults import Reading, Verdict, read_element, read_reply
from sync_engine.xero.invoices import invoice_body, read_json, request_body
from sync_engine.xero_sim import wire
from sync_engine.xero_sim.invoices import book_element
from sync_engine.xero_sim.org import Organisation

SID = "RMB-2026-0142"
INVOICE_ID = "d4956132-8d8d-4d2b-9a36-5b0b1c1b0e11"


def read(answer: Answer, source_id: str | None = SID, **kw: Any) -> Reading:
    return read_reply(answer.status, answer.headers, answer.body, source_id=source_id, **kw)


def raw(status: int, body: object, headers: dict[str, str] | None = None) -> Reading:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_reply(status, headers or {}, data, source_id=SID)


# --- whole answers: the double's ---


@pytest.mark.parametrize(
    ("answer", "verdict", "kind", "message"),
    [
        (
            wire.unauthorized("TokenExpired: token expired at 2026-11-20T10:00:00+00:00"),
            Verdict.AUTH,
            ErrorClass.AUTH,
            messages.auth_expired(),
        ),
        (
            wire.unauthorized("AuthenticationUnsuccessful"),
            Verdict.AUTH,
            ErrorClass.AUTH,
            messages.auth_expired(),
        ),
        (
            wire.forbidden(),
            Verdict.AUTH,
            ErrorClass.AUTH,
            "syncbot lacks permission in Xero (scope or user role): reconnect with an adviser"
            " or standard user.",
        ),
        (
            wire.problem(403, "Forbidden", "OrganisationNotActive: subscription SUSPENDED"),
            Verdict.REFUSED,
            ErrorClass.NEEDS_ATTENTION,
            "The Xero organisation's subscription is not active (SUSPENDED): every posting fails"
            " until it is renewed in Xero; then retry all.",
        ),
        (
            wire.text(404, "The resource you're looking for cannot be found"),
            Verdict.NOT_FOUND,
            ErrorClass.NEEDS_ATTENTION,
            "Xero answered 404: check XERO_API_BASE_URL.",
        ),
        (wire.server_error(), Verdict.LOOKUP, ErrorClass.TRANSIENT, None),
        (
            wire.server_error("The idempotency store is unavailable"),
            Verdict.LOOKUP,
            ErrorClass.TRANSIENT,
            None,
        ),
        (wire.text(503, "Organisation offline"), Verdict.RESEND, ErrorClass.TRANSIENT, None),
        (wire.text(503, "Not Available"), Verdict.RESEND, ErrorClass.TRANSIENT, None),
        (wire.text(502, "Bad Gateway"), Verdict.RESEND, ErrorClass.TRANSIENT, None),
        (wire.text(504, "Gateway Timeout"), Verdict.RESEND, ErrorClass.TRANSIENT, None),
        (
            wire.problem(409, "Conflict", "The request holding this Idempotency-Key is running"),
            Verdict.RESEND,
            ErrorClass.TRANSIENT,
            None,
        ),
        (
            wire.validation("The Idempotency-Key has been used with a different request"),
            Verdict.LOOKUP,
            ErrorClass.TRANSIENT,
            None,
        ),
        (
            wire.validation('expected {"Invoices": [...]} or one invoice object'),
            Verdict.REFUSED,
            ErrorClass.NEEDS_ATTENTION,
            "Xero could not read syncbot's request (a syncbot bug; please report it): expected"
            ' {"Invoices": [...]} or one invoice object',
        ),
        (
            wire.validation("The Idempotency-Key header must be 1 to 128 characters"),
            Verdict.REFUSED,
            ErrorClass.NEEDS_ATTENTION,
            None,
        ),
        (
            wire.text(429, "Rate limit exceeded", {"Retry-After": "7"}),
            Verdict.RATE_LIMITED,
            ErrorClass.TRANSIENT,
            messages.rate_limited(7.0),
        ),
        (wire.text(503, "Rate limit exceeded"), Verdict.RATE_LIMITED, ErrorClass.TRANSIENT, None),
    ],
)
def test_the_doubles_answers(
    answer: Answer, verdict: Verdict, kind: ErrorClass, message: str | None
) -> None:
    reading = read(answer)
    assert (reading.verdict, reading.error_class, reading.status) == (verdict, kind, answer.status)
    if message is not None:
        assert reading.message == message
    if verdict in (Verdict.RESEND, Verdict.LOOKUP):
        assert "syncbot checks whether the bill was booked" in reading.message
    assert reading.raw.startswith(f"Xero HTTP {answer.status}")
    assert reading.text.startswith(reading.message)


def test_raw_keeps_xeros_words() -> None:
    reading = read(wire.text(503, "Organisation offline"))
    assert reading.raw == "Xero HTTP 503; Organisation offline"
    reading = read(wire.server_error())
    assert reading.raw == "Xero HTTP 500; UnknownErrorException 500; An error occurred in Xero."
    reading = read(wire.unauthorized("TokenExpired: token expired at 2026-11-20T10:00:00"))
    assert "TokenExpired: token expired at 2026-11-20T10:00:00" in reading.raw
    assert reading.text == f"{reading.message} [{reading.raw}]"


@pytest.mark.parametrize(
    ("problem", "verdict"),
    [
        ("minute", Verdict.RATE_LIMITED),
        ("Minute", Verdict.RATE_LIMITED),
        ("concurrent", Verdict.RATE_LIMITED),
        ("appminute", Verdict.RATE_LIMITED),
        ("something-new", Verdict.RATE_LIMITED),
        ("", Verdict.RATE_LIMITED),
        ("day", Verdict.DAY_LIMIT),
        ("Day", Verdict.DAY_LIMIT),
        ("DAY", Verdict.DAY_LIMIT),
        ("Daily", Verdict.DAY_LIMIT),
        ("daylimit", Verdict.DAY_LIMIT),
    ],
)
def test_429_by_its_problem(problem: str, verdict: Verdict) -> None:
    headers = {"Retry-After": "30", "X-Rate-Limit-Problem": problem}
    reading = read(wire.text(429, "Rate limit exceeded", headers))
    assert (reading.verdict, reading.error_class, reading.retry_after) == (
        verdict,
        ErrorClass.TRANSIENT,
        30.0,
    )


def test_the_daily_limit_names_when_sending_resumes() -> None:
    headers = {"retry-after": "3900", "x-rate-limit-problem": "day"}  # any header casing
    now = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
    reading = read(wire.text(429, "Rate limit exceeded", headers), now=now)
    assert reading.message == (
        "Xero's daily API limit for this organisation is used up; syncing resumes by itself at"
        " about 14:05 UTC on 2026-11-20."
    )
    assert read(wire.text(429, "x", headers)).message == messages.DAY_LIMIT
    resume = datetime(2026, 11, 20, 14, 5, 59, tzinfo=UTC)
    assert messages.day_limit_message(resume).endswith("at about 14:05 UTC on 2026-11-20.")


@pytest.mark.parametrize(
    ("value", "minute", "day"),
    [
        (None, 1.0, 3600.0),
        ("abc", 1.0, 3600.0),
        ("-5", 1.0, 3600.0),
        ("nan", 1.0, 3600.0),
        ("inf", 1.0, 3600.0),
        ("2.5", 2.5, 2.5),
        ("1e9", 300.0, 86400.0),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 1.0, 3600.0),
    ],
)
def test_retry_after_is_read_defensively(value: str | None, minute: float, day: float) -> None:
    for problem, expected in (("minute", minute), ("day", day)):
        headers = {"X-Rate-Limit-Problem": problem}
        if value is not None:
            headers["Retry-After"] = value
        assert read(wire.text(429, "Rate limit exceeded", headers)).retry_after == expected


def test_a_503_may_carry_retry_after() -> None:
    assert read(wire.text(503, "Not Available", {"Retry-After": "20"})).retry_after == 20.0
    assert read(wire.text(503, "Not Available")).retry_after is None


# --- whole answers: the contract's shapes, and hostile ones ---


def test_the_contracts_validation_shape() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"InvoiceNumber": SID, "ValidationErrors": [{"Message": "Bad thing"}]}],
    }
    reading = raw(400, body)
    assert (reading.verdict, reading.error_class) == (Verdict.REFUSED, ErrorClass.NEEDS_ATTENTION)
    assert reading.message == f"Xero refused the bill for {SID}: Bad thing"
    assert "ValidationException 10" in reading.raw and "Bad thing" in reading.raw


def test_the_contracts_401_and_403_shapes() -> None:
    problem = {"Type": None, "Title": "Unauthorized", "Status": 401, "Instance": "x"}
    expired = {**problem, "Detail": "TokenExpired: token expired at 2026-11-20", "Extensions": {}}
    assert raw(401, expired).verdict == Verdict.AUTH
    denied = {**problem, "Title": "Forbidden", "Status": 403}
    assert raw(403, {**denied, "Detail": "AuthenticationUnsuccessful"}).verdict == Verdict.AUTH


def test_the_contracts_500_shape() -> None:
    body = {"ErrorNumber": 500, "Type": "UnknownErrorException", "Message": "An error occurred"}
    assert raw(500, body).verdict == Verdict.LOOKUP
    assert raw(501, b"").verdict == Verdict.LOOKUP


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"[1, 2, 3]",
        b'"just a string"',
        b"\x00\x01\xff binary \x1b[31m",
        b'{"Message": 12, "Detail": ["x"], "Elements": "no", "ValidationErrors": {"a": 1}}',
        b'{"Elements": [1, "x", {"ValidationErrors": [null, 3, {"Message": null}]}]}',
        json.dumps({"Message": "m" * 100_000, "Detail": "\x07" * 50}).encode(),
        b"[" * 10_000,
    ],
)
@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 409, 429, 500, 503, 418, 302])
def test_hostile_bodies_never_break_the_reading(body: bytes, status: int) -> None:
    reading = read_reply(status, {"Retry-After": "x" * 10_000}, body, source_id=SID)
    assert len(reading.raw) <= 500 and len(reading.message) <= 1200
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in reading.raw + reading.message)
    if status == 200:
        assert reading.verdict == Verdict.LOOKUP  # a 200 without Invoices: uncertain
    if status in (400, 418):
        assert reading.verdict == Verdict.REFUSED


@pytest.mark.parametrize("body", [None, [], "text", {"Invoices": "x"}, Decimal(1)])
def test_already_parsed_bodies_of_any_type(body: object) -> None:
    assert read_reply(503, {}, body, source_id=None).verdict == Verdict.RESEND
    assert read_reply(200, {}, body, source_id=None).verdict == Verdict.LOOKUP


def test_a_200_with_invoices_is_read_element_by_element() -> None:
    reading = read(wire.json_answer(200, wire.envelope(0.0, Invoices=[])))
    assert (reading.verdict, reading.error_class) == (Verdict.BOOKED, None)


# --- elements of a 200 batch answer (summarizeErrors=false), made by the double ---


def posting(**extra: Any) -> Posting:
    fields: dict[str, Any] = {
        "kind": "reimbursement",
        "payee_id": "VOL-88",
        "payee_name": "Jane Doe",
        "amount": Decimal("42.50"),
        "currency": "USD",
        "description": "Mileage",
        "approved_at": datetime(2026, 11, 20, 18, tzinfo=UTC),
        **extra,
    }
    return Posting(source_id=SID, **fields)


def element(org: Organisation, contact_id: str, code: str = "6100", **extra: Any) -> Reading:
    p = posting(**extra)
    day = p.approved_at.date()
    body = invoice_body(p, contact_id=contact_id, account_code=code, status="AUTHORISED",
                        dates=(day, day))  # fmt: skip
    item = read_json(request_body([body]))
    assert isinstance(item, dict)
    answer = wire.json_answer(200, {"Invoices": [book_element(org, item["Invoices"][0], day).body]})
    parsed = read_json(answer.body)
    assert isinstance(parsed, dict)
    return read_element(parsed["Invoices"][0], source_id=SID)


@pytest.fixture
def org() -> Organisation:
    books = Organisation()
    books.add_account("6100", "Volunteer expenses")
    books.add_account("6200", "Old", status="ARCHIVED")
    return books


def test_an_ok_element_is_booked(org: Organisation) -> None:
    contact = org.add_contact("Jane Doe", account_number="VOL-88")
    reading = element(org, contact.contact_id)
    assert (reading.verdict, reading.error_class, reading.message) == (Verdict.BOOKED, None, "")
    assert reading.invoice_id == org.invoices[0].invoice_id


def test_unknown_and_archived_contacts_point_at_the_contact(org: Organisation) -> None:
    unknown = element(org, "0f0f0f0f-6028-4b6e-bb12-d8f6278073fc")
    archived = org.add_contact("Jane Doe", account_number="VOL-88", status="ARCHIVED")
    for reading in (unknown, element(org, archived.contact_id)):
        assert (reading.verdict, reading.error_class) == (
            Verdict.REFUSED,
            ErrorClass.NEEDS_ATTENTION,
        )
        assert reading.names_contact and not reading.names_account
        assert reading.message.startswith(f"Xero refused the bill for {SID}: its contact")
    assert "archived" in element(org, archived.contact_id).message


@pytest.mark.parametrize("code", ["9999", "6200"])
def test_unknown_and_archived_accounts_point_at_the_account(org: Organisation, code: str) -> None:
    contact = org.add_contact("Jane Doe", account_number="VOL-88")
    reading = element(org, contact.contact_id, code)
    assert reading.verdict == Verdict.REFUSED and reading.names_account
    assert not reading.names_contact
    assert f"fix the account code on {SID}" in reading.message
    assert f"Account code '{code}' is not a valid code" in reading.message


def test_the_lock_date_is_read_from_the_message(org: Organisation) -> None:
    contact = org.add_contact("Jane Doe", account_number="VOL-88")
    org.lock_date = date(2026, 11, 30)
    reading = element(org, contact.contact_id)
    assert reading.verdict == Verdict.REFUSED
    assert (
        reading.message == "Xero's lock date covers 2026-11-30: an adviser can move it, then retry."
    )
    assert "period lock date of 2026-11-30" in reading.raw


@pytest.mark.parametrize(
    ("said", "lock"),
    [
        ("The document date cannot be before the end of year lock date, currently set at"
         " 31/03/2026.", "31/03/2026"),
        ("The document date cannot be before the period lock date, currently set at"
         " 31 Oct 2026.", "31 Oct 2026"),
        ("The document date cannot be before the period lock date.", "this bill's date"),
    ],
)  # fmt: skip
def test_lock_date_wordings(said: str, lock: str) -> None:
    bad = {"StatusAttributeString": "ERROR", "ValidationErrors": [{"Message": said}]}
    reading = read_element(bad, source_id=SID)
    assert reading.message == f"Xero's lock date covers {lock}: an adviser can move it, then retry."


def test_other_refusals_join_xeros_messages(org: Organisation) -> None:
    contact = org.add_contact("Jane Doe", account_number="VOL-88")
    reading = element(org, contact.contact_id, currency="EUR")
    assert reading.message == (
        f"Xero refused the bill for {SID}: The currency code EUR is not enabled for this"
        " organisation"
    )
    assert not reading.names_contact and not reading.names_account


@pytest.mark.parametrize(
    ("given", "verdict"),
    [
        ({"StatusAttributeString": "OK", "InvoiceID": INVOICE_ID}, Verdict.BOOKED),
        ({"StatusAttributeString": "ok", "InvoiceID": INVOICE_ID}, Verdict.BOOKED),
        (
            {"StatusAttributeString": "WARNING", "InvoiceID": INVOICE_ID,
             "Warnings": [{"Message": "Total ignored"}]},
            Verdict.BOOKED,
        ),
        ({"StatusAttributeString": "OK"}, Verdict.LOOKUP),
        ({"StatusAttributeString": "OK", "InvoiceID": "x" * 5000}, Verdict.LOOKUP),
        ({"InvoiceID": INVOICE_ID}, Verdict.LOOKUP),
        ({}, Verdict.LOOKUP),
        ({"StatusAttributeString": "ERROR"}, Verdict.REFUSED),
        ({"HasErrors": True, "InvoiceID": INVOICE_ID}, Verdict.REFUSED),
        ({"StatusAttributeString": 5, "ValidationErrors": [{"Message": "x"}]}, Verdict.REFUSED),
    ],
)  # fmt: skip
def test_elements_read_defensively(given: dict[str, Any], verdict: Verdict) -> None:
    reading = read_element(given, source_id=SID)
    assert reading.verdict == verdict
    assert (reading.error_class is None) == (verdict == Verdict.BOOKED)
    if verdict == Verdict.REFUSED:
        assert reading.error_class == ErrorClass.NEEDS_ATTENTION


def test_a_warning_is_kept_in_raw() -> None:
    given = {"StatusAttributeString": "WARNING", "InvoiceID": INVOICE_ID,
             "Warnings": [{"Message": "Total ignored"}]}  # fmt: skip
    assert "WARNING Total ignored" in read_element(given, source_id=SID).raw


def test_an_error_without_messages_still_says_so() -> None:
    reading = read_element({"StatusAttributeString": "ERROR"}, source_id=SID)
    assert reading.message == f"Xero refused the bill for {SID}: no reason given"


# --- the admin's messages of sections 3, 4 and 5 ---


def test_the_contracts_messages() -> None:
    assert messages.contact_missing(posting()) == (
        "Xero has no active contact with account number 'VOL-88' or name 'Jane Doe': add the"
        " contact in Xero (enter VOL-88 as its account number), then retry."
    )
    assert messages.account_missing("6100", SID) == (
        f"Xero has no active account with code '6100': fix the account code on {SID} or"
        " Xero's chart of accounts, then retry."
    )
    assert messages.differs_message(SID) == (
        f"Xero has a bill numbered {SID} that differs from this record: check it in Xero;"
        " resolve the record by hand if it is this one."
    )
    assert messages.tenant_gone("Acme") == (
        "Xero organisation 'Acme' is no longer connected to syncbot: reconnect it."
    )
    assert "VOIDED" in messages.removed_message(SID, "VOIDED")
    assert "by hand" in messages.removed_message(SID, "VOIDED")
    assert len(messages.tenant_gone("x" * 10_000)) < 200


def test_a_summarized_400_lists_the_failed_elements(org: Organisation) -> None:
    org.lock_date = date(2026, 11, 30)
    p = posting()
    day = p.approved_at.date()
    body = invoice_body(p, contact_id="0f0f0f0f-6028-4b6e-bb12-d8f6278073fc",
                        account_code="9999", status="AUTHORISED", dates=(day, day))  # fmt: skip
    item = read_json(request_body([body]))
    assert isinstance(item, dict)
    failed = book_element(org, item["Invoices"][0], day).body
    answer = wire.validation("A validation exception occurred", [failed])
    reading = read(answer)
    assert (reading.verdict, reading.error_class) == (Verdict.REFUSED, ErrorClass.NEEDS_ATTENTION)
    assert reading.message.startswith("Xero's lock date covers 2026-11-30")
    assert reading.names_contact and reading.names_account  # both caches are dropped
    assert reading.raw.startswith("Xero HTTP 400; ValidationException 10;")
    parsed = read_json(answer.body)
    assert read_reply(400, {}, parsed, source_id=SID) == reading  # bytes or parsed: one reading
