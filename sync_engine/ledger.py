"""The port to an accounting system: what the engine needs from a ledger, and the factory.

The engine speaks to a ledger only through `Ledger`; an adapter translates it to one system's
API (today the HTTP gateway contract of `sync_engine.contract`, spoken by `sync_engine.gateway`)
and keeps that system's details to itself: its wire format, its error codes, its retry keys.
What every adapter promises, and the engine relies on:

- The engine gives each record one idempotency key for its whole life and passes the same key on
  every attempt. An adapter whose ledger needs a fresh request id after a definite refusal, or
  forgets ids after a while (QuickBooks' `requestid`, Xero's `Idempotency-Key`), derives its id
  from the key and a generation it keeps itself, per key; the engine never sees it.
- `post` and `post_batch` answer one `PostResult` per posting, in the order given: `succeeded`
  with the ledger's reference; `failed` with an error class (`transient`, `needs_attention` or
  `auth`, see `sync_engine.policy`) that the adapter decides from its own errors; or
  `uncertain` when the ledger may have booked it and no lookup could tell yet. `http_status`
  is the ledger's answer, if any (429 means "slow down, nothing booked").
- An uncertain posting is never sent again before a lookup. An adapter that may not look up
  at once (QuickBooks: not before 180 s after sending) answers `uncertain` with `retry_after`
  set to the seconds until it may; the engine's next automatic attempt waits at least that
  long (`policy.next_retry`), and on that attempt the adapter looks up before it sends.
- `lookup` answers the ledger's reference for a key, or None if nothing is booked under it;
  `probe` returns once the ledger answered with our credentials (with the company's name, if
  the ledger has one). Both raise `GatewayUnreachable` when the ledger cannot tell.
- An adapter that must remember what it sent under a key (its generation, when, whether the
  write was answered) keeps it in the `SendLog` that `make_ledger` is given (`build_engine`
  passes one on the engine's database and clock); adapters that need none ignore it.
- `paused` tells of a pause the ledger imposes on us (Xero's daily call budget spent): until
  it ends, the engine sends nothing automatically and refuses manual retries with its reason.
  Ledgers without one always answer None.
- `limits` and `reserve` keep the engine under the ledger's limits: it claims at most
  `max_batch` records per request, runs at most `concurrency` requests at once, and each
  sending thread calls `reserve` before it claims the records its next request carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, assert_never

from sync_engine.contract import Posting
from sync_engine.post_result import PostResult
from sync_engine.send_log import SendLog
from sync_engine.settings import Settings

# Told each request's route ("posting", "batch", "lookup") and its round trip, in seconds.
Observe = Callable[[str, float], None]


@dataclass(frozen=True)
class LedgerLimits:
    """What the engine must stay under: records per request, requests at once, and the
    timeout of one request (a lease must outlast the requests its records wait for)."""

    max_batch: int
    concurrency: int
    timeout_seconds: float


@dataclass(frozen=True)
class LedgerPause:
    """A pause the ledger imposes: nothing may be sent before `until` (UTC); `reason` says
    why in an admin's words (it names the ledger and when sending resumes)."""

    until: datetime
    reason: str


class Ledger(Protocol):
    """An accounting system, as the engine needs it (see the module's docstring)."""

    @property
    def limits(self) -> LedgerLimits:
        """The ledger's limits, as configured."""
        ...

    def reserve(self) -> None:
        """Wait for this thread's turn under the rate limit, before claiming what it sends."""
        ...

    def post(self, key: str, posting: Posting) -> PostResult:
        """Post one record under its idempotency key."""
        ...

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        """Post many records; one result per item, in the order given."""
        ...

    def lookup(self, key: str) -> str | None:
        """The ledger's reference for `key`, or None if nothing is booked under it."""
        ...

    def probe(self) -> str | None:
        """The company's name (None if the ledger has none) once the ledger answers with our
        credentials; raise `GatewayUnreachable` if not."""
        ...

    def paused(self) -> LedgerPause | None:
        """The pause in force (see `LedgerPause`), or None when sends may go."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def make_ledger(
    settings: Settings,
    *,
    observe: Observe | None = None,
    send_log: SendLog | None = None,
    **options: Any,
) -> Ledger:
    """The adapter `settings.ledger` (`ACCOUNTING_LEDGER`) names, built from its settings.

    `send_log` is required by adapters that keep one (and gives them the database and clock);
    `options` go to the adapter as they are (a test's HTTP transport, for example). Each
    adapter is imported only when it is chosen, so the engine never imports a ledger's client.
    """
    if settings.ledger == "gateway":
        from sync_engine.gateway import GatewayClient

        return GatewayClient(
            settings.gateway_url,
            settings.gateway_token,
            timeout=settings.timeout_seconds,
            concurrency=settings.concurrency,
            rate_per_minute=settings.rate_per_minute,
            batch_size=settings.batch_size,
            observe=observe,
            **options,
        )
    if settings.ledger == "quickbooks":
        from sync_engine.quickbooks.adapter import QuickBooksLedger

        if send_log is None:
            raise ValueError("the quickbooks ledger needs a send log (make_ledger(send_log=...))")
        return QuickBooksLedger(settings, send_log, observe=observe, **options)
    if settings.ledger == "xero":
        from sync_engine.xero.adapter import XeroLedger

        if send_log is None:
            raise ValueError("the xero ledger needs a send log (make_ledger(send_log=...))")
        return XeroLedger(settings, send_log, observe=observe, **options)
    # Settings refuse any other name; mypy fails here while a name has no adapter yet.
    assert_never(settings.ledger)
