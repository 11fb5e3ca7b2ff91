"""The gateway ledger: the httpx client of the gateway contract, the first `Ledger` adapter.

Errors become classified outcomes here and only here: the engine sees error classes, never
HTTP statuses it must interpret (see `sync_engine.ledger` for what every adapter promises).

Every answer becomes a `PostResult`: `succeeded` (with the ledger's reference), `failed` (with
its error class), or `uncertain` (a timeout, a dropped connection, a 502, a 2xx that cannot be
read). Uncertain results are settled by the lookup endpoint; whatever stays uncertain is safe to
resend, because every attempt carries the record's one idempotency key.

What the gateway sends back is bounded where it is read: a body past `MAX_BODY_BYTES` is not
read further and counts as unreadable (a 2xx then is uncertain and looked up), and a ledger
reference is taken whole up to `MAX_REF_CHARS` characters (the database keeps any length; a
longer one, or one that is empty or not a string, is a malformed answer: the posting stays
uncertain, is looked up, and a lookup answering such a reference is a failed lookup).
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.bounded_reads import read_capped
from sync_engine.contract import MAX_BATCH_ITEMS, Posting
from sync_engine.errors import GatewayUnreachable
from sync_engine.ledger import LedgerLimits, LedgerPause
from sync_engine.post_result import PostResult
from sync_engine.ratelimit import RateLimiter

MAX_RETRY_AFTER = 86400.0  # a day: past this a header is more likely broken than meant
MAX_BODY_BYTES = 1 << 20  # a batch of 30 answers with their errors fits many times over
MAX_REF_CHARS = 4096  # a ledger's reference; past this it is more likely broken than meant
# A key no record ever has: a probe's 404 proves the gateway answers and takes our token.
PROBE_KEY_PREFIX = "syncbot-probe-"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the gateway, its body read up to `MAX_BODY_BYTES` (None past it)."""

    status_code: int
    headers: httpx.Headers
    body: bytes | None


def classify_status(status: int) -> str:
    """The error class of an HTTP answer, by status alone (the gateway's hint is advisory)."""
    if status in (401, 403):
        return ErrorClass.AUTH
    if status in (408, 409, 429) or status >= 500:
        return ErrorClass.TRANSIENT
    # 400, 404, 422 and any other refusal: the data or the ledger must be fixed first
    return ErrorClass.NEEDS_ATTENTION


def probe_key() -> str:
    """A fresh idempotency key that no record has, for the outage probe's lookup."""
    return PROBE_KEY_PREFIX + uuid.uuid4().hex


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _problem_text(status: int, body: Any) -> str:
    if isinstance(body, dict):
        code = body.get("code") or body.get("title") or "error"
        detail = body.get("detail")
        fields = body.get("errors")
        text = f"{status} {code}" + (f": {detail}" if detail else "")
        if isinstance(fields, list) and fields:
            parts = [f"{e.get('field')}: {e.get('message')}" for e in fields if isinstance(e, dict)]
            text += " (" + "; ".join(parts) + ")"
        return text
    return f"HTTP {status}"


def _failure(key: str, status: int, body: Any, retry_after: float | None = None) -> PostResult:
    outcome = Outcome.UNCERTAIN if status == 502 else Outcome.FAILED
    return PostResult(
        key,
        outcome,
        status,
        None,
        _problem_text(status, body),
        classify_status(status),
        retry_after,
    )


def _json(response: Answer) -> Any:
    if response.body is None:
        return None
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def _ref(found: Any) -> str | None:
    """A ledger reference as the contract gives it (`id`), or None if it is malformed."""
    ref = found.get("id") if isinstance(found, dict) else None
    if isinstance(ref, str) and 0 < len(ref) <= MAX_REF_CHARS:
        return ref
    return None


class GatewayClient:
    """One pooled httpx client for the gateway, paced by a shared rate limiter: a `Ledger`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        concurrency: int = 5,
        rate_per_minute: int = 0,
        batch_size: int = MAX_BATCH_ITEMS,
        transport: httpx.BaseTransport | None = None,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self._observe = observe  # told each request's route and round trip, in seconds
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout),
            limits=limits,
            transport=transport,
        )
        self.limiter = RateLimiter(rate_per_minute)
        self._limits = LedgerLimits(batch_size, concurrency, timeout)

    @property
    def limits(self) -> LedgerLimits:
        """Records per batch, requests at once and the request timeout, as configured."""
        return self._limits

    def reserve(self) -> None:
        """Take this thread's next slot under the rate limit now."""
        self.limiter.reserve()

    def probe(self) -> str | None:
        """Look up a key no record has: a 200 or 404 proves the gateway answers with our token
        (the gateway names no company: None)."""
        self.lookup(probe_key())
        return None

    def paused(self) -> LedgerPause | None:
        """Never: this ledger imposes no pause of its own (its limits answer 429)."""
        return None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, url: str, **kwargs: Any) -> Answer:
        self.limiter.acquire()
        started = time.perf_counter()
        request = self._http.build_request(method, url, **kwargs)
        raw = self._http.send(request, stream=True)
        try:
            response = Answer(raw.status_code, raw.headers, read_capped(raw, MAX_BODY_BYTES))
        finally:
            raw.close()
        if self._observe is not None:
            route = (
                "lookup" if method == "GET" else "batch" if url.endswith(":batch") else "posting"
            )
            self._observe(route, time.perf_counter() - started)
        if response.status_code == 429:
            wait = _retry_after(response)
            self.limiter.pause(1.0 if wait is None else wait)
        return response

    def _network_failure(self, keys: list[str], exc: httpx.HTTPError) -> list[PostResult]:
        # A refused connection sent nothing; any later error may have reached the ledger.
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
        text = f"{kind}: {type(exc).__name__}: {exc}".rstrip(": ")
        outcome = Outcome.UNCERTAIN if sent else Outcome.FAILED
        return [PostResult(k, outcome, None, None, text, ErrorClass.TRANSIENT) for k in keys]

    def post(self, key: str, posting: Posting) -> PostResult:
        """Send one posting with its idempotency key; uncertain outcomes are settled by lookup."""
        return self.settle([self._post_one(key, posting)])[0]

    def _post_one(self, key: str, posting: Posting) -> PostResult:
        try:
            response = self._request(
                "POST", "/v1/postings", json=posting.to_wire(), headers={"Idempotency-Key": key}
            )
        except httpx.HTTPError as exc:
            return self._network_failure([key], exc)[0]
        return self._read_single(key, response)

    def _read_single(self, key: str, response: Answer) -> PostResult:
        status = response.status_code
        body = _json(response)
        if 200 <= status < 300:
            ref = _ref(body)
            if ref is not None:
                return PostResult(key, Outcome.SUCCEEDED, status, ref)
            return PostResult(
                key,
                Outcome.UNCERTAIN,
                status,
                None,
                f"{status} with an unreadable body",
                ErrorClass.TRANSIENT,
            )
        return _failure(key, status, body, _retry_after(response))

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        """Send postings through the batch endpoint (split on 413); one result per item."""
        results: list[PostResult] = []
        for start in range(0, len(items), MAX_BATCH_ITEMS):
            results.extend(self._post_chunk(items[start : start + MAX_BATCH_ITEMS]))
        return self.settle(results)

    def _post_chunk(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        keys = [key for key, _ in items]
        body = {"items": [{"idempotency_key": k, "posting": p.to_wire()} for k, p in items]}
        try:
            response = self._request("POST", "/v1/postings:batch", json=body)
        except httpx.HTTPError as exc:
            return self._network_failure(keys, exc)
        if response.status_code == 413:
            # No record's fault: split the batch; a batch of one goes out as a single posting.
            if len(items) == 1:
                return [self._post_one(*items[0])]
            half = len(items) // 2
            return self._post_chunk(items[:half]) + self._post_chunk(items[half:])
        if response.status_code != 200:
            answer = _json(response)
            retry_after = _retry_after(response)
            if 200 <= response.status_code < 300:
                answer, status = None, 502  # a 2xx without per-item results: settle by lookup
            else:
                status = response.status_code
            return [_failure(k, status, answer, retry_after) for k in keys]
        return self._read_batch(keys, _json(response))

    def _read_batch(self, keys: list[str], body: Any) -> list[PostResult]:
        by_key: dict[str, PostResult] = {}
        rows = body.get("results") if isinstance(body, dict) else None
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or row.get("idempotency_key") not in keys:
                continue
            key, status, ref = row["idempotency_key"], row.get("status"), _ref(row)
            if isinstance(status, int) and 200 <= status < 300 and ref is not None:
                by_key[key] = PostResult(key, Outcome.SUCCEEDED, status, ref)
            elif isinstance(status, int) and status >= 300:
                by_key[key] = _failure(key, status, row.get("error"))
        missing = "no result for this item in the batch answer"
        return [
            by_key.get(key)
            or PostResult(key, Outcome.UNCERTAIN, 200, None, missing, ErrorClass.TRANSIENT)
            for key in keys
        ]

    def lookup(self, key: str) -> str | None:
        """The ledger's reference for a posting booked under `key`, or None if nothing is booked."""
        try:
            response = self._request("GET", f"/v1/postings/{key}")
        except httpx.HTTPError as exc:
            raise GatewayUnreachable(f"the gateway lookup failed: {type(exc).__name__}") from exc
        body = _json(response)
        ref = _ref(body)
        if response.status_code == 200 and ref is not None:
            return ref
        if response.status_code == 404:
            return None
        if response.status_code == 200:
            raise GatewayUnreachable("the gateway lookup answered 200 without a readable reference")
        raise GatewayUnreachable(
            f"the gateway lookup answered {_problem_text(response.status_code, body)}"
        )

    def settle(self, results: list[PostResult]) -> list[PostResult]:
        """Ask the lookup endpoint about every uncertain result; stop asking once it fails."""
        settled: list[PostResult] = []
        reachable = True
        for result in results:
            if result.outcome == Outcome.UNCERTAIN and reachable:
                try:
                    ref = self.lookup(result.idempotency_key)
                except GatewayUnreachable:
                    reachable = False
                else:
                    result = self._settled(result, ref)
            settled.append(result)
        return settled

    @staticmethod
    def _settled(result: PostResult, ref: str | None) -> PostResult:
        if ref is not None:
            note = f"{result.error}; the lookup found it booked"
            return replace(
                result, outcome=Outcome.SUCCEEDED, accounting_ref=ref, error=note, error_class=None
            )
        note = f"{result.error}; the lookup found nothing booked"
        return replace(result, outcome=Outcome.FAILED, error=note)
