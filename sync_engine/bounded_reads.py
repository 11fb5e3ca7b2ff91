"""Reading a ledger's HTTP answer up to a bound: what comes from outside is hostile until read."""

from __future__ import annotations

import httpx


def read_capped(response: httpx.Response, max_bytes: int) -> bytes | None:
    """The body of a streamed `response`, or None once it grows past `max_bytes` (the rest is
    never read)."""
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
