"""How the QuickBooks double behaves when no fault is injected: limits and switches."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sync_engine.sim_plans import changed_by_json

# replay: a repeated requestid gets the stored answer (Intuit's promise); ignore: it is booked
# again (the duplicates integrators report); refuse: 400 Fault 600 "Duplicate Request ID".
REQUESTID_MODES = ("replay", "ignore", "refuse")
QUERY_ENTITIES = ("Vendor", "Account")


@dataclass
class QboConfig:
    """Limits per realm (0: none) and the switches the contract's section 10 asks for."""

    rate_per_minute: int = 500
    concurrency: int = 10
    batch_per_minute: int = 40
    max_batch: int = 30
    latency_seconds: float = 0.0
    requestid_mode: str = "replay"
    # Entities whose `AcctNum` queries are refused with 400 code 4000.
    refuse_acctnum: tuple[str, ...] = ()
    # QBO's (per company setting) check that a vendor's DocNumbers are unique: 6140.
    duplicate_docnumber_check: bool = False
    shuffle_batch: bool = True
    # A limit's 429 carries Retry-After (Intuit documents none; the fault plan covers both).
    limit_retry_after: bool = True
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("rate_per_minute", "concurrency", "batch_per_minute"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= 1_000_000:
                raise ValueError(f"{name} must be an integer from 0 (no limit) up")
        if type(self.max_batch) is not int or not 1 <= self.max_batch <= 1000:
            raise ValueError("max_batch must be 1 to 1000")
        latency = self.latency_seconds
        if isinstance(latency, bool) or not isinstance(latency, int | float):
            raise ValueError("latency_seconds must be a number")
        if not 0 <= latency <= 600:
            raise ValueError("latency_seconds must be 0 to 600")
        if self.requestid_mode not in REQUESTID_MODES:
            raise ValueError(f"requestid_mode must be one of {', '.join(REQUESTID_MODES)}")
        refused = self.refuse_acctnum
        if isinstance(refused, str) or not set(refused) <= set(QUERY_ENTITIES):
            raise ValueError(f"refuse_acctnum must list some of {', '.join(QUERY_ENTITIES)}")
        self.refuse_acctnum = tuple(refused)
        for name in ("duplicate_docnumber_check", "shuffle_batch", "limit_retry_after"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if self.seed is not None and type(self.seed) is not int:
            raise ValueError("seed must be an integer or null")

    def changed(self, data: object) -> QboConfig:
        """A copy with the fields of JSON object `data`; ValueError on unknown fields or values."""
        return changed_by_json(self, data)  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON object."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["refuse_acctnum"] = list(self.refuse_acctnum)
        return body
