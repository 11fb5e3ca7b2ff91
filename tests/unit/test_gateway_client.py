"""GatewayClient against httpx.MockTransport: outcomes, error classes and the requests sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.contract import MAX_BATCH_ITEMS, Posting
from sync_engine.errors import GatewayUnreachable
from sync_engine.gateway import (
    GatewayClient,
    PostResult,
    classify_status,
)
from sync_engine.money import from_minor
from sync_engine.ratelimit import RateLimiter

BASE_URL = "http://gateway.test"
TOKEN = "secret-token"

Answer = Callable[[httpx.Request], httpx.Response]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeGateway:
    """Routes each request to the answer for its endpoint and keeps every request it saw."""

    def __init__(
        self,
        *,
        post: Answer | None = None,
        batch: Answer | None = None,
        lookup: Answer | None = None,
    ) -> None:
        self.answers = {"post": post, "batch": batch, "lookup": lookup}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "POST" and path == "/v1/postings":
            route = "post"
        elif request.method == "POST" and path == "/v1/postings:batch":
            route = "batch"
        elif request.method == "GET" and path.startswith("/v1/postings/"):
            route = "lookup"
        else:
            raise AssertionError(f"unexpected request {request.method} {path}")
        answer = self.answers[route]
        if answer is None:
            raise AssertionError(f"no {route} request was expected: {request.method} {path}")
        return answer(request)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]

    def lookups(self) -> list[str]:
        return [
            r.url.path.removeprefix("/v1/postings/") for r in self.requests if r.method == "GET"
        ]

    def batches(self) -> list[list[str]]:
        return [
            [item["idempotency_key"] for item in wire_json(r)["items"]]
            for r in self.requests
            if r.url.path == "/v1/postings:batch"
        ]


def reply(
    status: int, body: Any = None, *, headers: dict[str, str] | None = None, text: str | None = None
) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        if body is None:
            return httpx.Response(status, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return answer


def posted(ref: str, status: int = 201, headers: dict[str, str] | None = None) -> Answer:
    return reply(status, {"id": ref, "status": "posted"}, headers=headers)


def problem(
    status: int,
    code: str,
    detail: str = "",
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
        "retryable": False,
        "outcome": "not_applied",
        "request_id": "req_1",
    }
    if errors is not None:
        body["errors"] = errors
    return reply(status, body, headers=headers)


def fails(exc_type: type[httpx.TransportError]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)

    return answer


def lookup_table(refs: dict[str, str]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.path.removeprefix("/v1/postings/")
        if key in refs:
            return httpx.Response(200, json={"id": refs[key], "status": "posted"})
        return httpx.Response(404, json={"status": 404, "code": "not_found"})

    return answer


def batch_answer(rows: Callable[[list[str]], list[dict[str, Any]]]) -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        keys = [item["idempotency_key"] for item in wire_json(request)["items"]]
        return httpx.Response(200, json={"results": rows(keys)})

    return answer


def all_posted(keys: list[str]) -> list[dict[str, Any]]:
    return [{"idempotency_key": k, "status": 201, "id": f"ACC-{k}"} for k in keys]


def refuse_floats(text: str) -> Any:
    raise AssertionError(f"a float on the wire: {text}")


def wire_json(request: httpx.Request) -> Any:
    assert request.headers["Content-Type"] == "application/json"
    return json.loads(request.content, parse_float=refuse_floats)


def make_posting(n: int = 1, *, minor: int = 4250, currency: str = "USD") -> Posting:
    return Posting(
        source_id=f"RMB-2026-{n:04d}",
        kind="reimbursement",
        payee_id="VOL-88",
        payee_name="Jane Doe",
        amount=from_minor(minor, currency),
        currency=currency,
        description="Mileage, food bank drive 2026-11-14",
        approved_at=datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC),
        approved_by="Finance lead",
        account_code="6100",
    )


def items(count: int) -> list[tuple[str, Posting]]:
    return [(f"k{n}", make_posting(n)) for n in range(1, count + 1)]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def connect(fake_time: FakeTime) -> Iterator[Callable[[FakeGateway], GatewayClient]]:
    clients: list[GatewayClient] = []

    def build(gateway: FakeGateway) -> GatewayClient:
        client = GatewayClient(BASE_URL, TOKEN, transport=httpx.MockTransport(gateway))
        client.limiter = RateLimiter(0, clock=fake_time.clock, sleep=fake_time.sleep)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


def assert_posting_request(request: httpx.Request, key: str, posting: Posting) -> None:
    assert request.method == "POST"
    assert request.url.path == "/v1/postings"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Idempotency-Key"] == key
    assert wire_json(request) == posting.to_wire()


@pytest.mark.parametrize(
    ("minor", "currency", "wire_amount"),
    [(4250, "USD", "42.50"), (1500, "JPY", "1500"), (1500, "KWD", "1.500"), (5, "USD", "0.05")],
)
def test_post_sends_the_posting_with_its_key_and_token(connect, minor, currency, wire_amount):
    gateway = FakeGateway(post=posted("ACC-000123"))
    posting = make_posting(minor=minor, currency=currency)

    result = connect(gateway).post("sb-key-1", posting)

    assert result.outcome == Outcome.SUCCEEDED
    (request,) = gateway.requests
    assert_posting_request(request, "sb-key-1", posting)
    body = wire_json(request)
    assert body["amount"] == wire_amount
    assert body["currency"] == currency
    assert f'"amount":"{wire_amount}"' in request.content.decode().replace(" ", "")


def test_post_wire_body_has_every_contract_field(connect):
    gateway = FakeGateway(post=posted("ACC-1"))

    connect(gateway).post("k1", make_posting(142))

    assert wire_json(gateway.requests[0]) == {
        "source_id": "RMB-2026-0142",
        "kind": "reimbursement",
        "payee": {"id": "VOL-88", "name": "Jane Doe"},
        "amount": "42.50",
        "currency": "USD",
        "description": "Mileage, food bank drive 2026-11-14",
        "approved_at": "2026-11-20T15:04:05Z",
        "approved_by": "Finance lead",
        "account_code": "6100",
    }


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (posted("ACC-000123"), 201),
        (posted("ACC-000123", 200, {"Idempotent-Replayed": "true"}), 200),
    ],
    ids=["created", "replayed"],
)
def test_post_success(connect, answer, status):
    gateway = FakeGateway(post=answer)

    result = connect(gateway).post("k1", make_posting())

    assert result == PostResult("k1", Outcome.SUCCEEDED, status, "ACC-000123")
    assert gateway.calls() == [("POST", "/v1/postings")]


def test_resending_a_key_sends_the_same_key_and_body(connect):
    gateway = FakeGateway(post=posted("ACC-7", 200, {"Idempotent-Replayed": "true"}))
    client = connect(gateway)
    posting = make_posting()

    first = client.post("k1", posting)
    second = client.post("k1", posting)

    assert first.accounting_ref == second.accounting_ref == "ACC-7"
    for request in gateway.requests:
        assert_posting_request(request, "k1", posting)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "missing_idempotency_key"),
        (400, "malformed_request"),
        (404, "not_found"),
        (422, "validation_failed"),
        (422, "idempotency_key_reused"),
    ],
)
def test_post_refused_needs_attention(connect, status, code):
    errors = [{"field": "payee.id", "message": "unknown vendor"}]
    gateway = FakeGateway(post=problem(status, code, "Payee VOL-88 is unknown", errors=errors))

    result = connect(gateway).post("k1", make_posting())

    assert result.outcome == Outcome.FAILED
    assert result.error_class == ErrorClass.NEEDS_ATTENTION
    assert result.http_status == status
    assert result.accounting_ref is None
    assert result.error is not None
    for part in (str(status), code, "Payee VOL-88 is unknown", "payee.id", "unknown vendor"):
        assert part in result.error
    assert gateway.calls() == [("POST", "/v1/postings")]


def test_post_refusal_lists_every_field_error(connect):
    errors = [
        {"field": "payee.id", "message": "unknown vendor"},
        {"field": "account_code", "message": "no such account"},
    ]
    gateway = FakeGateway(post=problem(422, "validation_failed", "refused", errors=errors))

    result = connect(gateway).post("k1", make_posting())

    assert result.error is not None
    for part in ("payee.id", "unknown vendor", "account_code", "no such account"):
        assert part in result.error


@pytest.mark.parametrize(("status", "code"), [(401, "auth_required"), (403, "forbidden")])
def test_post_auth_failure(connect, status, code):
    gateway = FakeGateway(post=problem(status, code, "token revoked"))

    result = connect(gateway).post("k1", make_posting())

    assert (result.outcome, result.error_class, result.http_status) == (
        Outcome.FAILED,
        ErrorClass.AUTH,
        status,
    )
    assert result.error is not None and code in result.error
    assert gateway.calls() == [("POST", "/v1/postings")]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (408, "request_timeout"),
        (409, "in_progress"),
        (429, "rate_limited"),
        (500, "internal_error"),
        (503, "upstream_unavailable"),
        (504, "gateway_timeout"),
    ],
)
def test_post_transient_failure_is_not_looked_up(connect, status, code):
    gateway = FakeGateway(post=problem(status, code, "try later"))

    result = connect(gateway).post("k1", make_posting())

    assert (result.outcome, result.error_class, result.http_status) == (
        Outcome.FAILED,
        ErrorClass.TRANSIENT,
        status,
    )
    assert result.error is not None and code in result.error
    assert result.accounting_ref is None
    assert gateway.calls() == [("POST", "/v1/postings")]


@pytest.mark.parametrize(
    ("retry_after", "expected", "paused"),
    [("7", 7.0, 7.0), ("2.5", 2.5, 2.5), ("120", 120.0, 60.0)],  # the client waits a minute at most
)
def test_post_429_gives_retry_after_and_pauses_the_limiter(
    connect, fake_time, retry_after, expected, paused
):
    headers = {"Retry-After": retry_after, "X-Rate-Limit-Problem": "minute"}
    gateway = FakeGateway(post=problem(429, "rate_limited", headers=headers))
    client = connect(gateway)

    result = client.post("k1", make_posting())

    assert result.retry_after == expected
    assert (result.outcome, result.error_class) == (Outcome.FAILED, ErrorClass.TRANSIENT)
    assert fake_time.sleeps == []
    client.limiter.acquire()
    assert fake_time.sleeps == [pytest.approx(paused)]


def test_post_429_without_retry_after_still_pauses(connect, fake_time):
    client = connect(FakeGateway(post=problem(429, "rate_limited")))

    result = client.post("k1", make_posting())

    assert result.retry_after is None
    client.limiter.acquire()
    assert len(fake_time.sleeps) == 1 and fake_time.sleeps[0] > 0


def test_post_success_does_not_pause(connect, fake_time):
    client = connect(FakeGateway(post=posted("ACC-1")))

    client.post("k1", make_posting())
    client.limiter.acquire()

    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("lookup", "outcome", "ref", "error_class"),
    [
        (posted("ACC-000999", 200), Outcome.SUCCEEDED, "ACC-000999", None),
        (problem(404, "not_found"), Outcome.FAILED, None, ErrorClass.TRANSIENT),
        (problem(500, "internal_error"), Outcome.UNCERTAIN, None, ErrorClass.TRANSIENT),
        (problem(503, "upstream_unavailable"), Outcome.UNCERTAIN, None, ErrorClass.TRANSIENT),
        (fails(httpx.ConnectError), Outcome.UNCERTAIN, None, ErrorClass.TRANSIENT),
        (fails(httpx.ReadTimeout), Outcome.UNCERTAIN, None, ErrorClass.TRANSIENT),
    ],
    ids=["found", "not-found", "lookup-500", "lookup-503", "lookup-refused", "lookup-timeout"],
)
@pytest.mark.parametrize(
    "post",
    [
        problem(502, "upstream_error", "ledger dropped the call"),
        fails(httpx.ReadTimeout),
        fails(httpx.WriteTimeout),
        fails(httpx.ReadError),
        fails(httpx.RemoteProtocolError),
        reply(201, text="<html>oops</html>"),
        reply(201, text=""),
        reply(201, {"status": "posted"}),
        reply(200, ["ACC-1"]),
    ],
    ids=[
        "502",
        "read-timeout",
        "write-timeout",
        "read-error",
        "dropped",
        "201-html",
        "201-empty",
        "201-no-id",
        "200-list",
    ],
)
def test_uncertain_post_is_settled_by_lookup(connect, post, lookup, outcome, ref, error_class):
    gateway = FakeGateway(post=post, lookup=lookup)

    result = connect(gateway).post("sb-key-9", make_posting())

    assert gateway.calls() == [("POST", "/v1/postings"), ("GET", "/v1/postings/sb-key-9")]
    lookup_request = gateway.requests[1]
    assert lookup_request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert result.idempotency_key == "sb-key-9"
    assert result.outcome == outcome
    assert result.accounting_ref == ref
    assert result.error_class == error_class
    assert result.error


def test_502_settled_keeps_its_status_and_notes_the_lookup(connect):
    gateway = FakeGateway(
        post=problem(502, "upstream_error"), lookup=lookup_table({"k1": "ACC-42"})
    )

    result = connect(gateway).post("k1", make_posting())

    assert result.http_status == 502
    assert result.accounting_ref == "ACC-42"
    assert result.error is not None and "found it booked" in result.error


def test_timeout_then_nothing_booked_is_a_transient_failure(connect):
    gateway = FakeGateway(post=fails(httpx.ReadTimeout), lookup=lookup_table({}))

    result = connect(gateway).post("k1", make_posting())

    assert (result.outcome, result.error_class, result.http_status) == (
        Outcome.FAILED,
        ErrorClass.TRANSIENT,
        None,
    )
    assert result.error is not None
    assert "timeout" in result.error and "nothing booked" in result.error


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_post_that_sent_nothing_is_a_transient_failure_without_lookup(connect, exc_type):
    gateway = FakeGateway(post=fails(exc_type))

    result = connect(gateway).post("k1", make_posting())

    assert (result.outcome, result.error_class, result.http_status) == (
        Outcome.FAILED,
        ErrorClass.TRANSIENT,
        None,
    )
    assert result.accounting_ref is None
    assert result.error is not None and exc_type.__name__ in result.error
    assert gateway.calls() == [("POST", "/v1/postings")]


def test_batch_sends_every_item_with_its_key(connect):
    gateway = FakeGateway(batch=batch_answer(all_posted))
    batch = items(3)

    results = connect(gateway).post_batch(batch)

    assert [r.outcome for r in results] == [Outcome.SUCCEEDED] * 3
    (request,) = gateway.requests
    assert (request.method, request.url.path) == ("POST", "/v1/postings:batch")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert wire_json(request) == {
        "items": [{"idempotency_key": k, "posting": p.to_wire()} for k, p in batch]
    }
    assert [item["posting"]["amount"] for item in wire_json(request)["items"]] == ["42.50"] * 3


def test_batch_mixed_results_in_any_order(connect):
    rows = [
        {"idempotency_key": "k6", "status": 409, "error": {"code": "in_progress"}},
        {"idempotency_key": "k5", "status": 502, "error": {"code": "upstream_error"}},
        {
            "idempotency_key": "k4",
            "status": 401,
            "error": {"code": "auth_required", "detail": "token revoked"},
        },
        {
            "idempotency_key": "k3",
            "status": 422,
            "error": {
                "code": "validation_failed",
                "detail": "Payee VOL-88 does not exist",
                "retryable": False,
                "outcome": "not_applied",
            },
        },
        {"idempotency_key": "k2", "status": 200, "id": "ACC-2"},
        {"idempotency_key": "k1", "status": 201, "id": "ACC-1"},
    ]
    gateway = FakeGateway(
        batch=batch_answer(lambda keys: rows), lookup=lookup_table({"k5": "ACC-5"})
    )

    results = connect(gateway).post_batch(items(6))

    assert [r.idempotency_key for r in results] == ["k1", "k2", "k3", "k4", "k5", "k6"]
    summary = [(r.outcome, r.http_status, r.accounting_ref, r.error_class) for r in results]
    assert summary == [
        (Outcome.SUCCEEDED, 201, "ACC-1", None),
        (Outcome.SUCCEEDED, 200, "ACC-2", None),
        (Outcome.FAILED, 422, None, ErrorClass.NEEDS_ATTENTION),
        (Outcome.FAILED, 401, None, ErrorClass.AUTH),
        (Outcome.SUCCEEDED, 502, "ACC-5", None),
        (Outcome.FAILED, 409, None, ErrorClass.TRANSIENT),
    ]
    assert results[2].error is not None
    assert "validation_failed" in results[2].error
    assert "Payee VOL-88 does not exist" in results[2].error
    assert gateway.lookups() == ["k5"]


@pytest.mark.parametrize(
    ("refs", "outcome", "ref", "error_class"),
    [
        ({"k2": "ACC-2"}, Outcome.SUCCEEDED, "ACC-2", None),
        ({}, Outcome.FAILED, None, ErrorClass.TRANSIENT),
    ],
    ids=["booked", "not-booked"],
)
def test_batch_item_missing_from_the_answer_is_looked_up(connect, refs, outcome, ref, error_class):
    def rows(keys: list[str]) -> list[dict[str, Any]]:
        return all_posted([k for k in keys if k != "k2"])

    gateway = FakeGateway(batch=batch_answer(rows), lookup=lookup_table(refs))

    results = connect(gateway).post_batch(items(3))

    assert [r.outcome for r in results] == [Outcome.SUCCEEDED, outcome, Outcome.SUCCEEDED]
    assert results[1].accounting_ref == ref
    assert results[1].error_class == error_class
    assert gateway.lookups() == ["k2"]


@pytest.mark.parametrize(
    "row",
    [
        {"idempotency_key": "k1", "status": 201},
        {"idempotency_key": "k1", "status": 201, "id": 17},
        {"idempotency_key": "k1"},
        {"idempotency_key": "k1", "status": "201", "id": "ACC-1"},
        {"idempotency_key": "someone-else", "status": 201, "id": "ACC-X"},
        "k1",
    ],
    ids=["no-id", "int-id", "no-status", "str-status", "unknown-key", "not-an-object"],
)
def test_batch_unreadable_row_is_uncertain_and_looked_up(connect, row):
    gateway = FakeGateway(
        batch=batch_answer(lambda keys: [row]), lookup=lookup_table({"k1": "ACC-1"})
    )

    (result,) = connect(gateway).post_batch(items(1))

    assert (result.outcome, result.accounting_ref) == (Outcome.SUCCEEDED, "ACC-1")
    assert gateway.lookups() == ["k1"]


@pytest.mark.parametrize(
    "answer",
    [
        reply(200, text="not json"),
        reply(200, {"results": "nope"}),
        reply(200, {}),
        reply(204),
        reply(201, {"results": []}),
    ],
    ids=["not-json", "results-not-list", "no-results", "204", "201"],
)
def test_batch_answer_without_results_is_settled_by_lookup(connect, answer):
    gateway = FakeGateway(batch=answer, lookup=lookup_table({"k1": "ACC-1"}))

    results = connect(gateway).post_batch(items(2))

    assert [(r.outcome, r.accounting_ref) for r in results] == [
        (Outcome.SUCCEEDED, "ACC-1"),
        (Outcome.FAILED, None),
    ]
    assert results[1].error_class == ErrorClass.TRANSIENT
    assert gateway.lookups() == ["k1", "k2"]


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (401, "auth_required", ErrorClass.AUTH),
        (403, "forbidden", ErrorClass.AUTH),
        (429, "rate_limited", ErrorClass.TRANSIENT),
        (503, "upstream_unavailable", ErrorClass.TRANSIENT),
        (400, "malformed_request", ErrorClass.NEEDS_ATTENTION),
    ],
)
def test_whole_batch_failure_applies_to_every_item(connect, status, code, error_class):
    gateway = FakeGateway(batch=problem(status, code, "whole batch"))

    results = connect(gateway).post_batch(items(4))

    assert [r.idempotency_key for r in results] == ["k1", "k2", "k3", "k4"]
    for result in results:
        assert (result.outcome, result.http_status, result.error_class) == (
            Outcome.FAILED,
            status,
            error_class,
        )
        assert result.error is not None and code in result.error
    assert gateway.calls() == [("POST", "/v1/postings:batch")]


def test_whole_batch_429_gives_every_item_retry_after_and_pauses(connect, fake_time):
    headers = {"Retry-After": "30", "X-Rate-Limit-Problem": "minute"}
    client = connect(FakeGateway(batch=problem(429, "rate_limited", headers=headers)))

    results = client.post_batch(items(3))

    assert [r.retry_after for r in results] == [30.0, 30.0, 30.0]
    client.limiter.acquire()
    assert fake_time.sleeps == [pytest.approx(30.0)]


def test_whole_batch_502_looks_every_item_up(connect):
    gateway = FakeGateway(
        batch=problem(502, "upstream_error"), lookup=lookup_table({"k1": "ACC-1", "k3": "ACC-3"})
    )

    results = connect(gateway).post_batch(items(3))

    assert [(r.outcome, r.accounting_ref) for r in results] == [
        (Outcome.SUCCEEDED, "ACC-1"),
        (Outcome.FAILED, None),
        (Outcome.SUCCEEDED, "ACC-3"),
    ]
    assert all(r.http_status == 502 for r in results)
    assert gateway.lookups() == ["k1", "k2", "k3"]


@pytest.mark.parametrize(
    ("exc_type", "outcome", "lookups"),
    [
        (httpx.ConnectError, Outcome.FAILED, []),
        (httpx.ConnectTimeout, Outcome.FAILED, []),
        (httpx.ReadTimeout, Outcome.SUCCEEDED, ["k1", "k2"]),
        (httpx.RemoteProtocolError, Outcome.SUCCEEDED, ["k1", "k2"]),
    ],
)
def test_batch_network_error(connect, exc_type, outcome, lookups):
    gateway = FakeGateway(
        batch=fails(exc_type), lookup=lookup_table({"k1": "ACC-1", "k2": "ACC-2"})
    )

    results = connect(gateway).post_batch(items(2))

    assert [r.outcome for r in results] == [outcome, outcome]
    assert all(r.error_class in (ErrorClass.TRANSIENT, None) for r in results)
    assert gateway.lookups() == lookups


def test_uncertain_results_stop_being_looked_up_once_lookup_fails(connect):
    gateway = FakeGateway(batch=problem(502, "upstream_error"), lookup=problem(503, "down"))

    results = connect(gateway).post_batch(items(3))

    assert [r.outcome for r in results] == [Outcome.UNCERTAIN] * 3
    assert all(r.error_class == ErrorClass.TRANSIENT for r in results)
    assert gateway.lookups() == ["k1"]


@pytest.mark.parametrize(
    ("count", "accepted", "expected_batches"),
    [
        (5, 2, [[1, 2, 3, 4, 5], [1, 2], [3, 4, 5], [3], [4, 5]]),
        (4, 1, [[1, 2, 3, 4], [1, 2], [1], [2], [3, 4], [3], [4]]),
        (8, 4, [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4], [5, 6, 7, 8]]),
        (3, 3, [[1, 2, 3]]),
    ],
)
def test_batch_413_is_split_in_halves_and_resent(connect, count, accepted, expected_batches):
    def answer(request: httpx.Request) -> httpx.Response:
        keys = [item["idempotency_key"] for item in wire_json(request)["items"]]
        if len(keys) > accepted:
            return httpx.Response(413, json={"status": 413, "code": "batch_too_large"})
        return httpx.Response(200, json={"results": all_posted(keys)})

    gateway = FakeGateway(batch=answer)

    results = connect(gateway).post_batch(items(count))

    keys = [f"k{n}" for n in range(1, count + 1)]
    assert [r.idempotency_key for r in results] == keys
    assert [(r.outcome, r.accounting_ref) for r in results] == [
        (Outcome.SUCCEEDED, f"ACC-{k}") for k in keys
    ]
    assert gateway.batches() == [[f"k{n}" for n in batch] for batch in expected_batches]
    accepted_keys = [k for batch in gateway.batches() if len(batch) <= accepted for k in batch]
    assert sorted(accepted_keys) == sorted(keys)


def test_batch_413_split_with_mixed_outcomes_keeps_one_result_per_item(connect):
    def answer(request: httpx.Request) -> httpx.Response:
        keys = [item["idempotency_key"] for item in wire_json(request)["items"]]
        if len(keys) > 2:
            return httpx.Response(413, json={"status": 413, "code": "batch_too_large"})
        if "k3" in keys:
            return httpx.Response(503, json={"status": 503, "code": "upstream_unavailable"})
        return httpx.Response(200, json={"results": all_posted(keys)})

    gateway = FakeGateway(batch=answer)

    results = connect(gateway).post_batch(items(4))

    assert [(r.idempotency_key, r.outcome, r.http_status) for r in results] == [
        ("k1", Outcome.SUCCEEDED, 201),
        ("k2", Outcome.SUCCEEDED, 201),
        ("k3", Outcome.FAILED, 503),
        ("k4", Outcome.FAILED, 503),
    ]


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (1, [1]),
        (MAX_BATCH_ITEMS, [30]),
        (MAX_BATCH_ITEMS + 1, [30, 1]),
        (65, [30, 30, 5]),
        (90, [30, 30, 30]),
    ],
)
def test_large_batches_are_sent_in_requests_of_at_most_30(connect, count, sizes):
    gateway = FakeGateway(batch=batch_answer(all_posted))

    results = connect(gateway).post_batch(items(count))

    assert MAX_BATCH_ITEMS == 30
    assert [len(batch) for batch in gateway.batches()] == sizes
    keys = [f"k{n}" for n in range(1, count + 1)]
    assert [k for batch in gateway.batches() for k in batch] == keys
    assert [r.idempotency_key for r in results] == keys
    assert all(r.outcome == Outcome.SUCCEEDED for r in results)


def test_empty_batch_sends_nothing(connect):
    gateway = FakeGateway()

    assert connect(gateway).post_batch([]) == []
    assert gateway.requests == []


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (posted("ACC-000123", 200), "ACC-000123"),
        (problem(404, "not_found"), None),
        (reply(404), None),
    ],
)
def test_lookup(connect, answer, expected):
    gateway = FakeGateway(lookup=answer)

    assert connect(gateway).lookup("sb-key-1") == expected
    (request,) = gateway.requests
    assert (request.method, request.url.path) == ("GET", "/v1/postings/sb-key-1")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "answer",
    [
        problem(500, "internal_error"),
        problem(502, "upstream_error"),
        problem(503, "upstream_unavailable"),
        problem(504, "gateway_timeout"),
        problem(401, "auth_required"),
        reply(200, text="not json"),
        reply(200, {"status": "posted"}),
        fails(httpx.ConnectError),
        fails(httpx.ReadTimeout),
        fails(httpx.RemoteProtocolError),
    ],
    ids=[
        "500",
        "502",
        "503",
        "504",
        "401",
        "200-not-json",
        "200-no-id",
        "refused",
        "timeout",
        "dropped",
    ],
)
def test_lookup_raises_when_the_gateway_cannot_answer(connect, answer):
    gateway = FakeGateway(lookup=answer)

    with pytest.raises(GatewayUnreachable):
        connect(gateway).lookup("k1")


def test_base_url_with_trailing_slash(fake_time):
    gateway = FakeGateway(post=posted("ACC-1"))
    client = GatewayClient(BASE_URL + "/", TOKEN, transport=httpx.MockTransport(gateway))
    try:
        client.post("k1", make_posting())
    finally:
        client.close()

    assert str(gateway.requests[0].url) == f"{BASE_URL}/v1/postings"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, ErrorClass.NEEDS_ATTENTION),
        (404, ErrorClass.NEEDS_ATTENTION),
        (422, ErrorClass.NEEDS_ATTENTION),
        (413, ErrorClass.NEEDS_ATTENTION),
        (405, ErrorClass.NEEDS_ATTENTION),
        (401, ErrorClass.AUTH),
        (403, ErrorClass.AUTH),
        (408, ErrorClass.TRANSIENT),
        (409, ErrorClass.TRANSIENT),
        (429, ErrorClass.TRANSIENT),
        (500, ErrorClass.TRANSIENT),
        (502, ErrorClass.TRANSIENT),
        (503, ErrorClass.TRANSIENT),
        (504, ErrorClass.TRANSIENT),
    ],
)
def test_classify_status(status, error_class):
    assert classify_status(status) == error_class
