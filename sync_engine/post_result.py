"""How one posting of one record ended: the gateway client's answer, read by the engine.

Kept apart from the client so that what only reads results (the queue's writers, the outage
watch, the query commands) never imports the HTTP machinery.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostResult:
    """How one posting of one record ended."""

    idempotency_key: str
    outcome: str
    http_status: int | None = None
    accounting_ref: str | None = None
    error: str | None = None
    error_class: str | None = None
    retry_after: float | None = None
