"""The Idempotency-Key store: the first answer per (tenant, key), kept for a window of time."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from sync_engine.gateway_sim.messages import Answer, Request

MAX_KEYS = 100_000
CONFLICT = "conflict"  # the key came with another request
BUSY = "busy"  # the first request holding the key did not finish in time


def fingerprint(request: Request) -> str:
    """What makes two requests "the same": method, path, query and body."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.query.items()))
    digest = hashlib.sha256(f"{request.method} {request.path}?{query}\n".encode())
    digest.update(request.body)
    return digest.hexdigest()


@dataclass
class _Entry:
    fingerprint: str
    first_at: float
    answer: Answer | None = None
    done: threading.Event = field(default_factory=threading.Event)


class KeyStore:
    """Answers by key; a key lives `window()` seconds from its first call, then counts as new."""

    def __init__(self, clock: Callable[[], float], window: Callable[[], float]) -> None:
        self._clock = clock
        self._window = window
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def begin(self, tenant: str, key: str, print_: str, wait: float) -> Answer | str | None:
        """The stored answer, CONFLICT, BUSY, or None: the caller now holds the key (`finish`)."""
        with self._lock:
            entry = self._live(tenant, key)
            if entry is None:
                self._entries[(tenant, key)] = _Entry(print_, self._clock())
                while len(self._entries) > MAX_KEYS:
                    self._entries.popitem(last=False)
                return None
        if entry.fingerprint != print_:
            return CONFLICT
        # A repeat arriving while the first runs waits for its answer.
        if not entry.done.wait(wait) or entry.answer is None:
            return BUSY
        return entry.answer

    def finish(self, tenant: str, key: str, answer: Answer | None) -> None:
        """Store the answer for a held key (None: nothing ran, the key is forgotten)."""
        with self._lock:
            entry = self._entries.get((tenant, key))
            if entry is None:
                return
            if answer is None:
                del self._entries[(tenant, key)]
            entry.answer = answer
        entry.done.set()

    def _live(self, tenant: str, key: str) -> _Entry | None:
        entry = self._entries.get((tenant, key))
        if entry is not None and self._clock() - entry.first_at >= self._window():
            del self._entries[(tenant, key)]
            return None
        return entry

    def reset(self) -> None:
        """Forget every key (held ones still end with their requests)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
