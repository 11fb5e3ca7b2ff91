"""How the Xero double behaves when no fault is injected: limits, the key window, switches."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sync_engine.sim_plans import changed_by_json

_LIMITS = ("concurrency", "rate_per_minute", "daily_limit", "app_rate_per_minute", "max_batch")


@dataclass
class XeroConfig:
    """Per-tenant and per-app limits (0: none), the Idempotency-Key window, latency."""

    concurrency: int = 5
    rate_per_minute: int = 60
    daily_limit: int = 5_000  # 1,000 for a Starter-tier app
    app_rate_per_minute: int = 10_000
    # Xero sets no count; the double caps a request's invoices (the body is capped at 1 MiB).
    max_batch: int = 100
    key_window_seconds: float = 360.0
    # How long a repeat waits for the first request holding its key before giving up (409).
    key_wait_seconds: float = 120.0
    latency_seconds: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in _LIMITS:
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= 1_000_000:
                raise ValueError(f"{name} must be an integer from 0 (no limit) to 1000000")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        for name in ("key_window_seconds", "key_wait_seconds", "latency_seconds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number")
            if not 0 <= value <= 86_400:
                raise ValueError(f"{name} must be 0 to 86400")
        if self.seed is not None and type(self.seed) is not int:
            raise ValueError("seed must be an integer or null")

    def changed(self, data: object) -> XeroConfig:
        """A copy with the fields of JSON object `data`; ValueError on unknown fields or values."""
        return changed_by_json(self, data)  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
