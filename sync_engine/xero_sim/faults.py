"""The Xero double's fault plan: what a write gets wrong, how often, and for which invoices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sync_engine.sim_plans import FaultPlan, from_json_fields

# Before anything is booked or the key store is read: 503 "Organisation offline" or "Not
# Available" (maintenance), and a down key store (500, not stored under the key).
REQUEST_KINDS = ("offline", "maintenance", "key_store_down")
# Around the booking: booked then 500 (stored under the key), booked then the link cut,
# booked after `seconds` (beyond the client's timeout); and the elements answered shuffled.
BOOKING_KINDS = ("book_then_500", "book_then_drop", "book_late", "shuffle")
KINDS = REQUEST_KINDS + BOOKING_KINDS


@dataclass
class XeroFault:
    """One injected failure for `count` matching writes (None: until cleared)."""

    kind: str
    count: int | None = None
    invoice_numbers: tuple[str, ...] = ()
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.count is not None and (type(self.count) is not int or self.count < 1):
            raise ValueError("count must be at least 1 (or null: until cleared)")
        numbers = self.invoice_numbers
        if isinstance(numbers, str) or not isinstance(numbers, Iterable):
            raise ValueError("invoice_numbers must be a list of strings")
        self.invoice_numbers = tuple(numbers)
        if len(self.invoice_numbers) > 1000 or not all(
            isinstance(n, str) and len(n) <= 255 for n in self.invoice_numbers
        ):
            raise ValueError("invoice_numbers must be at most 1000 strings of <= 255 chars")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float):
            raise ValueError("seconds must be a number")
        if not 0 <= self.seconds <= 3600:
            raise ValueError("seconds must be 0 to 3600")

    def matches(self, numbers: Sequence[str | None]) -> bool:
        """Whether the fault acts on a write carrying these InvoiceNumbers."""
        return not self.invoice_numbers or any(n in self.invoice_numbers for n in numbers)

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object `from_json` reads back."""
        body = {f.name: getattr(self, f.name) for f in fields(self)}
        body["invoice_numbers"] = list(self.invoice_numbers)
        return body

    @classmethod
    def from_json(cls, data: object) -> XeroFault:
        """Read a fault object; ValueError on unknown fields or bad values."""
        return from_json_fields(cls, data, "fault", required="kind")  # type: ignore[no-any-return]


class XeroFaultPlan(FaultPlan[XeroFault]):
    """The Xero double's faults, first match first; safe to change from any thread."""

    fault_type = XeroFault

    def take(self, kinds: Sequence[str], numbers: Sequence[str | None]) -> XeroFault | None:
        """The first fault of `kinds` acting on this write; spends one use of it."""
        return self.take_first(kinds, lambda fault: fault.matches(numbers))
