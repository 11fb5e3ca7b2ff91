"""The HTTP pieces every ledger adapter shares: one bounded send, what a failure means, Retry-After.

A request that never reached the ledger (`Unsent`) cannot have acted; one sent without an
answer (`Lost`: a timeout or a reset after sending, an answer cut short) may have. The body is
read up to a bound (`read_capped`: None past it), and a Retry-After is read as seconds, capped.
A call carries the access token a `TokenKeeper` hands out (`with_token`): a 401 gets one fresh
token and one repeat.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import httpx

from sync_engine.bounded_reads import read_capped
from sync_engine.credentials import CredentialsError, TokenKeeper

MAX_RETRY_AFTER = 3600.0


class Unsent(Exception):
    """Nothing reached the ledger (connect failure, or no token could be had)."""


class Lost(Exception):
    """The request was sent and no answer came back (timeout, reset): it may have acted."""


def json_client(
    base_url: str, concurrency: int, timeout: float, transport: httpx.BaseTransport | None
) -> httpx.Client:
    """An HTTP client for one company's API: JSON accepted, at most `concurrency` connections."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.Client(
        base_url=base_url,
        headers={"Accept": "application/json"},
        timeout=httpx.Timeout(timeout),
        limits=limits,
        transport=transport,
    )


def retry_after(headers: httpx.Headers, cap: float = MAX_RETRY_AFTER) -> float | None:
    """The Retry-After header in seconds (0 to `cap`), or None if absent or unreadable."""
    value = headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    if seconds is None or seconds != seconds:  # NaN
        return None
    return min(max(0.0, seconds), cap)


def send_capped(
    http: httpx.Client, request: httpx.Request, max_bytes: int, ledger: str
) -> tuple[httpx.Response, bytes | None]:
    """Send `request` and read its answer up to `max_bytes` (None past it); Unsent if it
    never left, Lost if it left and no whole answer came back."""
    try:
        raw = http.send(request, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Unsent(f"could not reach {ledger}: {type(exc).__name__}") from None
    except httpx.HTTPError as exc:
        kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
        raise Lost(f"{kind} after sending: {type(exc).__name__}") from None
    try:
        body = read_capped(raw, max_bytes)
    except httpx.HTTPError as exc:
        raise Lost(f"the answer was cut: {type(exc).__name__}") from None
    finally:
        raw.close()
    return raw, body


class _Answered(Protocol):
    @property
    def status(self) -> int: ...


A = TypeVar("A", bound=_Answered)


def access_token(keeper: TokenKeeper, refused: str | None, ledger: str) -> str:
    """An access token (after a 401 with `refused`: a fresh one); CredentialsError for auth
    failures, Unsent when the token endpoint could not answer (nothing was sent)."""
    try:
        if refused is None:
            return keeper.access_token()
        return keeper.after_unauthorized(refused)
    except CredentialsError:
        raise
    except Exception as exc:  # noqa: BLE001 - the token endpoint's outage: nothing was sent
        raise Unsent(f"the {ledger} token refresh failed: {type(exc).__name__}") from None


def with_token(keeper: TokenKeeper, ledger: str, send: Callable[[str], A]) -> A:
    """`send(token)`; after a 401 (the token may have expired in flight, or been revoked) one
    fresh token and one repeat."""
    token = access_token(keeper, None, ledger)
    reply = send(token)
    if reply.status == 401:
        reply = send(access_token(keeper, token, ledger))
    return reply
