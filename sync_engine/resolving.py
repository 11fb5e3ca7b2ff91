"""What every ledger's resolver starts from: its API, the kinds' default account codes, a clock.

`Resolver` in `sync_engine.quickbooks.resolve` (vendors, accounts, preferences) and in
`sync_engine.xero.resolve` (contacts, accounts, invoices) build on `CachedResolver`: the API
they ask, the account code each record kind falls back on, the clock their caches age by, the
lock that guards the caches, and `resolved`: an id from the cache, else asked once for all the
threads that want it at once (`SingleFlight`), else `Unresolved`. A subclass starts its own
caches in `_new_caches`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from sync_engine.contract import Posting
from sync_engine.single_flight import SingleFlight

Api = TypeVar("Api")


class Unresolved(Exception):
    """No payee or account fits: nothing is sent; the message says what to set up and where."""


class CachedResolver(Generic[Api]):
    """One company's lookups through `api`, with caches guarded by one lock."""

    def __init__(
        self,
        api: Api,
        defaults: Mapping[str, str | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api, self._defaults, self._clock = api, defaults, clock
        self._lock = threading.Lock()
        self._flight: SingleFlight[str | None] = SingleFlight()
        self._new_caches()

    def _new_caches(self) -> None:
        """Start the subclass's caches empty."""

    def account_code(self, posting: Posting) -> str | None:
        """The record's account code, or its kind's default."""
        return posting.account_code or self._defaults.get(posting.kind)

    def resolved(
        self,
        key: tuple[str, str],
        cached: Callable[[], str | None],
        find: Callable[[], str | None],
        missing: str,
    ) -> str:
        """The id cached (`cached`), else found by `find`: one call per `key` at a time, shared
        with the threads asking at once; the cache is read again first (the call just before
        may have filled it). A failed call is shared with them but never cached. None found:
        Unresolved with the message `missing`."""
        found = cached()
        if found is None:

            def ask() -> str | None:
                again = cached()
                return again if again is not None else find()

            found = self._flight.run(key, ask)
        if found is None:
            raise Unresolved(missing)
        return found
