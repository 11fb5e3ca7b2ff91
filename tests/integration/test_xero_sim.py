"""The Xero double over real loopback HTTP: one test (or more) per bullet of the contract's
section 10 (/work/shared/contracts/xero.md), asserting what it books and what it answers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sync_engine.xero_sim import Contact, XeroFault, XeroSimulator

CLIENT = ("sim-client-id", "sim-client-secret")
API = "/api.xro/2.0"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Xero:
    """A running double with one organisation, a contact, an account and a token."""

    def __init__(self, sim: XeroSimulator, clock: Clock) -> None:
        self.sim, self.clock, self.url = sim, clock, sim.url
        org = sim.org()
        self.jane: Contact = org.add_contact("Jane Doe", account_number="VOL-88")
        org.add_account("6100", "Volunteer expenses")
        self.token = sim.grant().access_token
        self.http = httpx.Client(base_url=sim.url, timeout=10)

    def headers(self, **extra: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "xero-tenant-id": self.sim.tenant_id,
            "Accept": "application/json",
            **extra,
        }

    def invoice(self, number: str = "RMB-1", amount: str = "42.50", **fields: Any) -> str:
        """One invoice object as JSON text, its amount written exactly."""
        base: dict[str, Any] = {
            "Type": "ACCPAY",
            "Contact": {"ContactID": self.jane.contact_id},
            "Date": "2026-11-20",
            "DueDate": "2026-11-20",
            "InvoiceNumber": number,
            "CurrencyCode": "USD",
            "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax",
            "LineItems": [
                {"Description": f"Mileage | {number}", "Quantity": 1, "AccountCode": "6100"}
            ],
        }
        base.update(fields)
        return json.dumps(base).replace('"Quantity": 1', f'"Quantity": 1, "UnitAmount": {amount}')

    def put(
        self, *invoices: str, key: str | None = None, summarize: bool = False, **kw: Any
    ) -> httpx.Response:
        body = '{"Invoices":[' + ",".join(invoices) + "]}"
        query = "?summarizeErrors=false" if not summarize else ""
        extra = {"Idempotency-Key": key} if key is not None else {}
        headers = self.headers(**extra, **{"Content-Type": "application/json"})
        return self.http.put(f"{API}/Invoices{query}", content=body, headers=headers, **kw)

    def get(self, route: str, **params: str) -> httpx.Response:
        return self.http.get(f"{API}/{route}", params=params, headers=self.headers())


@pytest.fixture
def xero() -> Iterator[Xero]:
    clock = Clock()
    with XeroSimulator(clock=clock) as sim:
        double = Xero(sim, clock)
        yield double
        double.http.close()


def token(url: str, form: dict[str, str], auth: tuple[str, str] = CLIENT) -> httpx.Response:
    return httpx.post(url + "/connect/token", data=form, auth=auth)


def refresh(url: str, refresh_token: str) -> httpx.Response:
    return token(url, {"grant_type": "refresh_token", "refresh_token": refresh_token})


# -- token endpoint, access tokens ----------------------------------------------------------


def test_code_flow_checks_the_client_and_spends_each_code_once(xero: Xero) -> None:
    redirect = "http://localhost:8000/xero/callback"
    consent = httpx.get(
        xero.url + "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT[0],
            "redirect_uri": redirect,
            "scope": "offline_access accounting.invoices accounting.contacts.read",
            "state": "s-1",
        },
    )
    assert consent.status_code == 302
    back = parse_qs(urlsplit(consent.headers["Location"]).query)
    assert back["state"] == ["s-1"] and "realmId" not in back
    form = {"grant_type": "authorization_code", "code": back["code"][0], "redirect_uri": redirect}
    assert token(xero.url, form, ("sim-client-id", "wrong")).json()["error"] == "invalid_client"
    first = token(xero.url, form)
    assert first.status_code == 200
    body = first.json()
    assert body["expires_in"] == 1800 and body["token_type"] == "Bearer" and "scope" in body
    again = token(xero.url, form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_refresh_rotates_with_a_grace_from_first_use_then_invalid_grant(xero: Xero) -> None:
    old = xero.sim.grant().refresh_token
    new = refresh(xero.url, old).json()["refresh_token"]
    assert new != old
    xero.clock.now += 29 * 60  # within 30 minutes of the old token's first use
    assert refresh(xero.url, old).status_code == 200
    xero.clock.now += 2 * 60
    late = refresh(xero.url, old)
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_refresh_tokens_expire_unused_and_can_be_revoked(xero: Xero) -> None:
    idle = xero.sim.grant().refresh_token
    xero.clock.now += 60 * 86_400
    assert refresh(xero.url, idle).status_code == 400
    fresh = xero.sim.grant().refresh_token
    assert httpx.post(xero.url + "/_sim/oauth/revoke-all").status_code == 200
    revoked = refresh(xero.url, fresh)
    assert revoked.json()["error"] == "invalid_grant"
    assert xero.get("Organisation").status_code == 401


def test_an_expired_access_token_gets_a_401_token_expired_problem(xero: Xero) -> None:
    assert xero.get("Organisation").status_code == 200
    xero.clock.now += 1801
    answer = xero.get("Organisation")
    assert answer.status_code == 401
    assert answer.json()["Detail"].startswith("TokenExpired: token expired at ")
    assert answer.json()["Title"] == "Unauthorized"


# -- connections and the tenant header ----------------------------------------------------


def test_connections_list_and_delete_and_the_tenant_header(xero: Xero) -> None:
    bearer = {"Authorization": f"Bearer {xero.token}"}
    listed = httpx.get(xero.url + "/connections", headers=bearer).json()
    assert [(c["tenantId"], c["tenantType"]) for c in listed] == [
        (xero.sim.tenant_id, "ORGANISATION")
    ]
    event = listed[0]["authEventId"]
    filtered = httpx.get(xero.url + "/connections", params={"authEventId": "x"}, headers=bearer)
    assert filtered.json() == []
    assert httpx.get(xero.url + "/connections", params={"authEventId": event}, headers=bearer)
    no_header = httpx.get(f"{xero.url}{API}/Organisation", headers=bearer)
    assert (
        no_header.status_code == 403 and no_header.json()["Detail"] == "AuthenticationUnsuccessful"
    )
    other = {**xero.headers(), "xero-tenant-id": "00000000-0000-0000-0000-000000000000"}
    assert httpx.get(f"{xero.url}{API}/Organisation", headers=other).status_code == 403
    gone = httpx.delete(f"{xero.url}/connections/{listed[0]['id']}", headers=bearer)
    assert gone.status_code == 204
    assert xero.get("Organisation").status_code == 403
    assert httpx.get(xero.url + "/connections", headers=bearer).json() == []


# -- the routes -------------------------------------------------------------------------


def test_contacts_accounts_organisation_and_invoice_lookups(xero: Xero) -> None:
    org = xero.sim.org()
    org.add_contact("Old Pal", account_number="VOL-1", status="ARCHIVED")
    org.add_account("6200", "Retired", status="ARCHIVED")
    by_number = xero.get("Contacts", where='AccountNumber=="VOL-88"').json()["Contacts"]
    assert [c["ContactID"] for c in by_number] == [xero.jane.contact_id]
    by_name = xero.get("Contacts", where='Name=="jane doe"').json()["Contacts"]
    assert [c["Name"] for c in by_name] == ["Jane Doe"]
    assert xero.get("Contacts", where='AccountNumber=="VOL-1"').json()["Contacts"] == []
    archived = xero.get("Contacts", where='AccountNumber=="VOL-1"', includeArchived="true")
    assert archived.json()["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    accounts = xero.get("Accounts", where='Code=="6200"').json()["Accounts"]
    assert [(a["Code"], a["Status"]) for a in accounts] == [("6200", "ARCHIVED")]
    assert xero.get("Contacts", where="Name.StartsWith(1)").status_code == 400
    orgs = xero.get("Organisation").json()["Organisations"]
    assert orgs[0]["BaseCurrency"] == "USD" and orgs[0]["OrganisationStatus"] == "ACTIVE"
    assert xero.put(xero.invoice("RMB-7")).status_code == 200
    found = xero.get("Invoices", InvoiceNumbers="rmb-7,RMB-8", page="1").json()["Invoices"]
    assert [(i["InvoiceNumber"], i["Total"]) for i in found] == [("RMB-7", 42.5)]
    assert xero.get("Invoices", InvoiceNumbers="RMB-8").json()["Invoices"] == []
    assert xero.http.get("/api.xro/2.0/Nope", headers=xero.headers()).status_code == 404


def test_money_stays_decimal_on_the_wire(xero: Xero) -> None:
    line = {"Description": "a", "Quantity": 1, "UnitAmount": 0, "AccountCode": "6100"}
    items = [dict(line, UnitAmount=f"__{i}__") for i in range(3)]
    body = xero.invoice("RMB-2", LineItems=items)
    for i, amount in enumerate(("0.10", "0.20", "1234567890.10")):
        body = body.replace(f'"__{i}__"', amount)
    answer = xero.put(body)
    assert answer.status_code == 200
    assert '"Total":1234567890.40' in answer.text
    assert xero.sim.bills()[0].total == Decimal("1234567890.40")


# -- invoice checks ---------------------------------------------------------------------


def test_a_contact_id_that_is_no_guid_is_a_500_and_nothing_is_booked(xero: Xero) -> None:
    answer = xero.put(xero.invoice("RMB-1"), xero.invoice("RMB-2", Contact={"ContactID": "x"}))
    assert answer.status_code == 500 and answer.json()["ErrorNumber"] == 500
    assert xero.sim.bills() == []


def test_invoice_checks_refuse_per_element(xero: Xero) -> None:
    org = xero.sim.org()
    archived = org.add_contact("Gone", status="ARCHIVED")
    org.add_account("6300", "Closed", status="ARCHIVED")
    org.lock_date = date(2026, 10, 31)
    bad: dict[str, dict[str, Any]] = {
        "U": {"Contact": {"ContactID": "00000000-0000-0000-0000-000000000001"}},
        "A": {"Contact": {"ContactID": archived.contact_id}},
        "C": {"CurrencyCode": "EUR"},
        "L": {"Date": "2026-10-31"},
        "N": {"InvoiceNumber": "N" * 256},
    }
    items = [xero.invoice(k, **fields) for k, fields in bad.items()]
    items.append(xero.invoice("K").replace('"6100"', '"6300"'))
    answer = xero.put(*items)
    assert answer.status_code == 200
    elements = answer.json()["Invoices"]
    assert all(e["StatusAttributeString"] == "ERROR" and e["HasErrors"] for e in elements)
    messages = " | ".join(m["Message"] for e in elements for m in e["ValidationErrors"])
    for expected in (
        "could not be found",
        "archived",
        "currency code EUR",
        "cannot be before the period lock date",
        "at most 255",
        "'6300' is not a valid code",
    ):
        assert expected in messages
    assert xero.sim.bills() == []


def test_duplicate_numbers_are_accepted_and_an_unknown_name_creates_a_contact(
    xero: Xero,
) -> None:
    assert xero.put(xero.invoice("RMB-1")).status_code == 200
    assert xero.put(xero.invoice("RMB-1")).status_code == 200
    assert xero.sim.number_counts() == {"RMB-1": 2}
    named = xero.put(xero.invoice("RMB-3", Contact={"Name": "Jane Do"}))
    assert named.json()["Invoices"][0]["StatusAttributeString"] == "OK"
    assert xero.sim.stats()["contacts_created"] == 1
    known = xero.put(xero.invoice("RMB-4", Contact={"Name": "Jane Doe"}))
    assert known.json()["Invoices"][0]["Contact"]["ContactID"] == xero.jane.contact_id
    assert xero.sim.stats()["contacts_created"] == 1


# -- summarizeErrors ----------------------------------------------------------------------


def test_summarize_errors_false_answers_200_per_element(xero: Xero) -> None:
    good, warned = xero.invoice("RMB-1"), xero.invoice("RMB-2", Total=99)
    bad = xero.invoice("RMB-3", CurrencyCode="XYZ")
    answer = xero.put(good, warned, bad)
    assert answer.status_code == 200
    states = {e["InvoiceNumber"]: e["StatusAttributeString"] for e in answer.json()["Invoices"]}
    assert states == {"RMB-1": "OK", "RMB-2": "WARNING", "RMB-3": "ERROR"}
    assert sorted(xero.sim.number_counts()) == ["RMB-1", "RMB-2"]


def test_without_summarize_errors_a_400_lists_only_failures_yet_books_the_rest(
    xero: Xero,
) -> None:
    answer = xero.put(xero.invoice("RMB-1"), xero.invoice("RMB-2", Date="nope"), summarize=True)
    assert answer.status_code == 400
    body = answer.json()
    assert body["ErrorNumber"] == 10 and body["Type"] == "ValidationException"
    assert [e["InvoiceNumber"] for e in body["Elements"]] == ["RMB-2"]
    assert xero.sim.number_counts() == {"RMB-1": 1}  # booked, its id lost to the client


# -- Idempotency-Key ---------------------------------------------------------------------


def test_idempotency_key_replays_refuses_other_bodies_and_expires(xero: Xero) -> None:
    assert xero.put(xero.invoice(), key="k" * 129).status_code == 400
    first = xero.put(xero.invoice(), key="sb-1-g0")
    again = xero.put(xero.invoice(), key="sb-1-g0")
    assert again.status_code == 200 and again.json() == first.json()
    assert xero.sim.number_counts() == {"RMB-1": 1} and xero.sim.stats()["replays"] == 1
    other = xero.put(xero.invoice(amount="43.00"), key="sb-1-g0")
    assert other.status_code == 400 and "different request" in other.json()["Message"]
    assert "Elements" not in other.json()
    xero.clock.now += 359
    assert xero.put(xero.invoice(), key="sb-1-g0").json() == first.json()
    xero.clock.now += 2  # 6 minutes after the first call: the key counts as new
    assert xero.put(xero.invoice(), key="sb-1-g0").status_code == 200
    assert xero.sim.number_counts() == {"RMB-1": 2}


def test_a_concurrent_repeat_waits_for_the_first_answer(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("book_late", count=1, seconds=0.5))
    answers: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: answers.append(xero.put(xero.invoice(), key="same")))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert xero.sim.number_counts() == {"RMB-1": 1}


def test_a_500_is_cached_under_its_key(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("book_then_500", count=1))
    assert xero.put(xero.invoice(), key="k500").status_code == 500
    repeat = xero.put(xero.invoice(), key="k500")
    assert repeat.status_code == 500
    assert xero.sim.number_counts() == {"RMB-1": 1}  # booked once, never again


# -- limits ---------------------------------------------------------------------------


def test_minute_limit_answers_429_with_headers_before_the_key_store(xero: Xero) -> None:
    xero.sim.set_config(rate_per_minute=2)
    first = xero.get("Organisation")
    assert first.headers["X-MinLimit-Remaining"] == "1"
    assert first.headers["X-DayLimit-Remaining"] == "4999"
    assert first.headers["X-AppMinLimit-Remaining"] == "9999"
    assert xero.put(xero.invoice("RMB-0")).status_code == 200
    refused = xero.put(xero.invoice(), key="kk")
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    xero.clock.now += 61
    assert xero.put(xero.invoice(), key="kk").status_code == 200  # the key was not stored
    assert xero.sim.number_counts() == {"RMB-0": 1, "RMB-1": 1}


def test_daily_and_app_limits(xero: Xero) -> None:
    xero.sim.set_config(daily_limit=2)
    assert [xero.get("Organisation").status_code for _ in range(2)] == [200, 200]
    day = xero.get("Organisation")
    assert day.status_code == 429 and day.headers["X-Rate-Limit-Problem"] == "day"
    assert int(day.headers["Retry-After"]) > 3600
    xero.sim.set_config(daily_limit=0, app_rate_per_minute=1)
    assert xero.get("Organisation").status_code == 200
    app = xero.get("Organisation")
    assert app.status_code == 429 and app.headers["X-Rate-Limit-Problem"] == "appminute"


def test_at_most_five_calls_in_progress_per_tenant(xero: Xero) -> None:
    xero.sim.set_config(latency_seconds=1.0)
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=xero.url, timeout=10) as client:
            statuses.append(client.get(f"{API}/Organisation", headers=xero.headers()).status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 5 and statuses.count(429) == 3
    problems = xero.sim.stats()["by_status"]
    assert problems == {"200": 5, "429": 3}


# -- fault plan -------------------------------------------------------------------------


def test_book_then_drop_books_and_the_same_key_replays_the_booking(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("book_then_drop", count=1))
    with pytest.raises(httpx.TransportError):
        xero.put(xero.invoice(), key="kd")
    assert xero.sim.number_counts() == {"RMB-1": 1}
    repeat = xero.put(xero.invoice(), key="kd")
    assert repeat.json()["Invoices"][0]["InvoiceID"] == xero.sim.bills()[0].invoice_id
    assert xero.sim.number_counts() == {"RMB-1": 1}


def test_book_late_books_after_the_client_gave_up(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("book_late", count=1, seconds=0.6))
    with pytest.raises(httpx.ReadTimeout):
        xero.put(xero.invoice(), key="kl", timeout=0.2)
    assert xero.sim.number_counts() == {}
    repeat = xero.put(xero.invoice(), key="kl")  # waits for the first, then replays it
    assert repeat.status_code == 200 and xero.sim.number_counts() == {"RMB-1": 1}


def test_offline_and_a_down_key_store_book_nothing(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("offline", count=1))
    xero.sim.faults.add(XeroFault("key_store_down", count=1))
    offline = xero.put(xero.invoice(), key="ko")
    assert offline.status_code == 503 and offline.text == "Organisation offline"
    assert xero.put(xero.invoice(), key="ko").status_code == 500
    assert xero.sim.number_counts() == {}
    assert xero.put(xero.invoice(), key="ko").status_code == 200  # neither was stored


def test_shuffled_element_order_targets_invoice_numbers(xero: Xero) -> None:
    xero.sim.set_config(seed=7)
    xero.sim.faults.add(XeroFault("shuffle", count=1, invoice_numbers=("RMB-3",)))
    numbers = [f"RMB-{i}" for i in range(8)]
    shuffled = xero.put(*[xero.invoice(n) for n in numbers]).json()["Invoices"]
    got = [e["InvoiceNumber"] for e in shuffled]
    assert sorted(got) == sorted(numbers) and got != numbers
    plain = xero.put(*[xero.invoice(n) for n in numbers]).json()["Invoices"]
    assert [e["InvoiceNumber"] for e in plain] == numbers


# -- admin and inspection over HTTP -----------------------------------------------------


def test_admin_endpoints_seed_archive_lock_and_inspect(xero: Xero) -> None:
    admin = httpx.Client(base_url=xero.url + "/_sim/", timeout=10)
    bob = admin.post("contacts", json={"name": "Bob Roe", "account_number": "VOL-9"}).json()
    assert admin.post("accounts", json={"code": "6400", "name": "Honoraria"}).status_code == 200
    body = xero.invoice("HON-1", Contact={"ContactID": bob["ContactID"]}).replace("6100", "6400")
    assert xero.put(body).json()["Invoices"][0]["StatusAttributeString"] == "OK"
    assert admin.post("archive", json={"contact_id": bob["ContactID"]}).status_code == 200
    assert xero.put(body).json()["Invoices"][0]["StatusAttributeString"] == "ERROR"
    assert admin.post("lock-date", json={"date": "2026-12-31"}).status_code == 200
    locked = xero.put(xero.invoice("RMB-1")).json()["Invoices"][0]
    assert "period lock date" in locked["ValidationErrors"][0]["Message"]
    assert admin.post("lock-date", json={"date": None}).status_code == 200
    faults = admin.post("faults", json=[{"kind": "offline", "count": 1}])
    assert faults.json()["faults"][0]["kind"] == "offline"
    assert xero.put(xero.invoice("RMB-1")).status_code == 503
    assert admin.post("faults", json={"kind": "bogus"}).status_code == 400
    assert admin.post("subscription", json={"status": "SUSPENDED"}).status_code == 200
    assert xero.get("Contacts").status_code == 403
    admin.post("subscription", json={"status": "ACTIVE"})
    invoices = admin.get("invoices", params={"number": "HON-1"}).json()
    assert len(invoices["HON-1"]) == 1
    stats = admin.get("stats").json()
    assert stats["requests_by_route"]["PUT Invoices"] == 4
    assert stats["bills"] == 1 and stats["duplicate_numbers"] == {}
    logged = admin.get("requests").json()["requests"]
    assert logged[0]["source_ids"] == ["HON-1"]
    assert admin.post("clock", json={"advance": 1801}).status_code == 200
    assert xero.get("Contacts").status_code == 401
    assert admin.post("nope", json={}).status_code == 404
    admin.close()


def test_an_oversized_body_is_refused_unread(xero: Xero) -> None:
    huge = xero.put(xero.invoice(LineItems=[{"Description": "x" * (1 << 20)}]))
    assert huge.status_code == 413
    assert xero.put(xero.invoice()).status_code == 200


# -- the command line -------------------------------------------------------------------


def test_syncbot_ledger_sim_xero_serves_on_the_given_port() -> None:
    command = "from bot.cli import main; main()"
    argv = [sys.executable, "-c", command, "ledger-sim", "xero", "--port", "0"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            process.stdout.readline()  # "Xero double listening on ..."
            settings = json.loads(process.stdout.readline())
            base, tenant = settings["XERO_API_BASE_URL"], settings["XERO_TENANT_ID"]
            root = base.removesuffix(API)
            tokens = httpx.post(root + "/_sim/oauth/grant", json={}).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            connections = httpx.get(settings["XERO_CONNECTIONS_URL"], headers=headers).json()
            assert [c["tenantId"] for c in connections] == [tenant]
            org = httpx.get(base + "/Organisation", headers={**headers, "xero-tenant-id": tenant})
            assert org.status_code == 200
            assert "secret" not in json.dumps(settings).lower()
        finally:
            process.terminate()
            process.wait(timeout=10)
    bad = subprocess.run(
        [*argv, "--faults", "/dev/null"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_post_updates_a_known_invoice_and_admin_sets_a_status(xero: Xero) -> None:
    booked = xero.put(xero.invoice()).json()["Invoices"][0]
    update = json.dumps({"Invoices": [{"InvoiceID": booked["InvoiceID"], "Status": "VOIDED"}]})
    posted = xero.http.post(
        f"{API}/Invoices?summarizeErrors=false", content=update, headers=xero.headers()
    )
    assert posted.json()["Invoices"][0]["Status"] == "VOIDED"
    assert xero.sim.number_counts() == {"RMB-1": 1}
    paid = {"invoice_id": booked["InvoiceID"], "status": "PAID"}
    assert httpx.post(xero.url + "/_sim/invoice-status", json=paid).json()["Status"] == "PAID"
    looked = xero.get("Invoices", InvoiceNumbers="RMB-1").json()["Invoices"]
    assert [i["Status"] for i in looked] == ["PAID"]


def test_maintenance_503_and_reading_one_invoice_by_id(xero: Xero) -> None:
    xero.sim.faults.add(XeroFault("maintenance", count=1, invoice_numbers=("RMB-5",)))
    assert xero.put(xero.invoice("RMB-6")).status_code == 200  # not targeted
    down = xero.put(xero.invoice("RMB-5"))
    assert down.status_code == 503 and down.text == "Not Available"
    booked = xero.put(xero.invoice("RMB-5", Date=None)).json()["Invoices"][0]
    one = xero.get(f"Invoices/{booked['InvoiceID']}").json()["Invoices"]
    assert [i["InvoiceNumber"] for i in one] == ["RMB-5"]
    assert xero.get("Invoices/00000000-0000-0000-0000-000000000000").status_code == 404
