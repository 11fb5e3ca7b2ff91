"""The gateway simulator over real loopback HTTP: the contract's answers, limits and faults."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sync_engine.gateway_sim import Fault, GatewaySimulator, SimConfig

Started = tuple[GatewaySimulator, httpx.Client]
# Loading the CA bundle is most of an httpx.Client's start-up cost; plain HTTP never uses it.
TLS = ssl.create_default_context()


def posting(source_id: str = "RMB-1", payee_id: str = "VOL-88", **changes: Any) -> dict[str, Any]:
    """A valid posting body."""
    body: dict[str, Any] = {
        "source_id": source_id,
        "kind": "reimbursement",
        "payee": {"id": payee_id, "name": "Jane Doe"},
        "amount": "42.50",
        "currency": "USD",
        "description": "Mileage, food bank drive",
        "approved_at": "2026-11-20T15:04:05Z",
    }
    body.update(changes)
    return body


def post(
    client: httpx.Client, key: str, body: dict[str, Any], token: str | None = None
) -> httpx.Response:
    """`POST /v1/postings` with an Idempotency-Key (and a bearer token if given)."""
    headers = {"Idempotency-Key": key}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/v1/postings", json=body, headers=headers)


def batch(client: httpx.Client, items: list[tuple[str, dict[str, Any]]]) -> httpx.Response:
    """`POST /v1/postings:batch`."""
    wire = [{"idempotency_key": key, "posting": body} for key, body in items]
    return client.post("/v1/postings:batch", json={"items": wire})


def results(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """A batch answer's results by idempotency key."""
    assert response.status_code == 200, response.text
    return {result["idempotency_key"]: result for result in response.json()["results"]}


@pytest.fixture
def start() -> Iterator[Callable[..., Started]]:
    """Start simulators (with a client each) that are stopped when the test ends."""
    with ExitStack() as stack:

        def started(config: SimConfig | None = None, **client_options: Any) -> Started:
            """A running simulator and an httpx client for it."""
            sim = stack.enter_context(GatewaySimulator(config))
            options = {"timeout": 5.0, "verify": TLS, **client_options}
            client = stack.enter_context(httpx.Client(base_url=sim.url, **options))
            return sim, client

        yield started


@pytest.fixture
def sim_client(start: Callable[..., Started]) -> Started:
    """A simulator with no latency or limits, and a client for it."""
    return start()


def test_books_once_then_replays(sim_client: Started) -> None:
    sim, client = sim_client
    first = post(client, "k1", posting())
    assert first.status_code == 201
    assert first.json() == {"id": "ACC-000001", "status": "posted"}
    assert "Idempotent-Replayed" not in first.headers
    again = post(client, "k1", posting())
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sim.booking_count("k1") == 1
    booking = sim.bookings()["k1"]
    assert (booking.id, booking.idempotency_key) == ("ACC-000001", "k1")
    assert booking.posting.amount == Decimal("42.50")
    assert post(client, "k2", posting("RMB-2")).json()["id"] == "ACC-000002"


def test_key_reused_with_a_different_body(sim_client: Started) -> None:
    sim, client = sim_client
    post(client, "k1", posting())
    response = post(client, "k1", posting(amount="99.00"))
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "idempotency_key_reused"
    assert problem["status"] == 422 and problem["type"] == "about:blank"
    assert problem["retryable"] is False and problem["outcome"] == "not_applied"
    assert problem["request_id"].startswith("req_")
    assert sim.booking_count("k1") == 1


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 129}])
def test_missing_or_bad_idempotency_key(sim_client: Started, headers: dict[str, str]) -> None:
    sim, client = sim_client
    response = client.post("/v1/postings", json=posting(), headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "missing_idempotency_key"
    assert sim.bookings() == {}


def test_a_128_character_key_is_accepted(sim_client: Started) -> None:
    _, client = sim_client
    assert post(client, "k" * 128, posting()).status_code == 201


def test_malformed_bodies_name_the_bad_fields(sim_client: Started) -> None:
    sim, client = sim_client
    response = post(client, "k1", posting(amount=42.5, kind="gift", payee={"id": "VOL-88"}))
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "malformed_request"
    fields = {error["field"] for error in problem["errors"]}
    assert fields == {"amount", "kind", "payee.name"}
    not_json = client.post("/v1/postings", content=b"{nope", headers={"Idempotency-Key": "k2"})
    assert not_json.status_code == 400
    assert not_json.json()["code"] == "malformed_request"
    assert sim.bookings() == {}


def test_chunked_bodies_are_read(sim_client: Started) -> None:
    sim, client = sim_client
    wire = json.dumps(posting()).encode()
    chunks = iter([wire[:10], wire[10:]])
    headers = {"Idempotency-Key": "k1"}
    response = client.post("/v1/postings", content=chunks, headers=headers)
    assert response.status_code == 201
    assert sim.booking_count("k1") == 1


def test_concurrent_duplicate_sees_in_progress(start: Callable[..., Started]) -> None:
    sim, client = start(SimConfig(latency_seconds=0.3))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, client, "k1", posting())
        time.sleep(0.1)
        second = pool.submit(post, client, "k1", posting())
        answers = [first.result(), second.result()]
    assert [answer.status_code for answer in answers] == [201, 409]
    assert answers[1].json()["code"] == "in_progress"
    assert answers[1].json()["retryable"] is True
    assert sim.booking_count("k1") == 1


def test_latency_is_added_to_every_request(start: Callable[..., Started]) -> None:
    _, client = start(SimConfig(latency_seconds=0.15))
    began = time.monotonic()
    client.get("/v1/postings/nothing")
    assert time.monotonic() - began >= 0.15


def test_lookup(sim_client: Started) -> None:
    _, client = sim_client
    key = "rmb/2026 0142"
    path = f"/v1/postings/{quote(key, safe='')}"
    missing = client.get(path)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    booked = post(client, key, posting()).json()
    found = client.get(path)
    assert found.status_code == 200
    assert found.json() == {"id": booked["id"], "status": "posted"}


def test_batch_gives_one_result_per_item(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("validation", source_ids=("RMB-2",)))
    post(client, "k0", posting("RMB-0"))
    response = batch(
        client,
        [
            ("k0", posting("RMB-0")),
            ("k1", posting("RMB-1")),
            ("k2", posting("RMB-2")),
            ("k3", posting("RMB-3", amount="1.005")),
            ("", posting("RMB-4")),
        ],
    )
    by_key = results(response)
    assert by_key["k0"] == {"idempotency_key": "k0", "status": 200, "id": "ACC-000001"}
    assert by_key["k1"]["status"] == 201 and by_key["k1"]["id"].startswith("ACC-")
    assert by_key["k2"]["status"] == 422
    assert by_key["k2"]["error"]["code"] == "validation_failed"
    assert by_key["k2"]["error"]["outcome"] == "not_applied"
    assert by_key["k3"]["status"] == 400
    assert by_key["k3"]["error"]["errors"][0]["field"] == "amount"
    assert by_key[""]["error"]["code"] == "missing_idempotency_key"
    assert set(sim.bookings()) == {"k0", "k1"}
    assert sim.requests()[-1].idempotency_keys == ["k0", "k1", "k2", "k3", ""]


def test_batch_with_the_same_key_twice_books_it_once(sim_client: Started) -> None:
    sim, client = sim_client
    response = batch(client, [("k1", posting()), ("k1", posting())])
    assert [result["status"] for result in response.json()["results"]] == [201, 200]
    assert sim.booking_count("k1") == 1


def test_batch_over_the_limit_is_refused(start: Callable[..., Started]) -> None:
    sim, client = start()
    items = [(f"k{n}", posting(f"RMB-{n}")) for n in range(31)]
    response = batch(client, items)
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert len(results(batch(client, items[:30]))) == 30
    assert sim.stats()["bookings"] == 30
    _, small = start(SimConfig(max_batch=2))
    assert batch(small, items[:3]).status_code == 413


def test_rate_limit_per_minute(start: Callable[..., Started]) -> None:
    sim, client = start(SimConfig(rate_per_minute=2))
    assert post(client, "k1", posting("RMB-1")).status_code == 201
    assert batch(client, [("k2", posting("RMB-2")), ("k3", posting("RMB-3"))]).status_code == 200
    refused = post(client, "k4", posting("RMB-4"))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert sim.booking_count("k4") == 0
    assert sim.stats()["rate_limited"] == 1


def test_concurrency_limit(start: Callable[..., Started]) -> None:
    sim, client = start(SimConfig(concurrency=1, latency_seconds=0.3))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, client, "k1", posting("RMB-1"))
        time.sleep(0.1)
        second = pool.submit(post, client, "k2", posting("RMB-2"))
        answers = [first.result(), second.result()]
    assert [answer.status_code for answer in answers] == [201, 429]
    assert answers[1].headers["X-Rate-Limit-Problem"] == "concurrent"
    assert answers[1].headers["Retry-After"] == "1"
    assert post(client, "k2", posting("RMB-2")).status_code == 201


def test_token_is_required(start: Callable[..., Started]) -> None:
    sim, client = start(SimConfig(token="s3cret"))
    missing = post(client, "k1", posting())
    assert missing.status_code == 401
    assert missing.json()["code"] == "auth_required"
    wrong = post(client, "k1", posting(), token="nope")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "forbidden"
    assert post(client, "k1", posting(), token="s3cret").status_code == 201
    assert sim.booking_count("k1") == 1


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("unavailable", 503, "upstream_unavailable"),
        ("server_error", 500, "server_error"),
        ("auth", 401, "auth_required"),
        ("forbidden", 403, "forbidden"),
        ("rate_limit", 429, "rate_limited"),
    ],
)
def test_request_faults_answer_every_request_and_book_nothing(
    sim_client: Started, kind: str, status: int, code: str
) -> None:
    sim, client = sim_client
    sim.faults.add(Fault(kind, count=2, retry_after=7))
    single = post(client, "k1", posting())
    assert (single.status_code, single.json()["code"]) == (status, code)
    whole_batch = batch(client, [("k2", posting("RMB-2"))])
    assert (whole_batch.status_code, whole_batch.json()["code"]) == (status, code)
    assert sim.bookings() == {}
    assert post(client, "k1", posting()).status_code == 201, "the fault was used up"
    if kind == "rate_limit":
        assert single.headers["Retry-After"] == "7"
        assert single.headers["X-Rate-Limit-Problem"] == "minute"
    if kind == "auth":
        assert single.json()["detail"] == "token revoked"


def test_targeted_faults_spare_other_postings(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("unavailable", source_ids=("RMB-9",)))
    sim.faults.add(Fault("validation", payee_ids=("VOL-13",)))
    assert post(client, "k1", posting("RMB-1")).status_code == 201
    assert post(client, "k9", posting("RMB-9")).status_code == 503
    refused = post(client, "k2", posting("RMB-2", payee_id="VOL-13"))
    assert refused.status_code == 422
    assert refused.json()["detail"] == "Payee VOL-13 does not exist in the ledger"
    assert refused.json()["errors"] == [{"field": "payee.id", "message": "unknown vendor"}]
    mixed = batch(client, [("k3", posting("RMB-3")), ("k9", posting("RMB-9"))])
    assert mixed.status_code == 503
    assert client.get("/v1/postings/k1").status_code == 200


def test_validation_fault_lasts_until_fixed(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("validation", source_ids=("RMB-1", "RMB-2")))
    for _ in range(2):
        assert post(client, "k1", posting("RMB-1")).status_code == 422
    assert sim.faults.fix("validation", source_id="RMB-1") == 1
    assert post(client, "k1", posting("RMB-1")).status_code == 201
    assert post(client, "k2", posting("RMB-2")).status_code == 422, "RMB-2 is still broken"
    assert sim.faults.fix(kind="validation") == 1
    assert len(sim.faults) == 0
    assert post(client, "k2", posting("RMB-2")).status_code == 201


def test_fix_by_kind_or_everything(sim_client: Started) -> None:
    sim, _ = sim_client
    sim.faults.extend([Fault("unavailable"), Fault("slow", seconds=1), Fault("auth")])
    assert sim.faults.fix("slow") == 1
    assert [fault.kind for fault in sim.faults.faults()] == ["unavailable", "auth"]
    assert sim.faults.fix() == 2
    assert len(sim.faults) == 0


def test_upstream_error_after_booking(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("upstream_error_after_booking", count=1))
    failed = post(client, "k1", posting())
    assert failed.status_code == 502
    assert (failed.json()["code"], failed.json()["outcome"]) == ("upstream_error", "uncertain")
    assert sim.booking_count("k1") == 1
    retried = post(client, "k1", posting())
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert sim.booking_count("k1") == 1


def test_upstream_error_after_booking_in_a_batch(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("upstream_error_after_booking", source_ids=("RMB-2",)))
    by_key = results(batch(client, [("k1", posting("RMB-1")), ("k2", posting("RMB-2"))]))
    assert by_key["k1"]["status"] == 201
    assert by_key["k2"]["status"] == 502
    assert by_key["k2"]["error"]["code"] == "upstream_error"
    assert sim.booking_count("k2") == 1


def test_malformed_success_books_but_answers_garbage(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("malformed_success", count=2))
    response = post(client, "k1", posting())
    assert response.status_code == 201
    with pytest.raises(json.JSONDecodeError):
        response.json()
    whole = batch(client, [("k2", posting("RMB-2"))])
    assert whole.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        whole.json()
    assert client.get("/v1/postings/k1").json()["id"] == sim.bookings()["k1"].id
    assert sim.booking_count("k2") == 1


def test_slow_fault_times_out_a_client_yet_books(start: Callable[..., Started]) -> None:
    sim, client = start(timeout=0.1)
    sim.faults.add(Fault("slow", count=1, seconds=0.4))
    with pytest.raises(httpx.ReadTimeout):
        post(client, "k1", posting())
    assert post(client, "k1", posting()).status_code == 409, "the slow request still holds it"
    deadline = time.monotonic() + 2
    while client.get("/v1/postings/k1").status_code == 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.booking_count("k1") == 1


def test_too_large_fault_only_hits_batches(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("too_large"))
    assert post(client, "k1", posting()).status_code == 201
    refused = batch(client, [("k2", posting("RMB-2"))])
    assert (refused.status_code, refused.json()["code"]) == (413, "batch_too_large")
    assert sim.booking_count("k2") == 0


def test_admin_endpoints(sim_client: Started) -> None:
    sim, client = sim_client
    added = client.post("/_sim/faults", json=[{"kind": "unavailable", "count": 1}])
    assert added.status_code == 200
    assert added.json()["faults"][0]["kind"] == "unavailable"
    assert post(client, "k1", posting()).status_code == 503
    assert post(client, "k1", posting()).status_code == 201
    assert client.post("/_sim/faults", json=[{"kind": "meteor"}]).status_code == 400
    client.post("/_sim/faults", json=[{"kind": "validation", "source_ids": ["RMB-2"]}])
    assert client.post("/_sim/fix", json={"kind": "validation"}).json() == {"fixed": 1}
    stats = client.get("/_sim/stats").json()
    assert stats == {
        "requests": 2,
        "bookings": 1,
        "duplicate_bookings": 0,
        "rate_limited": 0,
        "by_status": {"201": 1, "503": 1},
    }
    assert client.get("/_sim/stats", params={"keys": "1"}).json()["booking_counts"] == {"k1": 1}
    assert client.post("/_sim/reset").status_code == 200
    assert sim.bookings() == {} and sim.requests() == [] and len(sim.faults) == 0
    assert client.get("/_sim/stats").json()["requests"] == 0


def test_admin_endpoints_need_no_token(start: Callable[..., Started]) -> None:
    _, client = start(SimConfig(token="s3cret"))
    assert client.get("/_sim/stats").status_code == 200


def test_requests_are_recorded_in_order(sim_client: Started) -> None:
    sim, client = sim_client
    post(client, "k1", posting("RMB-1"))
    batch(client, [("k2", posting("RMB-2")), ("k3", posting("RMB-3"))])
    client.get("/v1/postings/k1")
    client.get("/nowhere")
    recorded = sim.requests()
    assert [(r.method, r.path, r.status) for r in recorded] == [
        ("POST", "/v1/postings", 201),
        ("POST", "/v1/postings:batch", 200),
        ("GET", "/v1/postings/k1", 200),
        ("GET", "/nowhere", 404),
    ]
    assert recorded[1].idempotency_keys == ["k2", "k3"]
    assert recorded[1].source_ids == ["RMB-2", "RMB-3"]
    assert recorded[0].at <= recorded[1].at <= recorded[2].at
    assert sim.stats()["by_status"] == {"200": 2, "201": 1, "404": 1}


def test_wrong_method_is_refused(sim_client: Started) -> None:
    _, client = sim_client
    response = client.get("/v1/postings")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_reset_forgets_everything(sim_client: Started) -> None:
    sim, client = sim_client
    sim.faults.add(Fault("validation", source_ids=("RMB-2",)))
    post(client, "k1", posting())
    sim.reset()
    assert sim.bookings() == {} and sim.requests() == [] and len(sim.faults) == 0
    assert post(client, "k1", posting()).json()["id"] == "ACC-000001"


def test_stop_is_clean_with_open_connections_and_a_sleeping_request() -> None:
    sim = GatewaySimulator(SimConfig(latency_seconds=5))
    url = sim.start()
    with httpx.Client(base_url=url, timeout=0.2, verify=TLS) as client:
        with pytest.raises(httpx.ReadTimeout):
            post(client, "k1", posting())
        began = time.monotonic()
        sim.stop()
        assert time.monotonic() - began < 2
        sim.stop()
    with pytest.raises(RuntimeError):
        _ = sim.url
