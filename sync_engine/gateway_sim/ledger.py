"""The simulated ledger: bookings by idempotency key and the keys being posted right now."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sync_engine.contract import Posting


@dataclass(frozen=True)
class Booking:
    """One posting booked in the simulated ledger."""

    id: str
    idempotency_key: str
    posting: Posting
    booked_at: datetime


class Ledger:
    """Bookings, how often each key was booked, and the in-flight keys, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bookings: dict[str, Booking] = {}
        self._counts: dict[str, int] = {}
        self._in_flight: set[str] = set()
        self._last_id = 0

    def claim(self, keys: Iterable[str]) -> set[str]:
        """Mark the free ones of `keys` as being posted; return those the caller now holds."""
        with self._lock:
            held = {key for key in keys if key not in self._in_flight}
            self._in_flight |= held
        return held

    def release(self, keys: Iterable[str]) -> None:
        """Give back keys taken with `claim`."""
        with self._lock:
            self._in_flight.difference_update(keys)

    def find(self, key: str) -> Booking | None:
        """The booking made under `key`, if any."""
        with self._lock:
            return self._bookings.get(key)

    def book(self, key: str, posting: Posting, length: int = 0) -> Booking:
        """Book `posting` under `key` unconditionally; idempotency is the caller's job.
        The booking's id is padded to `length` characters, if it is shorter."""
        # Booking a key twice is counted rather than prevented, so a bug shows as a duplicate.
        with self._lock:
            self._last_id += 1
            short = f"ACC-{self._last_id:06d}"
            padded = f"{short}-".ljust(length, "R") if length > len(short) else short
            booking = Booking(padded, key, posting, datetime.now(UTC))
            self._bookings.setdefault(key, booking)
            self._counts[key] = self._counts.get(key, 0) + 1
        return booking

    def booking_count(self, key: str) -> int:
        """How many times `key` was booked."""
        with self._lock:
            return self._counts.get(key, 0)

    def bookings(self) -> dict[str, Booking]:
        """Key -> the first booking made under it."""
        with self._lock:
            return dict(self._bookings)

    def counts(self) -> dict[str, int]:
        """Key -> how many times it was booked."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget every booking; keys in flight stay held by the requests posting them."""
        with self._lock:
            self._bookings.clear()
            self._counts.clear()
            self._last_id = 0
