"""The QuickBooks double's fault plan: what it gets wrong, how often, and for which Bills."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sync_engine.sim_plans import FaultPlan, from_json_fields

# Answered before anything is booked; `fault` answers `status` with a Fault (200 included).
REQUEST_KINDS = ("unavailable", "throttle", "fault")
# Act on a write around its booking: booked then 500, booked then the link cut, booked late.
BOOKING_KINDS = ("book_then_500", "book_then_drop", "book_late")
# Act on one batch item: booked then a SystemFault item, or (booked or not) left out.
ITEM_KINDS = ("item_system_fault", "item_missing")
KINDS = REQUEST_KINDS + BOOKING_KINDS + ITEM_KINDS
ROUTES = ("bill", "batch", "query", "companyinfo", "preferences")
WRITES = ("bill", "batch")
FAULT_TYPES = ("ValidationFault", "SystemFault", "AuthenticationFault", "AuthorizationFault")


def _strings(name: str, value: object, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of strings")
    items = tuple(value)
    if len(items) > 1000 or not all(isinstance(i, str) and len(i) <= 128 for i in items):
        raise ValueError(f"{name} must be a list of at most 1000 short strings")
    if allowed is not None and not set(items) <= set(allowed):
        raise ValueError(f"{name} must name only {', '.join(allowed)}")
    return items


@dataclass
class PlannedFault:
    """One injected failure, for `count` matching requests or items (None: until cleared)."""

    kind: str
    count: int | None = None
    routes: tuple[str, ...] = ()
    doc_numbers: tuple[str, ...] = ()
    seconds: float = 0.0
    retry_after: int | None = 60
    status: int = 400
    type: str = "ValidationFault"
    code: str = "6000"
    detail: str | None = None
    book: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            raise ValueError("count must be at least 1 (or null: until cleared)")
        self.routes = _strings("routes", self.routes, ROUTES)
        self.doc_numbers = _strings("doc_numbers", self.doc_numbers)
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float):
            raise ValueError("seconds must be a number")
        if not 0 <= self.seconds <= 3600:
            raise ValueError("seconds must be between 0 and 3600")
        if self.retry_after is not None and (
            type(self.retry_after) is not int or not 0 <= self.retry_after <= 3600
        ):
            raise ValueError("retry_after must be null or 0 to 3600")
        if type(self.status) is not int or not 200 <= self.status <= 599:
            raise ValueError("status must be an HTTP status")
        if self.type not in FAULT_TYPES:
            raise ValueError(f"type must be one of {', '.join(FAULT_TYPES)}")
        if not isinstance(self.code, str) or not self.code.isdigit() or len(self.code) > 6:
            raise ValueError("code must be a string of digits")
        if self.detail is not None and (
            not isinstance(self.detail, str) or len(self.detail) > 4000
        ):
            raise ValueError("detail must be a string of at most 4000 characters")
        if not isinstance(self.book, bool):
            raise ValueError("book must be true or false")

    def matches(self, route: str, doc_numbers: Sequence[str | None]) -> bool:
        """Whether the fault acts on a request to `route` carrying `doc_numbers`."""
        default = ROUTES if self.kind in REQUEST_KINDS else WRITES
        if route not in (self.routes or default):
            return False
        return not self.doc_numbers or any(d in self.doc_numbers for d in doc_numbers)

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object `from_json` reads back."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["routes"], body["doc_numbers"] = list(self.routes), list(self.doc_numbers)
        return body

    @classmethod
    def from_json(cls, data: object) -> PlannedFault:
        """Read a fault object; raise ValueError on unknown fields or bad values."""
        return from_json_fields(cls, data, "fault", required="kind")  # type: ignore[no-any-return]


class QboFaultPlan(FaultPlan[PlannedFault]):
    """The QuickBooks double's faults, first match first; safe to change from any thread."""

    fault_type = PlannedFault

    def take(
        self, kinds: Sequence[str], route: str, doc_numbers: Sequence[str | None]
    ) -> PlannedFault | None:
        """The first fault of `kinds` acting on this request or item; spends one use of it."""
        return self.take_first(kinds, lambda fault: fault.matches(route, doc_numbers))
