"""Xero's Accounting API as the adapter calls it: tokens, limits, budget, bounded reads.

Every call carries `Authorization: Bearer`, `xero-tenant-id` and `Accept: application/json`;
the access token comes from the `TokenKeeper`, and a 401 gets one fresh token and one repeat.
The limits of contract section 8: at most `XERO_CONCURRENCY` calls in flight, calls paced so
that no 60-second window holds more than `XERO_RATE_PER_MINUTE` (lookups and batches count),
a pause when `X-MinLimit-Remaining` runs low or a 429 says so (its Retry-After), and before
every call one unit of the tenant's daily budget, shared in the database by every process
(`DayPaused` when it is spent: nothing is sent). Answers are read up to `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from sync_engine.credentials import TokenKeeper
from sync_engine.ledger import LedgerPause
from sync_engine.ledger_http import (
    Lost,
    Unsent,
    access_token,
    json_client,
    retry_after,
    send_capped,
    with_token,
)
from sync_engine.ratelimit import SlidingWindowLimiter
from sync_engine.xero.budget import DailyBudget, midnight_after
from sync_engine.xero.invoices import read_json

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 4 << 20  # a batch of 50 invoices, or a page of 100, fits many times over
THROTTLE_WAIT = 1.0  # a minute-limit 429 without Retry-After (contract section 7)
LOW_REMAINING = 5  # slow down when X-MinLimit-Remaining is at most this (section 8)
SLOW_DOWN_SECONDS = 2.0  # per call short of LOW_REMAINING + 1
DAY = 86_400.0  # the longest Retry-After read (a daily limit's)

__all__ = ["DayPaused", "Lost", "Reply", "Unsent", "XeroApi"]


class DayPaused(Exception):
    """The tenant's daily budget is spent, or Xero paused it for the day: nothing was sent."""

    def __init__(self, pause: LedgerPause) -> None:
        self.pause = pause
        super().__init__(pause.reason)


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers, the body read (None past the bound) and parsed."""

    status: int
    headers: httpx.Headers
    body: bytes | None
    data: Any
    retry_after: float | None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.isdigit() and len(value) < 10 else None


class XeroApi:
    """One tenant's API: `get`, `put` and `connections`, paced, budgeted, token kept fresh."""

    def __init__(
        self,
        base_url: str,
        connections_url: str,
        tenant_id: str,
        keeper: TokenKeeper,
        budget: DailyBudget,
        *,
        timeout: float,
        concurrency: int,
        rate_per_minute: int,
        transport: httpx.BaseTransport | None = None,
        observe: Callable[[str, float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.tenant_id = tenant_id
        self.budget = budget
        self._keeper, self._observe = keeper, observe
        self._connections_url = connections_url
        self._http = json_client(base_url.rstrip("/"), concurrency, timeout, transport)
        self.limiter = SlidingWindowLimiter(rate_per_minute, clock=monotonic, sleep=sleep)
        self._in_flight = threading.BoundedSemaphore(concurrency)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None, route: str = "lookup") -> Reply:
        """GET a path under the API base (Unsent, Lost, DayPaused or CredentialsError)."""
        return self._call("GET", path, params or {}, None, None, route)

    def put(self, path: str, content: bytes, key: str, route: str = "posting") -> Reply:
        """PUT a JSON body with its Idempotency-Key (`summarizeErrors=false` always sent)."""
        params = {"summarizeErrors": "false"}
        return self._call("PUT", path, params, content, key, route)

    def connections(self) -> Reply:
        """GET the connections list (Bearer only, no tenant header, outside the budget)."""
        token = access_token(self._keeper, None, "Xero")
        request = self._http.build_request(
            "GET", self._connections_url, headers={"Authorization": f"Bearer {token}"}
        )
        return self._send(request, "lookup", budgeted=False)

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        content: bytes | None,
        key: str | None,
        route: str,
    ) -> Reply:
        headers = {"xero-tenant-id": self.tenant_id}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key

        def send(token: str) -> Reply:
            bearer = {"Authorization": f"Bearer {token}", **headers}
            request = self._http.build_request(
                method, path, params=params, headers=bearer, content=content
            )
            return self._send(request, route)

        return with_token(self._keeper, "Xero", send)

    def _send(self, request: httpx.Request, route: str, budgeted: bool = True) -> Reply:
        self.limiter.acquire()
        if budgeted:
            refused = self.budget.spend()
            if refused is not None:
                raise DayPaused(refused)
        started = time.perf_counter()
        with self._in_flight:
            raw, body = send_capped(self._http, request, MAX_BODY_BYTES, "Xero")
        if self._observe is not None:
            self._observe(route, time.perf_counter() - started)
        data = read_json(body) if body is not None else None
        reply = Reply(raw.status_code, raw.headers, body, data, retry_after(raw.headers, DAY))
        self._heed(reply)
        if reply.status >= 400:
            log.info(
                "xero answered an error",
                extra={"event": "xero_error", "status": reply.status, "route": route},
            )
        return reply

    def _heed(self, reply: Reply) -> None:
        """Slow down, pause for a 429's Retry-After, or stop for the day."""
        headers = reply.headers
        if reply.status == 429:
            problem = (headers.get("X-Rate-Limit-Problem") or "").strip().lower()
            wait = THROTTLE_WAIT if reply.retry_after is None else reply.retry_after
            if problem.startswith("day"):  # "day", or the older "Daily"
                self.budget.pause(self.budget.now() + timedelta(seconds=wait))
            else:
                self.limiter.pause(wait)
            return
        if _int_header(headers, "X-DayLimit-Remaining") == 0:
            self.budget.pause(midnight_after(self.budget.now()))
        remaining = _int_header(headers, "X-MinLimit-Remaining")
        if remaining is not None and remaining <= LOW_REMAINING:
            self.limiter.pause(SLOW_DOWN_SECONDS * (LOW_REMAINING + 1 - remaining))
