"""The QuickBooks Online double over real loopback HTTP: one test (or more) per bullet of the
contract's section 10, asserting what it books (Bills per `syncbot:` marker) and answers."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sync_engine.oauth_sim import INTUIT_DAILY, OAuthConfig
from sync_engine.quickbooks_sim import (
    Account,
    PlannedFault,
    QboConfig,
    QuickBooksSimulator,
    Vendor,
)

TLS = ssl.create_default_context()
CLIENT = ("sim-client-id", "sim-client-secret")
AMOUNT = "__AMOUNT__"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Qbo:
    """A running double with one vendor and one expense account, and an authorized client."""

    sim: QuickBooksSimulator
    client: httpx.Client
    vendor: Vendor
    account: Account

    def path(self, route: str) -> str:
        """The API path of `route` in the double's company."""
        return f"/v3/company/{self.sim.realm_id}/{route}"

    def bill(self, source_id: str = "RMB-1", amount: str = "42.50", **changes: Any) -> str:
        """A Bill body as the adapter writes it, the amount a JSON number written exactly."""
        body: dict[str, Any] = {
            "VendorRef": {"value": self.vendor.id},
            "TxnDate": "2026-11-20",
            "DueDate": "2026-11-20",
            "DocNumber": source_id,
            "PrivateNote": f"syncbot:{source_id} | reimbursement | approved by Finance lead",
            "Line": [
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": AMOUNT,
                    "Description": "Mileage, food bank drive",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": self.account.id}},
                }
            ],
        }
        body.update(changes)
        return json.dumps(body).replace(f'"{AMOUNT}"', amount)

    def post_bill(self, body: str, rid: str | None = None, **options: Any) -> httpx.Response:
        """POST bill with minorversion and, if given, a requestid."""
        params = {"minorversion": "75", **({"requestid": rid} if rid else {})}
        return self.client.post(self.path("bill"), params=params, content=body, **options)

    def batch(self, bodies: list[str], rid: str | None = None) -> httpx.Response:
        """POST batch with one create item per Bill body, bIds b0, b1, ..."""
        items = ",".join(
            f'{{"bId":"b{i}","operation":"create","Bill":{body}}}' for i, body in enumerate(bodies)
        )
        params = {"minorversion": "75", **({"requestid": rid} if rid else {})}
        return self.client.post(
            self.path("batch"), params=params, content=f'{{"BatchItemRequest":[{items}]}}'
        )

    def query(self, text: str) -> httpx.Response:
        """GET query."""
        return self.client.get(self.path("query"), params={"query": text, "minorversion": "75"})


def read(response: httpx.Response) -> Any:
    """A body parsed as the adapter must: numbers kept as Decimal."""
    return json.loads(response.text, parse_float=Decimal)


def fault(response: httpx.Response) -> tuple[str, str]:
    """(type, code) of a Fault answer."""
    body = read(response)["Fault"]
    return body["type"], body["Error"][0]["code"]


@pytest.fixture
def start() -> Iterator[Callable[..., Qbo]]:
    """Start doubles (each with a vendor, an account and a client) stopped when the test ends."""
    with ExitStack() as stack:

        def started(
            config: QboConfig | None = None, oauth: OAuthConfig | None = None, **options: Any
        ) -> Qbo:
            sim = stack.enter_context(QuickBooksSimulator(config, oauth=oauth, **options))
            vendor = sim.add_vendor("Jane Doe", acct_num="VOL-88")
            account = sim.add_account("Volunteer expenses", acct_num="6100")
            headers = {
                "Authorization": f"Bearer {sim.grant().access_token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            }
            client = httpx.Client(base_url=sim.url, headers=headers, timeout=5.0, verify=TLS)
            stack.enter_context(client)
            return Qbo(sim, client, vendor, account)

        yield started


@pytest.fixture
def qbo(start: Callable[..., Qbo]) -> Qbo:
    """A double with its default limits and switches."""
    return start()


# -- Token endpoint: Basic auth, both grants, rotation, invalid_grant, invalid_client, races ---


def test_the_connect_flow_runs_against_the_doubles_own_oauth_endpoints(qbo: Qbo) -> None:
    redirect = "http://localhost:8765/callback"
    params = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": redirect,
        "state": "s1",
    }
    back = qbo.client.get("/connect/oauth2", params=params)
    query = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["Location"]).query).items()}
    assert query["realmId"] == qbo.sim.realm_id and query["state"] == "s1"
    form = {"grant_type": "authorization_code", "code": query["code"], "redirect_uri": redirect}
    tokens = httpx.post(qbo.sim.url + "/oauth2/v1/tokens/bearer", data=form, auth=CLIENT).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    info = qbo.client.get(qbo.path(f"companyinfo/{qbo.sim.realm_id}"), headers=headers)
    assert info.status_code == 200
    assert read(info)["CompanyInfo"]["CompanyName"] == "Sandbox Company_US_1"
    assert qbo.sim.requests_by_route()["POST token"] == 1
    assert qbo.sim.requests_by_route()["GET authorize"] == 1
    rotated = _refresh(qbo, tokens["refresh_token"])
    assert rotated.status_code == 200 and rotated.json()["refresh_token"] != tokens["refresh_token"]
    assert _refresh(qbo, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    bad = httpx.post(qbo.sim.url + "/oauth2/v1/tokens/bearer", data=form, auth=(CLIENT[0], "no"))
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_two_racing_refreshes_at_the_double_leave_one_winner(qbo: Qbo) -> None:
    refresh_token = qbo.sim.grant().refresh_token
    gate = threading.Barrier(2)
    codes: list[int] = []

    def race() -> None:
        gate.wait()
        codes.append(_refresh(qbo, refresh_token).status_code)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 400]


def test_the_daily_rotation_option_returns_the_same_refresh_token(
    start: Callable[..., Qbo],
) -> None:
    clock = Clock()
    qbo = start(oauth=OAuthConfig(rotation=INTUIT_DAILY), clock=clock)
    first = qbo.sim.grant().refresh_token
    assert _refresh(qbo, first).json()["refresh_token"] == first
    clock.now += 86_400
    assert _refresh(qbo, first).json()["refresh_token"] != first


def _refresh(qbo: Qbo, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return httpx.post(qbo.sim.url + "/oauth2/v1/tokens/bearer", data=form, auth=CLIENT)


# -- Access tokens: short lifetime, expired -> 401 AUTHENTICATION 3200 ---------------------------


def test_an_expired_access_token_gets_401_authentication_3200(start: Callable[..., Qbo]) -> None:
    clock = Clock()
    qbo = start(oauth=OAuthConfig(access_lifetime=60), clock=clock)
    assert qbo.client.get(qbo.path("preferences")).status_code == 200
    clock.now += 61
    expired = qbo.client.get(qbo.path("preferences"))
    assert expired.status_code == 401
    body = expired.json()["fault"]  # lower-case keys, as real 401s carry
    assert body["type"] == "AUTHENTICATION" and body["error"][0]["code"] == "3200"
    assert "Token expired" in body["error"][0]["detail"]
    assert qbo.client.get(qbo.path("preferences"), headers={"Authorization": ""}).status_code == 401
    assert qbo.sim.bills() == []


# -- Routes, unknown realm -> 403 3100, minorversion accepted ------------------------------------


def test_routes_answer_and_an_unknown_realm_is_403_3100(qbo: Qbo) -> None:
    for path in (f"companyinfo/{qbo.sim.realm_id}", "companyinfo/1"):
        assert qbo.client.get(qbo.path(path), params={"minorversion": "75"}).status_code == 200
    prefs = read(qbo.client.get(qbo.path("preferences")))["Preferences"]["CurrencyPrefs"]
    assert prefs == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    other = qbo.client.get("/v3/company/4620816365999999999/preferences")
    assert other.status_code == 403 and fault(other) == ("SERVICE", "3100")
    qbo.sim.add_company("4620816365999999999")  # exists, but the token is for another realm
    assert qbo.client.get("/v3/company/4620816365999999999/preferences").status_code == 403
    assert qbo.client.get(qbo.path("invoice")).status_code == 404
    assert qbo.sim.requests_by_route()["GET preferences"] == 3


# -- The query parser --------------------------------------------------------------------------


def test_queries_find_vendors_accounts_and_bills_with_backslash_escapes(qbo: Qbo) -> None:
    obrien = qbo.sim.add_vendor("O'Brien \\ Sons")
    found = read(qbo.query("select * from Vendor where AcctNum = 'VOL-88'"))["QueryResponse"]
    assert [v["Id"] for v in found["Vendor"]] == [qbo.vendor.id]
    escaped = qbo.query("select * from Vendor where DisplayName = 'O\\'Brien \\\\ Sons'")
    assert [v["Id"] for v in read(escaped)["QueryResponse"]["Vendor"]] == [obrien.id]
    account = read(qbo.query("SELECT * FROM Account WHERE Name = 'Volunteer expenses'"))
    assert account["QueryResponse"]["Account"][0]["Classification"] == "Expense"
    assert read(qbo.query("select * from Bill where DocNumber = 'RMB-1'"))["QueryResponse"] == {}
    qbo.post_bill(qbo.bill("RMB-1"))
    bills = read(qbo.query("select * from Bill where DocNumber = 'RMB-1'"))["QueryResponse"]
    assert bills["Bill"][0]["PrivateNote"].startswith("syncbot:RMB-1 ")
    nobody = qbo.query("select * from Vendor where DisplayName = 'Nobody'")
    assert read(nobody)["QueryResponse"] == {}  # no entity key at all, as integrators see


def test_inactive_vendors_are_left_out_unless_the_query_asks_for_active(qbo: Qbo) -> None:
    gone = qbo.sim.add_vendor("Old Payee", active=False)
    assert (
        read(qbo.query("select * from Vendor where DisplayName = 'Old Payee'"))["QueryResponse"]
        == {}
    )
    inactive = read(qbo.query("select * from Vendor where Active = 'false'"))["QueryResponse"]
    assert [v["Id"] for v in inactive["Vendor"]] == [gone.id]


def test_a_bad_query_or_a_refused_acctnum_is_400_4000(start: Callable[..., Qbo]) -> None:
    qbo = start(QboConfig(refuse_acctnum=("Vendor",)))
    for text in (
        "select * from Vendor where AcctNum = 'VOL-88'",
        "select * from Vendor where DisplayName = 'unterminated",
        "select Id from Vendor",
        "select * from Customer",
        "select * from Vendor where Nickname = 'x'",
    ):
        answer = qbo.query(text)
        assert answer.status_code == 400 and fault(answer) == ("ValidationFault", "4000"), text
    by_name = qbo.query("select * from Vendor where DisplayName = 'Jane Doe'")
    assert by_name.status_code == 200
    assert read(qbo.query("select * from Account where AcctNum = '6100'"))["QueryResponse"]


# -- Bill checks --------------------------------------------------------------------------------


def test_a_bill_is_booked_with_its_amount_exact_and_answered_200(qbo: Qbo) -> None:
    answer = qbo.post_bill(qbo.bill("RMB-2026-0142", "42.50"), "rid-1")
    assert answer.status_code == 200
    bill = read(answer)["Bill"]
    assert bill["TotalAmt"] == Decimal("42.50") and bill["DocNumber"] == "RMB-2026-0142"
    assert bill["VendorRef"] == {"value": qbo.vendor.id, "name": "Jane Doe"}
    assert '"TotalAmt":42.5,' in answer.text  # a JSON number, never a string or a float's tail
    [booked] = qbo.sim.bills()
    assert booked.total == Decimal("42.50") and booked.marker == "RMB-2026-0142"
    assert qbo.sim.marker_counts() == {"RMB-2026-0142": 1}


def test_unknown_or_inactive_vendors_and_accounts_are_2500_and_610(qbo: Qbo) -> None:
    cases = [
        (qbo.bill(VendorRef={"value": "9999"}), "2500"),
        (qbo.bill().replace(f'"value": "{qbo.account.id}"', '"value": "9998"'), "2500"),
    ]
    for body, code in cases:
        answer = qbo.post_bill(body)
        assert answer.status_code == 400 and fault(answer) == ("ValidationFault", code)
    qbo.vendor.active = False
    assert fault(qbo.post_bill(qbo.bill())) == ("ValidationFault", "610")
    qbo.vendor.active = True
    qbo.account.active = False
    assert fault(qbo.post_bill(qbo.bill())) == ("ValidationFault", "610")
    assert qbo.sim.bills() == []


def test_amounts_must_be_positive_and_within_the_currency_decimals(qbo: Qbo) -> None:
    for amount in ("0", "-5.00", "42.505"):
        answer = qbo.post_bill(qbo.bill(amount=amount))
        assert answer.status_code == 400 and fault(answer)[1] == "6000", amount
    qbo.sim.company().home_currency = "JPY"
    assert fault(qbo.post_bill(qbo.bill(amount="1000.5", CurrencyRef={"value": "JPY"}))) == (
        "ValidationFault",
        "6000",
    )
    yen = qbo.post_bill(qbo.bill("JPY-1", amount="123456", CurrencyRef={"value": "JPY"}))
    assert yen.status_code == 200 and read(yen)["Bill"]["TotalAmt"] == Decimal(123456)
    assert '"TotalAmt":123456,' in yen.text
    assert [bill.total for bill in qbo.sim.bills()] == [Decimal(123456)]


def test_the_currency_follows_the_preferences(qbo: Qbo) -> None:
    euro = qbo.bill("EUR-1", CurrencyRef={"value": "EUR"})
    assert fault(qbo.post_bill(euro)) == ("ValidationFault", "6000")  # multicurrency off
    company = qbo.sim.company()
    company.multicurrency = True
    assert fault(qbo.post_bill(euro)) == ("ValidationFault", "6000")  # vendor bills in USD
    qbo.vendor.currency = "EUR"
    assert qbo.post_bill(euro).status_code == 200
    assert qbo.sim.bills()[0].currency == "EUR"


def test_docnumber_and_note_lengths_are_checked(qbo: Qbo) -> None:
    assert fault(qbo.post_bill(qbo.bill("X" * 22))) == ("ValidationFault", "2050")
    note = "syncbot:RMB-9 " + "n" * 3987
    assert fault(qbo.post_bill(qbo.bill("RMB-9", PrivateNote=note))) == ("ValidationFault", "2050")
    assert qbo.post_bill(qbo.bill("X" * 21, PrivateNote=note[:4000])).status_code == 200
    assert fault(qbo.post_bill(qbo.bill(VendorRef=None))) == ("ValidationFault", "2020")
    assert fault(qbo.post_bill("{not json")) == ("ValidationFault", "2010")


def test_closed_books_company_status_and_duplicate_docnumbers(start: Callable[..., Qbo]) -> None:
    qbo = start(QboConfig(duplicate_docnumber_check=True))
    first = read(qbo.post_bill(qbo.bill("RMB-7")))["Bill"]
    dup = qbo.post_bill(qbo.bill("RMB-7"))
    assert fault(dup) == ("ValidationFault", "6140")
    assert f"TxnId={first['Id']}" in read(dup)["Fault"]["Error"][0]["Detail"]
    other = qbo.sim.add_vendor("John Roe")
    assert qbo.post_bill(qbo.bill("RMB-7", VendorRef={"value": other.id})).status_code == 200
    admin = httpx.post(qbo.sim.url + "/_sim/close-books", json={"through": "2026-11-20"})
    assert admin.status_code == 200
    assert fault(qbo.post_bill(qbo.bill("RMB-8"))) == ("ValidationFault", "6210")
    prefs = read(qbo.client.get(qbo.path("preferences")))["Preferences"]
    assert prefs["AccountingInfoPrefs"]["BookCloseDate"] == "2026-11-20"
    assert qbo.post_bill(qbo.bill("RMB-8", TxnDate="2026-11-21")).status_code == 200
    httpx.post(qbo.sim.url + "/_sim/company-status", json={"active": False})
    assert fault(qbo.post_bill(qbo.bill("RMB-9", TxnDate="2026-12-01"))) == (
        "ValidationFault",
        "6190",
    )
    assert qbo.sim.marker_counts() == {"RMB-7": 2, "RMB-8": 1}


# -- requestid: replayed without booking; switches to ignore it or answer 600 -------------------


def test_a_repeated_requestid_replays_the_stored_answer_without_booking(qbo: Qbo) -> None:
    first = qbo.post_bill(qbo.bill("RMB-1"), "rid-1")
    again = qbo.post_bill(qbo.bill("RMB-1"), "rid-1")
    assert again.status_code == 200 and read(again)["Bill"]["Id"] == read(first)["Bill"]["Id"]
    assert qbo.sim.marker_counts() == {"RMB-1": 1}
    refused = qbo.post_bill(qbo.bill("RMB-2", VendorRef={"value": "9999"}), "rid-2")
    qbo.sim.add_vendor("Late Vendor")
    assert qbo.post_bill(qbo.bill("RMB-2"), "rid-2").text == refused.text  # a stored refusal
    assert qbo.post_bill(qbo.bill("RMB-2"), "rid-3").status_code == 200
    too_long = qbo.post_bill(qbo.bill("RMB-3"), "r" * 51)
    assert too_long.status_code == 400 and "RMB-3" not in qbo.sim.marker_counts()


def test_the_requestid_switches_ignore_it_or_answer_600(start: Callable[..., Qbo]) -> None:
    ignoring = start(QboConfig(requestid_mode="ignore"))
    for _ in range(2):
        assert ignoring.post_bill(ignoring.bill("RMB-1"), "rid-1").status_code == 200
    assert ignoring.sim.marker_counts() == {"RMB-1": 2}  # the duplicates integrators report
    refusing = start(QboConfig(requestid_mode="refuse"))
    assert refusing.post_bill(refusing.bill("RMB-1"), "rid-1").status_code == 200
    again = refusing.post_bill(refusing.bill("RMB-1"), "rid-1")
    assert again.status_code == 400 and fault(again) == ("ValidationFault", "600")
    assert refusing.sim.marker_counts() == {"RMB-1": 1}


# -- The fault plan -----------------------------------------------------------------------------


def test_book_then_500_books_once_and_answers_a_system_fault(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("book_then_500", count=1))
    answer = qbo.post_bill(qbo.bill("RMB-1"), "rid-1")
    assert answer.status_code == 500 and fault(answer) == ("SystemFault", "10000")
    assert qbo.sim.marker_counts() == {"RMB-1": 1}
    replay = qbo.post_bill(qbo.bill("RMB-1"), "rid-1")  # a working requestid replays the booking
    assert replay.status_code == 200 and qbo.sim.marker_counts() == {"RMB-1": 1}


def test_book_then_drop_cuts_the_connection_after_booking(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("book_then_drop", count=1, doc_numbers=("RMB-1",)))
    with pytest.raises(httpx.RemoteProtocolError):
        qbo.post_bill(qbo.bill("RMB-1"))
    assert qbo.sim.marker_counts() == {"RMB-1": 1}
    assert qbo.post_bill(qbo.bill("RMB-2")).status_code == 200  # the fault was for RMB-1 only


def test_book_late_books_after_the_client_has_timed_out(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("book_late", count=1, seconds=1.5))
    with pytest.raises(httpx.ReadTimeout):
        qbo.post_bill(qbo.bill("RMB-1"), timeout=0.2)
    assert qbo.sim.marker_counts() == {}  # not yet: a lookup now would find nothing
    deadline = time.monotonic() + 10
    while not qbo.sim.marker_counts() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert qbo.sim.marker_counts() == {"RMB-1": 1}


def test_503_before_booking_and_a_200_carrying_a_fault_book_nothing(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("unavailable", count=1, routes=("bill",)))
    answer = qbo.post_bill(qbo.bill("RMB-1"))
    assert answer.status_code == 503 and fault(answer)[0] == "SystemFault"
    qbo.sim.faults.add(PlannedFault("fault", count=1, status=200, code="6000", detail="odd"))
    in_200 = qbo.post_bill(qbo.bill("RMB-1"))
    assert in_200.status_code == 200 and fault(in_200) == ("ValidationFault", "6000")
    assert "Bill" not in read(in_200)
    assert qbo.sim.bills() == []


def test_429_3001_with_and_without_retry_after(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("throttle", count=1, retry_after=7))
    qbo.sim.faults.add(PlannedFault("throttle", count=1, retry_after=None))
    first, second = qbo.post_bill(qbo.bill()), qbo.query("select * from Vendor")
    for answer in (first, second):
        assert answer.status_code == 429 and fault(answer) == ("SERVICE", "3001")
    assert first.headers["Retry-After"] == "7" and "Retry-After" not in second.headers
    assert qbo.sim.bills() == []


def test_faults_are_planned_and_cleared_through_the_admin_endpoint(qbo: Qbo) -> None:
    plan = [{"kind": "book_then_500", "count": 1, "doc_numbers": ["RMB-1"]}]
    assert httpx.post(qbo.sim.url + "/_sim/faults", json=plan).status_code == 200
    assert httpx.post(qbo.sim.url + "/_sim/faults", json={"kind": "nope"}).status_code == 400
    assert qbo.post_bill(qbo.bill("RMB-1")).status_code == 500
    httpx.post(qbo.sim.url + "/_sim/faults", json={"kind": "unavailable"})
    assert httpx.delete(qbo.sim.url + "/_sim/faults").json() == {"faults": []}
    assert qbo.post_bill(qbo.bill("RMB-2")).status_code == 200


# -- Batches ------------------------------------------------------------------------------------


def test_a_batch_over_30_items_is_1040_and_books_nothing(qbo: Qbo) -> None:
    answer = qbo.batch([qbo.bill(f"RMB-{i}") for i in range(31)])
    assert answer.status_code == 400 and fault(answer) == ("ValidationFault", "1040")
    assert qbo.sim.bills() == []


def test_batch_items_answer_an_entity_or_a_fault_in_shuffled_order(qbo: Qbo) -> None:
    bodies = [qbo.bill(f"RMB-{i}") for i in range(30)]
    bodies[3] = qbo.bill("RMB-3", VendorRef={"value": "9999"})
    answer = qbo.batch(bodies, "batch-rid-1")
    items = read(answer)["BatchItemResponse"]
    order = [item["bId"] for item in items]
    assert sorted(order) == sorted(f"b{i}" for i in range(30)) and order != [
        f"b{i}" for i in range(30)
    ]
    by_bid = {item["bId"]: item for item in items}
    assert by_bid["b3"]["Fault"]["type"] == "ValidationFault"
    assert by_bid["b3"]["Fault"]["Error"][0]["code"] == "2500"
    assert by_bid["b0"]["Bill"]["DocNumber"] == "RMB-0"
    assert len(qbo.sim.bills()) == 29 and "RMB-3" not in qbo.sim.marker_counts()
    assert qbo.batch(bodies, "batch-rid-1").status_code == 200  # replayed
    assert len(qbo.sim.bills()) == 29
    assert qbo.batch(bodies[:1], "x" * 37).status_code == 400  # batch requestids: 36 at most


def test_a_batch_item_system_fault_after_booking_and_a_missing_item(qbo: Qbo) -> None:
    qbo.sim.faults.add(PlannedFault("item_system_fault", count=1, doc_numbers=("RMB-1",)))
    qbo.sim.faults.add(PlannedFault("item_missing", count=1, doc_numbers=("RMB-2",)))
    qbo.sim.faults.add(PlannedFault("item_missing", count=1, doc_numbers=("RMB-3",), book=False))
    answer = qbo.batch([qbo.bill(f"RMB-{i}") for i in range(4)])
    by_bid = {item["bId"]: item for item in read(answer)["BatchItemResponse"]}
    assert sorted(by_bid) == ["b0", "b1"]
    assert by_bid["b1"]["Fault"]["type"] == "SystemFault"
    assert qbo.sim.marker_counts() == {"RMB-0": 1, "RMB-1": 1, "RMB-2": 1}


# -- Limits -------------------------------------------------------------------------------------


def test_the_default_limits_are_the_contracts() -> None:
    config = QboConfig()
    assert (config.rate_per_minute, config.concurrency, config.batch_per_minute) == (500, 10, 40)
    assert config.max_batch == 30


def test_more_than_500_requests_a_minute_get_429(qbo: Qbo) -> None:
    codes = [qbo.query("select * from Vendor").status_code for _ in range(501)]
    assert codes[:500] == [200] * 500
    assert codes[500] == 429
    assert qbo.sim.stats()["rate_limited"] == 1


def test_more_than_10_at_once_get_429(start: Callable[..., Qbo]) -> None:
    qbo = start(QboConfig(latency_seconds=2.0))
    gate = threading.Barrier(12)
    codes: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=qbo.sim.url, headers=qbo.client.headers, verify=TLS) as own:
            gate.wait()
            codes.append(own.get(qbo.path("preferences")).status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] * 10 + [429] * 2


def test_more_than_40_batch_calls_a_minute_get_429(qbo: Qbo) -> None:
    codes = [qbo.batch([qbo.bill(f"RMB-{i}")]).status_code for i in range(41)]
    assert codes[:40] == [200] * 40 and codes[40] == 429
    assert len(qbo.sim.bills()) == 40


# -- Inspection and admin ----------------------------------------------------------------------


def test_inspection_counts_bills_per_marker_and_requests_per_route(qbo: Qbo) -> None:
    qbo.post_bill(qbo.bill("RMB-1"))
    qbo.batch([qbo.bill("RMB-2"), qbo.bill("RMB-3")])
    qbo.query("select * from Bill where DocNumber = 'RMB-1'")
    url = qbo.sim.url
    stats = httpx.get(url + "/_sim/stats").json()
    assert stats["requests_by_route"] == {"GET query": 1, "POST batch": 1, "POST bill": 1}
    assert stats["bills"] == 3 and stats["duplicate_markers"] == {}
    bills = httpx.get(url + "/_sim/bills", params={"marker": "RMB-2"}).json()
    assert bills["by_marker"] == {"RMB-1": 1, "RMB-2": 1, "RMB-3": 1}
    assert [bill["DocNumber"] for bill in bills["bills"]] == ["RMB-2"]
    assert [entry.source_ids for entry in qbo.sim.requests()][:2] == [["RMB-1"], ["RMB-2", "RMB-3"]]


def test_vendors_accounts_and_preferences_are_set_up_through_admin_endpoints(qbo: Qbo) -> None:
    url = qbo.sim.url
    vendor = httpx.post(
        url + "/_sim/vendors", json={"display_name": "New Payee", "acct_num": "V-9"}
    )
    assert vendor.status_code == 200
    found = read(qbo.query("select * from Vendor where AcctNum = 'V-9'"))["QueryResponse"]
    assert found["Vendor"][0]["Id"] == vendor.json()["Id"]
    update = {"id": vendor.json()["Id"], "active": False}
    assert httpx.post(url + "/_sim/vendors/update", json=update).json()["Active"] is False
    account = httpx.post(url + "/_sim/accounts", json={"name": "Honoraria", "acct_num": "6200"})
    assert account.json()["Classification"] == "Expense"
    prefs = httpx.post(
        url + "/_sim/preferences", json={"home_currency": "jpy", "multicurrency": True}
    )
    assert prefs.json()["CurrencyPrefs"]["HomeCurrency"] == {"value": "JPY"}
    for bad in ({"display_name": ""}, {"display_name": "x", "active": "no"}, [1]):
        assert httpx.post(url + "/_sim/vendors", json=bad).status_code == 400
    assert httpx.post(url + "/_sim/vendors/update", json={"id": "404"}).status_code == 404
    config = httpx.post(url + "/_sim/config", json={"requestid_mode": "ignore"})
    assert config.json()["requestid_mode"] == "ignore"
    assert httpx.post(url + "/_sim/config", json={"requestid_mode": "x"}).status_code == 400
    tokens = httpx.post(url + "/_sim/oauth/grant", json={}).json()
    assert tokens["realm_id"] == qbo.sim.realm_id and tokens["refresh_token"].startswith("RT1-")


def test_an_oversized_or_chunked_body_is_refused_unread(qbo: Qbo) -> None:
    big = qbo.post_bill(qbo.bill(PrivateNote="x" * (1 << 20)))
    assert big.status_code == 413 and fault(big)[0] == "ValidationFault"
    chunked = qbo.post_bill(iter([qbo.bill().encode()]))  # type: ignore[arg-type]
    assert chunked.status_code == 411
    deep = qbo.post_bill("[" * 5000 + "]" * 5000)
    assert deep.status_code == 400 and fault(deep) == ("ValidationFault", "2010")
    assert qbo.post_bill(qbo.bill()).status_code == 200
    assert qbo.sim.marker_counts() == {"RMB-1": 1}


def test_syncbot_ledger_sim_quickbooks_serves_on_the_given_port() -> None:
    command = "from bot.cli import main; main()"
    argv = [sys.executable, "-c", command, "ledger-sim", "quickbooks", "--port", "0"]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            process.stdout.readline()  # "QuickBooks Online double listening on ..."
            settings = json.loads(process.stdout.readline())
            url, realm = settings["QBO_API_BASE_URL"], settings["QBO_REALM_ID"]
            assert httpx.get(url + "/_sim/stats").json()["bills"] == 0
            tokens = httpx.post(url + "/_sim/oauth/grant", json={}).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            info = httpx.get(f"{url}/v3/company/{realm}/companyinfo/{realm}", headers=headers)
            assert info.status_code == 200
            assert "secret" not in json.dumps(settings).lower()
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_a_bad_fault_file_is_refused_in_one_line_with_exit_2(tmp_path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"kind": "no_such_fault"}]), encoding="utf-8")
    command = "from bot.cli import main; main()"
    argv = [sys.executable, "-c", command, "ledger-sim", "quickbooks", "--port", "0"]
    ran = subprocess.run(
        [*argv, "--faults", str(faults)], capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 2 and ran.stdout == ""
    assert "no_such_fault" in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
