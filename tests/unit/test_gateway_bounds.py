"""The gateway client bounds what it reads: the body of an answer, and a ledger reference."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.contract import Posting
from sync_engine.errors import GatewayUnreachable
from sync_engine.gateway import (
    MAX_BODY_BYTES,
    MAX_REF_CHARS,
    GatewayClient,
)

POSTING = Posting(
    source_id="RMB-2026-0001",
    kind="reimbursement",
    payee_id="VOL-1",
    payee_name="Ana Lima",
    amount=Decimal("1.25"),
    currency="USD",
    description="Mileage",
    approved_at=datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC),
)


def client(handler) -> GatewayClient:
    return GatewayClient(
        "http://gateway.test", "token", transport=httpx.MockTransport(handler), timeout=5
    )


def answering(post: httpx.Response, lookup: httpx.Response | None = None):
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if request.method == "GET":
            assert lookup is not None, "no lookup was expected"
            return lookup
        return post

    return handle, seen


@pytest.mark.parametrize("length", [300, 2000, MAX_REF_CHARS])
def test_a_long_reference_up_to_the_cap_is_taken_whole(length):
    ref = "ACC-" + "7" * (length - 4)
    handle, seen = answering(httpx.Response(201, json={"id": ref, "status": "posted"}))

    result = client(handle).post("k1", POSTING)

    assert (result.outcome, result.accounting_ref) == (Outcome.SUCCEEDED, ref)
    assert seen == ["POST"]


def test_a_reference_past_the_cap_is_a_malformed_answer_and_stays_uncertain():
    ref = "A" * (MAX_REF_CHARS + 1)
    body = {"id": ref, "status": "posted"}
    handle, seen = answering(httpx.Response(201, json=body), httpx.Response(200, json=body))

    result = client(handle).post("k1", POSTING)

    # Never cut to fit: the posting is uncertain, and the lookup's answer is refused too.
    assert (result.outcome, result.accounting_ref, result.error_class) == (
        Outcome.UNCERTAIN,
        None,
        ErrorClass.TRANSIENT,
    )
    assert seen == ["POST", "GET"]
    with pytest.raises(GatewayUnreachable, match="without a readable reference"):
        client(handle).lookup("k1")


@pytest.mark.parametrize("ref", ["", 12345, None])
def test_an_empty_or_non_text_reference_is_malformed(ref):
    handle, _ = answering(
        httpx.Response(201, json={"id": ref}), httpx.Response(404, json={"code": "not_found"})
    )
    result = client(handle).post("k1", POSTING)
    assert result.accounting_ref is None and result.outcome != Outcome.SUCCEEDED


def test_a_batch_row_with_a_reference_past_the_cap_is_looked_up():
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"id": "ACC-000002"})
        items = json.loads(request.content)["items"]
        rows = [
            {"idempotency_key": items[0]["idempotency_key"], "status": 201, "id": "ACC-000001"},
            {"idempotency_key": items[1]["idempotency_key"], "status": 201, "id": "B" * 5000},
        ]
        return httpx.Response(200, json={"results": rows})

    first, second = client(handle).post_batch([("k1", POSTING), ("k2", POSTING)])

    assert first.accounting_ref == "ACC-000001"
    assert (second.outcome, second.accounting_ref) == (Outcome.SUCCEEDED, "ACC-000002")  # by lookup


def test_a_body_past_the_cap_is_not_read_further_and_counts_as_unreadable():
    sent = [0]

    def huge() -> Iterator[bytes]:
        yield b'{"id": "ACC-1", "padding": "'
        while sent[0] < 8 * MAX_BODY_BYTES:  # finite, so that a client without a cap ends
            sent[0] += 65536
            yield b"x" * 65536

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"id": "ACC-000009"})
        return httpx.Response(201, content=huge())

    result = client(handle).post("k1", POSTING)

    # Reading stopped just past the cap; the 2xx it could not read was settled by lookup.
    assert MAX_BODY_BYTES <= sent[0] <= MAX_BODY_BYTES + 2 * 65536
    assert (result.outcome, result.accounting_ref) == (Outcome.SUCCEEDED, "ACC-000009")
