"""One look-up per key at a time: threads asking for a key already in flight wait for its answer.

The sending threads of a ledger adapter (QuickBooks, Xero) resolve the same payees and accounts
at once when the caches are cold; without this each would send its own query out of the same
request budget.
The lock guards only the table of calls in flight: nobody holds it while a query is on the
network, so look-ups of different keys run in parallel.

A failure is shared, not remembered: the threads waiting on a call that raised get the same
exception (the same answer the ledger gave, or the same lost connection), and the key is free
again at once, so the next look-up asks the ledger anew.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    """One look-up in flight: its answer or its exception, once `done` is set."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Runs `ask` once per key at a time; concurrent callers of the same key share its result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}

    def run(self, key: Hashable, ask: Callable[[], T]) -> T:
        """`ask()`'s result, or that of the call for `key` already in flight."""
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value  # type: ignore[return-value]
        try:
            call.value = ask()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]  # a failure is not remembered: the next caller asks again
            call.done.set()
        return call.value
