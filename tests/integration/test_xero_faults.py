"""Every fault row of the Xero contract (section 7, and the refusals of sections 3 and 4),
through the engine and the adapter against the Xero double over real HTTP: the record's state
and error class in the database, the admin's message (the contract's words, naming the
record), Xero's own words kept in the record's attempts, and the double's bills (never two per
InvoiceNumber) and contacts (never one created)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from storage.vocabulary import ErrorClass
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from sync_engine.xero import messages
from sync_engine.xero_sim import XeroFault
from tests.conftest import posting
from tests.integration.ledger_rigs import XeroRig, xero, xero_rig
from tests.integration.record_rows import attempts, states
from tests.integration.xero_engine_support import engine_over

__all__ = ["xero", "xero_rig"]  # fixtures

ONE = "RMB-2026-0002"  # `record()`'s source id


def record(n: int = 2, **extra: object) -> Posting:
    """Record `n` for the payee VOL-`n` (a contact the rig added), unless `extra` says else."""
    values: dict[str, object] = {"payee_id": f"VOL-{n}"}
    values.update(extra)
    return posting(n, **values)  # type: ignore[arg-type]


def synced(rig: XeroRig, *records: Posting, **overrides: object) -> SyncEngine:
    """An engine (settings `overrides`) that has submitted `records` and run one sync."""
    engine = rig.engine(**overrides)
    engine.submit(records or [record()])
    engine.sync(requested_by="tester", via="cli")
    return engine


def failed(rig: XeroRig, source_id: str, error_class: str) -> tuple[str, str]:
    """The record failed with `error_class` (parked by the auth outage if auth): its last
    attempt's error and HTTP status."""
    parked = error_class == ErrorClass.AUTH
    assert states(rig)[source_id] == ("failed", error_class, parked), states(rig)
    *_, (outcome, status, error) = attempts(rig, source_id)
    assert outcome == "failed" and error is not None
    return error, str(status)


def never_doubled(rig: XeroRig) -> None:
    """No InvoiceNumber booked twice, no contact ever created by a bill."""
    stats = rig.sim.stats()
    assert stats["duplicate_numbers"] == {} and stats["contacts_created"] == 0


@pytest.fixture(autouse=True)
def nothing_doubled(xero_rig: XeroRig) -> Iterator[None]:
    """After every test: no InvoiceNumber booked twice, no contact created by a bill."""
    yield
    never_doubled(xero_rig)


def puts(rig: XeroRig) -> list[tuple[int, list[str]]]:
    """Each invoice write the double answered: its status and Idempotency-Key."""
    return [(r.status, r.idempotency_keys) for r in rig.sim.requests() if r.method == "PUT"]


# -- refused before sending (sections 3 and 4) ------------------------------------------------


def test_a_missing_contact_is_named_never_created_and_booked_once_added(xero_rig: XeroRig) -> None:
    engine = synced(xero_rig, record(payee_id="VOL-900"))
    error, _ = failed(xero_rig, ONE, ErrorClass.NEEDS_ATTENTION)
    assert error == (
        "Xero has no active contact with account number 'VOL-900' or name 'Volunteer VOL-900':"
        " add the contact in Xero (enter VOL-900 as its account number), then retry."
    )
    assert puts(xero_rig) == [] and xero_rig.sim.bills() == []
    xero_rig.sim.org().add_contact("Volunteer VOL-900", account_number="VOL-900")
    assert engine.retry_selected([ONE], requested_by="U1", via="slack").succeeded
    assert xero_rig.booked() == {ONE: 1}


@pytest.mark.parametrize("status", ["unknown", "ARCHIVED"])
def test_an_unknown_or_archived_account_code_is_named_and_nothing_sent(
    xero_rig: XeroRig, status: str
) -> None:
    if status == "ARCHIVED":
        xero_rig.sim.org().add_account("6200", "Old travel", status="ARCHIVED")
    code = "6200" if status == "ARCHIVED" else "7777"
    synced(xero_rig, record(account_code=code))
    error, _ = failed(xero_rig, ONE, ErrorClass.NEEDS_ATTENTION)
    assert error == (
        f"Xero has no active account with code '{code}': fix the account code on {ONE} or"
        " Xero's chart of accounts, then retry."
    )
    assert puts(xero_rig) == []


# -- refused by Xero (section 7) ----------------------------------------------------------------


def test_the_lock_date_is_named_and_moving_it_books_under_a_new_key(xero_rig: XeroRig) -> None:
    org = xero_rig.sim.org()
    org.lock_date = date(2026, 11, 30)
    engine = synced(xero_rig)
    error, status = failed(xero_rig, ONE, ErrorClass.NEEDS_ATTENTION)
    assert error.startswith(
        "Xero's lock date covers 2026-11-30: an adviser can move it, then retry."
    )
    assert "The document date cannot be before the period lock date of 2026-11-30" in error
    assert xero_rig.sim.bills() == []
    org.lock_date = None
    assert engine.retry_selected([ONE], requested_by="U1", via="slack").succeeded
    [(refused, first_key), (booked, second_key)] = puts(xero_rig)
    assert (refused, booked) == (200, 200) and first_key != second_key  # never the cached refusal
    assert xero_rig.booked() == {ONE: 1}


def test_a_lapsed_subscription_is_needs_attention_and_sends_no_bill(xero_rig: XeroRig) -> None:
    xero_rig.sim.org().status = "SUSPENDED"
    synced(xero_rig)
    error, status = failed(xero_rig, ONE, ErrorClass.NEEDS_ATTENTION)
    assert error.startswith(messages.subscription("SUSPENDED")), error
    assert "OrganisationNotActive: subscription SUSPENDED" in error and status == "403"
    assert puts(xero_rig) == []


def test_a_validation_error_inside_a_200_batch_fails_only_its_record(xero_rig: XeroRig) -> None:
    euro = record(3, currency="EUR")  # not enabled in the organisation: refused per element
    synced(xero_rig, record(1), record(2), euro)
    [(status, _)] = puts(xero_rig)
    assert status == 200
    error, _ = failed(xero_rig, "RMB-2026-0003", ErrorClass.NEEDS_ATTENTION)
    assert error.startswith(
        "Xero refused the bill for RMB-2026-0003: The currency code EUR is not enabled for this"
        " organisation"
    )
    assert states(xero_rig)["RMB-2026-0001"][0] == "succeeded"
    assert states(xero_rig)[ONE][0] == "succeeded"
    assert xero_rig.booked() == {"RMB-2026-0001": 1, ONE: 1}


def test_a_contact_archived_after_it_was_cached_is_refused_by_xero(xero_rig: XeroRig) -> None:
    engine = synced(xero_rig, record(1))
    contact = next(c for c in xero_rig.sim.org().contacts.values() if c.account_number == "VOL-1")
    contact.status = "ARCHIVED"  # the ContactID stays cached in the adapter
    engine.submit([record(3, payee_id="VOL-1")])
    engine.sync(requested_by="tester", via="cli")
    error, _ = failed(xero_rig, "RMB-2026-0003", ErrorClass.NEEDS_ATTENTION)
    assert error.startswith("Xero refused the bill for RMB-2026-0003: its contact is unknown or")
    assert "The contact Volunteer VOL-1 is archived and cannot be used" in error
    contact.status = "ACTIVE"
    looked_up = xero_rig.sim.requests_by_route()["GET Contacts"]
    assert engine.retry_selected(["RMB-2026-0003"], requested_by="U1", via="cli").succeeded
    # The refusal named the contact: its cached ContactID was dropped and looked up again.
    assert xero_rig.sim.requests_by_route()["GET Contacts"] == looked_up + 1


def test_a_400_without_elements_is_a_syncbot_bug_showing_xeros_message(xero_rig: XeroRig) -> None:
    xero_rig.sim.set_config(max_batch=1)  # the double reads no batch: 400 with no Elements
    synced(xero_rig, record(1), record(2))
    for source_id in ("RMB-2026-0001", ONE):
        error, status = failed(xero_rig, source_id, ErrorClass.NEEDS_ATTENTION)
        assert error.startswith(
            "Xero could not read syncbot's request (a syncbot bug; please report it):"
            " send 1 to 1 invoices per request"
        ), error
        assert status == "400"
    assert xero_rig.sim.bills() == []


# -- tokens and tenants ---------------------------------------------------------------------------


def test_a_401_on_the_write_is_refreshed_once_and_the_same_write_repeated(
    xero_rig: XeroRig,
) -> None:
    engine = synced(xero_rig, record(1))  # the contact and the account are cached
    xero_rig.sim.advance(1900)  # the stored access token expired at the double
    engine.submit([record(2, payee_id="VOL-1")])
    engine.sync(requested_by="tester", via="cli")
    assert states(xero_rig)[ONE][0] == "succeeded"
    [_, (refused, key), (booked, again)] = puts(xero_rig)
    assert (refused, booked) == (401, 200) and key == again
    assert xero_rig.sim.stats()["refreshes"] == 1
    assert xero_rig.booked() == {"RMB-2026-0001": 1, ONE: 1}


def test_a_401_that_persists_after_the_refresh_is_auth(xero_rig: XeroRig) -> None:
    xero_rig.sim.authority.config.access_lifetime = 1e-6  # every new token is dead at once
    xero_rig.sim.authority.expire_access_tokens()
    engine = synced(xero_rig)
    error, _ = failed(xero_rig, ONE, ErrorClass.AUTH)
    assert error.startswith(messages.auth_expired()), error
    assert "TokenExpired" in error
    outage = engine.outage()  # an auth outage whose alert names the command
    assert outage is not None and "`syncbot connect xero`" in outage.reason[:200]
    assert xero_rig.sim.bills() == []


def test_a_403_after_the_connection_was_deleted_names_the_organisation(
    xero_rig: XeroRig,
) -> None:
    sim = xero_rig.sim
    [connection] = sim.connections()
    bearer = {"Authorization": f"Bearer {sim.grant().access_token}"}
    assert httpx.delete(f"{sim.url}/connections/{connection.id}", headers=bearer).status_code == 204
    synced(xero_rig)
    error, status = failed(xero_rig, ONE, ErrorClass.AUTH)
    assert error.startswith(
        "Xero organisation 'Demo Company (US)' is no longer connected to syncbot: reconnect it."
    ), error
    assert "AuthenticationUnsuccessful" in error and status == "403"
    assert sim.bills() == []


class OtherTenant(httpx.HTTPTransport):
    """Real HTTP, the Accounting API asked for another tenant than ours: Xero's 403 while our
    tenant is still connected (the user's role or the app's scopes lack permission)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "xero-tenant-id" in request.headers:
            request.headers["xero-tenant-id"] = str(uuid.uuid4())
        return super().handle_request(request)


def test_a_403_while_still_connected_says_permission_is_lacking(xero_rig: XeroRig) -> None:
    with engine_over(xero_rig, OtherTenant()) as engine:
        engine.submit([record()])
        engine.sync(requested_by="tester", via="cli")
    error, status = failed(xero_rig, ONE, ErrorClass.AUTH)
    assert error.startswith(messages.no_permission()), error
    assert "AuthenticationUnsuccessful" in error and status == "403"
    assert xero_rig.sim.bills() == []


def test_a_404_says_check_the_base_url(xero_rig: XeroRig) -> None:
    synced(xero_rig, xero_api_base_url=f"{xero_rig.sim.url}/wrong/api.xro/2.0")
    error, status = failed(xero_rig, ONE, ErrorClass.NEEDS_ATTENTION)
    assert error.startswith(messages.NOT_FOUND) and status == "404"
    assert "cannot be found" in error
    assert xero_rig.sim.bills() == []


# -- limits ---------------------------------------------------------------------------------------


def test_a_minute_429_waits_its_retry_after_and_books_once(xero_rig: XeroRig) -> None:
    xero_rig.sim.set_config(rate_per_minute=2)  # contacts, accounts, then the write: 429
    engine = synced(xero_rig)
    error, status = failed(xero_rig, ONE, ErrorClass.TRANSIENT)
    assert status == "429" and error.startswith("Xero asked syncbot to slow down (rate limit);")
    assert "sent again with the same Idempotency-Key after" in error
    assert "Rate limit exceeded" in error
    due = engine.history(ONE).next_attempt_at
    assert due is not None and due > xero_rig.clock()
    xero_rig.clock.advance(minutes=1)  # the next attempt is due, within the key's window
    engine.sync(requested_by="scheduler", via="scheduler")
    assert states(xero_rig)[ONE][0] == "succeeded"
    # The adapter waited out Retry-After (on its pacing clock, which moves the double's): the
    # same limit of 2 a minute let the resend through, and nothing was refused again.
    [(refused, key), (booked, again)] = puts(xero_rig)
    assert (refused, booked) == (429, 200) and key == again
    assert xero_rig.sim.stats()["rate_limited"] == 1
    assert xero_rig.booked() == {ONE: 1}


def spend_the_day(rig: XeroRig) -> None:
    """Another app spends the tenant's whole day at Xero (the double's daily limit of 1)."""
    rig.sim.set_config(daily_limit=1)  # a fresh day window
    headers = {
        "Authorization": f"Bearer {rig.sim.grant().access_token}",
        "xero-tenant-id": rig.xero.tenant_id,
    }
    answer = httpx.get(f"{rig.sim.url}/api.xro/2.0/Organisation", headers=headers, timeout=5)
    assert answer.status_code == 200


def test_a_daily_429_pauses_the_tenant_and_says_when_it_resumes(xero_rig: XeroRig) -> None:
    engine = synced(xero_rig, record(1))  # the contact and the account are cached
    spend_the_day(xero_rig)
    engine.submit([record(2, payee_id="VOL-1")])
    engine.sync(requested_by="tester", via="cli")
    error, status = failed(xero_rig, ONE, ErrorClass.TRANSIENT)
    assert [s for s, _ in puts(xero_rig)] == [200, 429] and status == "429"
    assert re.fullmatch(
        r"Xero's daily API limit for this organisation is used up; syncing resumes by itself"
        r" at about \d\d:\d\d UTC on \d{4}-\d\d-\d\d\. \[Xero HTTP 429; [^\]]+\]",
        error,
    ), error
    pause = engine.paused()
    assert pause is not None and pause.until - xero_rig.clock() > timedelta(hours=23)
    assert error.startswith(f"{pause.reason} [Xero HTTP 429")  # Xero's own words follow
    sent = len(xero_rig.sim.requests())
    xero_rig.clock.advance(hours=1)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert len(xero_rig.sim.requests()) == sent  # paused: nothing is sent
    xero_rig.clock.advance(hours=24)  # the pause is over
    xero_rig.sim.set_config(daily_limit=5_000)  # and Xero's next day has begun
    engine.sync(requested_by="scheduler", via="scheduler")
    assert states(xero_rig)[ONE][0] == "succeeded"
    assert xero_rig.booked() == {"RMB-2026-0001": 1, ONE: 1}


# -- uncertain outcomes ---------------------------------------------------------------------------


def test_a_500_is_uncertain_and_settled_by_lookup_never_resent(xero_rig: XeroRig) -> None:
    xero_rig.sim.faults.add(XeroFault("book_then_500", count=1))
    engine = synced(xero_rig, xero_settle_seconds=180)
    assert states(xero_rig)[ONE] == ("failed", ErrorClass.TRANSIENT, False)
    [(outcome, status, error)] = attempts(xero_rig, ONE)
    assert (outcome, status) == ("uncertain", 500)
    assert "UnknownErrorException" in (error or "")
    engine.retry_all(requested_by="U1", via="cli")  # before the settle time: nothing sent
    assert len(puts(xero_rig)) == 1
    xero_rig.clock.advance(seconds=200)
    assert engine.retry_all(requested_by="U1", via="cli").succeeded
    assert len(puts(xero_rig)) == 1 and xero_rig.booked() == {ONE: 1}
    [bill] = xero_rig.sim.bills()
    assert engine.history(ONE).accounting_ref == bill.invoice_id


def test_a_503_offline_is_resent_with_the_same_key_and_booked_once(xero_rig: XeroRig) -> None:
    xero_rig.sim.faults.add(XeroFault("offline", count=1))
    synced(xero_rig)
    assert states(xero_rig)[ONE][0] == "succeeded"
    [(offline, first_key), (booked, second_key)] = puts(xero_rig)
    assert (offline, booked) == (503, 200) and first_key == second_key
    assert xero_rig.booked() == {ONE: 1}
