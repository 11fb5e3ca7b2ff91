"""The simulator's record of every request it answered, and the stats drawn from it."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace


@dataclass
class ReceivedRequest:
    """One answered request: what it carried, the status it got, and when it arrived."""

    method: str
    path: str
    idempotency_keys: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)
    status: int = 0
    at: float = 0.0


class Journal:
    """Answered requests, thread-safe; listed in the order they arrived."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[ReceivedRequest] = []

    def add(self, entry: ReceivedRequest) -> None:
        """Record an answered request."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[ReceivedRequest]:
        """Copies of every entry, by arrival (`at`), since they are recorded when answered."""
        with self._lock:
            entries = [
                replace(e, idempotency_keys=list(e.idempotency_keys), source_ids=list(e.source_ids))
                for e in self._entries
            ]
        return sorted(entries, key=lambda entry: entry.at)

    def by_status(self) -> dict[str, int]:
        """Answer status (as a string, like JSON keys) -> how many requests got it."""
        with self._lock:
            counts = Counter(str(entry.status) for entry in self._entries)
        return dict(sorted(counts.items()))

    def reset(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
