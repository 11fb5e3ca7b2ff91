"""The `requestid` store: the answer each request id got, per company, bounded."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sync_engine.gateway_sim.messages import Answer

MAX_REMEMBERED = 100_000  # Intuit does not say how long ids are remembered; oldest go first
IN_FLIGHT = "in_flight"


class RequestIds:
    """Stored answers by (realm, requestid); a held id is one being answered right now."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._answers: OrderedDict[tuple[str, str], Answer] = OrderedDict()
        self._held: set[tuple[str, str]] = set()

    def begin(self, realm: str, rid: str) -> Answer | str | None:
        """The stored answer, IN_FLIGHT, or None (the caller now holds the id)."""
        key = (realm, rid)
        with self._lock:
            if key in self._answers:
                return self._answers[key]
            if key in self._held:
                return IN_FLIGHT
            self._held.add(key)
            return None

    def finish(self, realm: str, rid: str, answer: Answer | None) -> None:
        """Release a held id, storing `answer` (None: nothing ran, forget the id)."""
        key = (realm, rid)
        with self._lock:
            self._held.discard(key)
            if answer is None:
                return
            self._answers[key] = answer
            while len(self._answers) > self._limit:
                self._answers.popitem(last=False)

    def seen(self, realm: str, rid: str) -> bool:
        """Whether an answer is stored for this id."""
        with self._lock:
            return (realm, rid) in self._answers

    def reset(self) -> None:
        """Forget every stored answer (held ids stay with their requests)."""
        with self._lock:
            self._answers.clear()
