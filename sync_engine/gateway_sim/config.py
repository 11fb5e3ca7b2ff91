"""How the simulated gateway behaves when no fault is injected."""

from __future__ import annotations

from dataclasses import dataclass

from sync_engine.contract import MAX_BATCH_ITEMS


@dataclass
class SimConfig:
    """Latency, limits and credentials of a simulated gateway (0 means no limit)."""

    latency_seconds: float = 0.0
    rate_per_minute: int = 0
    concurrency: int = 0
    token: str | None = None
    max_batch: int = MAX_BATCH_ITEMS
    # Booking ids padded to this many characters (0: the short form, ACC-000123), as ledgers
    # with long references answer.
    reference_length: int = 0

    def __post_init__(self) -> None:
        if self.latency_seconds < 0:
            raise ValueError("latency_seconds must not be negative")
        if self.rate_per_minute < 0 or self.concurrency < 0:
            raise ValueError("rate_per_minute and concurrency must be 0 (no limit) or more")
        if self.max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if self.reference_length < 0:
            raise ValueError("reference_length must be 0 (the short form) or more")
