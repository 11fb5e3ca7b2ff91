"""QuickBooks' HTTP API as the adapter calls it: tokens, limits, bounded reads, no secrets logged.

Every call carries the access token the `TokenKeeper` hands out; a 401 asks it for a fresh one
and the call is repeated once. Calls are paced under the per-realm limits (one pacing limiter
for requests, one for batches, a cap on requests in flight) and a 429 holds every call back
for Retry-After (60 s when QBO sends none). What QBO answers is read up to `MAX_BODY_BYTES`
and parsed keeping decimals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sync_engine.credentials import TokenKeeper
from sync_engine.ledger_http import Lost, Unsent, json_client, retry_after, send_capped, with_token
from sync_engine.quickbooks.bills import loads
from sync_engine.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 << 20  # a batch of 30 Bills, or a query's page, fits many times over
THROTTLE_WAIT = 60.0  # Intuit: beyond a limit, wait 60 s (no Retry-After is documented)

__all__ = ["Lost", "Pace", "QboApi", "Reply", "Unsent"]


@dataclass(frozen=True)
class Reply:
    """One answer: its status, its body parsed (None if unreadable or too long), its tid."""

    status: int
    body: Any
    tid: str | None
    retry_after: float | None


@dataclass(frozen=True)
class Pace:
    """The per-realm limits the adapter keeps (contract section 8)."""

    concurrency: int
    rate_per_second: int
    rate_per_minute: int
    batch_per_minute: int


class QboApi:
    """One realm's API: `get`, `post` and `query`, paced, with the token kept fresh."""

    def __init__(
        self,
        base_url: str,
        realm_id: str,
        keeper: TokenKeeper,
        *,
        minor_version: int,
        timeout: float,
        pace: Pace,
        transport: httpx.BaseTransport | None = None,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self.realm_id = realm_id
        self._keeper = keeper
        self._minor = str(minor_version)
        self._observe = observe
        company_url = f"{base_url.rstrip('/')}/v3/company/{realm_id}"
        self._http = json_client(company_url, pace.concurrency, timeout, transport)
        per_minute = min(pace.rate_per_minute, pace.rate_per_second * 60)
        self.limiter = RateLimiter(per_minute)
        self.batch_limiter = RateLimiter(pace.batch_per_minute)
        self._in_flight = threading.BoundedSemaphore(pace.concurrency)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def get(self, path: str, params: dict[str, str] | None = None, route: str = "lookup") -> Reply:
        """GET a path under the company (Unsent or Lost if no answer came)."""
        return self._call("GET", path, params or {}, None, route)

    def post(self, path: str, content: str, request_id: str, route: str = "posting") -> Reply:
        """POST a JSON body with its requestid (Unsent or Lost if no answer came)."""
        return self._call("POST", path, {"requestid": request_id}, content, route)

    def query(self, statement: str) -> Reply:
        """Run one query statement (`select * from ...`)."""
        return self.get("/query", {"query": statement})

    def _call(
        self, method: str, path: str, params: dict[str, str], content: str | None, route: str
    ) -> Reply:
        def send(token: str) -> Reply:
            return self._send(method, path, params, content, route, token)

        return with_token(self._keeper, "QuickBooks", send)

    def _send(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        content: str | None,
        route: str,
        token: str,
    ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(
            method,
            path,
            params={**params, "minorversion": self._minor},
            headers=headers,
            content=content.encode("utf-8") if content is not None else None,
        )
        if route == "batch":  # batch calls have their own, lower limit (and count in the other)
            self.batch_limiter.acquire()
        self.limiter.acquire()
        started = time.perf_counter()
        with self._in_flight:
            raw, body = send_capped(self._http, request, MAX_BODY_BYTES, "QuickBooks")
        if self._observe is not None:
            self._observe(route, time.perf_counter() - started)
        reply = Reply(
            raw.status_code,
            loads(body) if body is not None else None,
            raw.headers.get("intuit_tid"),
            retry_after(raw.headers),
        )
        if reply.status == 429:
            wait = THROTTLE_WAIT if reply.retry_after is None else reply.retry_after
            self.limiter.pause(wait)
            if route == "batch":
                self.batch_limiter.pause(wait)
        if reply.status >= 400:
            log.info(
                "quickbooks answered an error",
                extra={
                    "event": "qbo_error",
                    "status": reply.status,
                    "intuit_tid": reply.tid,
                    "route": route,
                },
            )
        return reply
