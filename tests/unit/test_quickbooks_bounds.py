"""What the QuickBooks adapter reads from QuickBooks is bounded: bodies and error texts."""

from __future__ import annotations

from typing import Any, cast

import httpx

from sync_engine.credentials import TokenKeeper
from sync_engine.quickbooks.api import MAX_BODY_BYTES, Pace, QboApi
from sync_engine.quickbooks.faults import MAX_DETAIL, raw_text, read_faults


class StaticKeeper:
    """A token keeper with one token that never expires."""

    def access_token(self) -> str:
        return "AT-1"

    def after_unauthorized(self, refused: str) -> str:
        return "AT-2"


def api_answering(handler: Any) -> QboApi:
    """An API client whose transport answers with `handler`."""
    return QboApi(
        "http://qbo.test",
        "1",
        cast(TokenKeeper, StaticKeeper()),
        minor_version=75,
        timeout=5.0,
        pace=Pace(4, 1000, 60000, 6000),
        transport=httpx.MockTransport(handler),
    )


def test_a_body_past_the_bound_is_not_read_and_counts_as_unreadable() -> None:
    huge = b'{"Bill":{"Id":"1","x":"' + b"a" * (MAX_BODY_BYTES + 10) + b'"}}'
    api = api_answering(lambda request: httpx.Response(200, content=huge))
    reply = api.post("/bill", "{}", "rid")
    assert (reply.status, reply.body) == (200, None)


def test_a_long_detail_is_cut_in_the_error_text() -> None:
    body = {
        "Fault": {"type": "ValidationFault", "Error": [{"code": "6000", "Detail": "d" * 50000}]}
    }
    faults = read_faults(body)
    assert len(faults[0].detail) == MAX_DETAIL
    assert len(raw_text(400, faults * 10, "t" * 1000)) < 3 * MAX_DETAIL + 400


def test_answers_keep_decimals_and_a_401_is_repeated_once_with_a_fresh_token() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:
            return httpx.Response(401, json={"fault": {"error": [{"code": "3200"}]}})
        return httpx.Response(200, content=b'{"Bill":{"Id":"7","TotalAmt":42.50}}')

    reply = api_answering(handler).post("/bill", "{}", "rid")
    assert seen == ["Bearer AT-1", "Bearer AT-2"]
    assert str(reply.body["Bill"]["TotalAmt"]) == "42.50"
