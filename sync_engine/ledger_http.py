"""The HTTP pieces every ledger adapter shares: one bounded send, what a failure means, Retry-After.

A request that never reached the ledger (`Unsent`) cannot have acted; one sent without an
answer (`Lost`: a timeout or a reset after sending, an answer cut short) may have. The body is
read up to a bound (`read_capped`: None past it), and a Retry-After is read as seconds, capped.
"""

from __future__ import annotations

import httpx

from sync_engine.bounded_reads import read_capped

MAX_RETRY_AFTER = 3600.0


class Unsent(Exception):
    """Nothing reached the ledger (connect failure, or no token could be had)."""


class Lost(Exception):
    """The request was sent and no answer came back (timeout, reset): it may have acted."""


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
