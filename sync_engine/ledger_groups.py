"""The skeleton every send-logged ledger adapter shares (QuickBooks Online, Xero).

`SendLogLedger` posts records in groups of the configured batch size. For each group the send
log tells each record's generation and whether its last send was answered. An unanswered send
is sent again as it was (`may_resend`: Xero, within its key's window) or settled by lookup
(`settle_entry`): a result, or nothing of ours booked and the next send is a new request (the
next generation), never before the settle time after the last send. The rest are prepared
(`prepare`: a failure result, or a write ready to send) and sent together (`send`); the results
come back in the order given. A subclass sets `title` and `noun` (for messages), `api`, the
OAuth client it owns (`oauth`) and the hooks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.contract import Posting
from sync_engine.credentials import CredentialsError, ReconnectRequired, connection_statuses
from sync_engine.errors import GatewayUnreachable
from sync_engine.ledger import LedgerLimits
from sync_engine.post_result import PostResult
from sync_engine.ratelimit import Pacer
from sync_engine.send_log import SendEntry, SendLog
from sync_engine.settings import Settings


class Write(Protocol):
    """A prepared write: the record's key, the record and the generation it is sent under."""

    @property
    def key(self) -> str: ...

    @property
    def posting(self) -> Posting: ...

    @property
    def generation(self) -> int: ...


class _Api(Protocol):
    @property
    def limiter(self) -> Pacer: ...

    def close(self) -> None: ...


class _Closing(Protocol):
    def close(self) -> None: ...


W = TypeVar("W", bound=Write)


def connected_company(
    configured: str, ledger: str, send_log: SendLog, setting: str
) -> tuple[str, str | None]:
    """The company the adapter posts to: the one its setting names (`configured`), else the one
    connection stored for `ledger`; ("", why) when several are stored and none is named (no
    company at all: ("", None), and the token keeper says it is not connected)."""
    if configured:
        return configured, None
    stored = [s.company_id for s in connection_statuses(send_log.database) if s.ledger == ledger]
    if len(stored) > 1:
        return "", (
            f"several {ledger} companies are connected to syncbot and {setting} names none:"
            f" set {setting} to the one syncbot posts to"
        )
    return (stored[0], None) if stored else ("", None)


class SendLogLedger(ABC, Generic[W]):
    """The shared half of a `Ledger` whose writes are noted in a `SendLog` under `scope`."""

    title = "the ledger"  # "QuickBooks", "Xero"
    noun = "bill"  # what one record becomes: "Bill", "bill"
    api: _Api
    oauth: _Closing | None = None  # closed with the adapter when it made its own

    def __init__(
        self,
        settings: Settings,
        send_log: SendLog,
        scope: str,
        limits: LedgerLimits,
        company_problem: str | None = None,
    ) -> None:
        self._settings, self._log = settings, send_log
        self.scope = scope
        self._limits = limits
        self.company_problem = company_problem  # why no one company is chosen, if so

    def check_company(self) -> None:
        """CredentialsError when no one company is chosen (several stored, none named)."""
        if self.company_problem is not None:
            raise CredentialsError(self.company_problem)

    @property
    def settings(self) -> Settings:
        """The adapter's settings."""
        return self._settings

    @property
    def log(self) -> SendLog:
        """The send log the adapter notes its writes in."""
        return self._log

    @property
    def limits(self) -> LedgerLimits:
        """Items per batch, requests at once and the request timeout, as configured."""
        return self._limits

    def reserve(self) -> None:
        """Take this thread's next slot under the rate limit now."""
        self.api.limiter.reserve()

    def close(self) -> None:
        """Close the connection pools."""
        self.api.close()
        if self.oauth is not None:
            self.oauth.close()

    # -- hooks --------------------------------------------------------------------------------

    @property
    @abstractmethod
    def settle_seconds(self) -> float:
        """Seconds after the last send before an unanswered one may be looked up."""

    @abstractmethod
    def settle_entry(self, key: str, posting: Posting, entry: SendEntry) -> PostResult | None:
        """Settle an unanswered send by lookup: its result, or None if nothing was booked."""

    @abstractmethod
    def prepare(self, key: str, posting: Posting, generation: int, resend: bool) -> W | PostResult:
        """The write to send for a record, or a failure result (nothing sent)."""

    @abstractmethod
    def send(self, prepared: list[W]) -> list[PostResult]:
        """Send prepared writes; one result per write, in order."""

    def may_resend(self, key: str, entry: SendEntry) -> bool:
        """Whether an unanswered send may go again as it was (not looked up first): never."""
        return False

    # -- the send log -------------------------------------------------------------------------

    def wait(self, entry: SendEntry) -> float:
        """Seconds until an unanswered send may be looked up (settle time after the last)."""
        settle = timedelta(seconds=self.settle_seconds)
        return (entry.last_sent_at + settle - self._log.clock()).total_seconds()

    def note_sending(self, prepared: Sequence[Write]) -> None:
        """Persist each write's generation and time before it leaves."""
        self._log.sending(
            self.scope, [(p.key, p.posting.source_id, p.generation) for p in prepared]
        )

    def note_answered(self, keys: list[str], *, next_generation: bool = False) -> None:
        """Writes answered (booked, or refused: `next_generation`, the next send is new)."""
        self._log.answered(self.scope, keys, next_generation=next_generation)

    def entry_to_look_up(self, key: str) -> SendEntry | None:
        """The send log's entry of `key` (None: never sent); GatewayUnreachable while its last
        send is unanswered and may still be booking."""
        entry = self._log.entry(self.scope, key)
        if entry is None:
            return None
        wait = self.wait(entry)
        if wait > 0 and not entry.answered:
            raise GatewayUnreachable(
                f"{self.title} cannot tell yet: the last send may still be booking (ask again"
                f" in {wait:.0f} s)"
            )
        return entry

    # -- posting ------------------------------------------------------------------------------

    def post(self, key: str, posting: Posting) -> PostResult:
        """Post one record (looking up first if an earlier send is unanswered)."""
        return self.post_batch([(key, posting)])[0]

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        """Post records (groups of the batch size); one result per item, in the order given."""
        results: list[PostResult] = []
        size = self._limits.max_batch
        for start in range(0, len(items), size):
            results.extend(self._post_group(items[start : start + size]))
        return results

    def _post_group(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        entries = self._log.entries(self.scope, [key for key, _ in items])
        done: dict[int, PostResult] = {}
        ready: list[tuple[int, W]] = []
        for index, (key, posting) in enumerate(items):
            prepared = self._next_write(key, posting, entries.get(key))
            if isinstance(prepared, PostResult):
                done[index] = prepared
            else:
                ready.append((index, prepared))
        sent = self.send([p for _, p in ready]) if ready else []
        for (index, _), result in zip(ready, sent, strict=True):
            done[index] = result
        return [done[i] for i in range(len(items))]

    def _next_write(self, key: str, posting: Posting, entry: SendEntry | None) -> W | PostResult:
        """A record's write: the unanswered one again, or settled first (a result if booked or
        not yet settled), then prepared under the generation it goes under."""
        generation = entry.generation if entry is not None else 0
        resend = False
        if entry is not None and not entry.answered:
            if self.may_resend(key, entry):
                resend = True
            else:
                settled = self.settle_entry(key, posting, entry)
                if settled is not None:
                    return settled
                generation += 1  # none of ours: the next send is a new request
        return self.prepare(key, posting, generation, resend)

    # -- settling -----------------------------------------------------------------------------

    def not_settled(self, key: str, entry: SendEntry) -> PostResult | None:
        """Uncertain while the settle time after the last send runs (None once it has run)."""
        wait = self.wait(entry)
        if wait <= 0:
            return None
        text = (
            f"an earlier send is unanswered: {self.title} is asked for the {self.noun} in"
            f" {wait:.0f} s before any resend"
        )
        return PostResult(key, Outcome.UNCERTAIN, None, None, text, ErrorClass.TRANSIENT, wait)

    def uncertain(self, key: str, posting: Posting, text: str, status: int | None) -> PostResult:
        """A write that may have been booked: looked up now if the settle time is 0, else later."""
        return self.settle_later(key, posting, text, status, self._log.entry(self.scope, key))

    def settle_later(
        self, key: str, posting: Posting, text: str, status: int | None, entry: SendEntry | None
    ) -> PostResult:
        """`uncertain` with the key's entry already read."""
        if entry is not None and self.wait(entry) <= 0:
            settled = self.settle_entry(key, posting, entry)
            if settled is not None:
                return settled
            note = f"{text}; the lookup found nothing booked (sent again on the next attempt)"
            return PostResult(key, Outcome.FAILED, status, None, note, ErrorClass.TRANSIENT)
        wait = max(self.wait(entry) if entry is not None else self.settle_seconds, 0.0)
        note = (
            f"{text}; {self.title} is asked for the {self.noun} in {wait:.0f} s before any resend"
        )
        return PostResult(key, Outcome.UNCERTAIN, status, None, note, ErrorClass.TRANSIENT, wait)


def auth_failure(expired: str, exc: Exception) -> str:
    """The ledger's auth message (`expired`, which names the reconnect command), then the
    error's own words; a `ReconnectRequired`'s own copy of the command is left out."""
    said = str(exc)
    if isinstance(exc, ReconnectRequired) and said.startswith("run `"):
        said = said.split("`: ", 1)[-1]
    return f"{expired} ({said})"
