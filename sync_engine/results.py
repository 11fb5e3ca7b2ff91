"""Plain frozen results the engine returns; the bot and the CLI render the same ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from storage.vocabulary import LedgerLink

if TYPE_CHECKING:
    from sync_engine.ledger import LedgerPause


@dataclass(frozen=True)
class Outage:
    """The gateway is held to be down: since when, why, and when it is next probed."""

    since: datetime
    reason: str
    next_probe_at: datetime | None
    probes: int


@dataclass(frozen=True)
class Succeeded:
    """A record the retry booked (or found booked)."""

    source_id: str
    accounting_ref: str


@dataclass(frozen=True)
class Failed:
    """A record whose attempt failed again."""

    source_id: str
    error: str
    error_class: str
    retry_count: int
    next_attempt_at: datetime | None = None
    parked: bool = False


@dataclass(frozen=True)
class Skipped:
    """A record the retry did not send, and why."""

    source_id: str
    reason: str


@dataclass(frozen=True)
class RetryResult:
    """How one retry event (or one sync run) ended, record by record."""

    retry_event_id: int | None
    succeeded: tuple[Succeeded, ...] = ()
    failed: tuple[Failed, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    @property
    def attempted(self) -> int:
        """Records sent in this retry."""
        return len(self.succeeded) + len(self.failed)


@dataclass(frozen=True)
class SyncResult:
    """One sync run: first postings of pending records, and due automatic retries."""

    initial: RetryResult
    retries: RetryResult
    recovered_leases: int
    outage: Outage | None = None  # the gateway held to be down: automatic attempts paused
    held_back: int = 0  # during an outage or a pause: records not sent (pending, failed due)
    paused: LedgerPause | None = None  # a pause the ledger imposed: nothing sent until it ends


@dataclass(frozen=True)
class FailedRecord:
    """One row of the failed queue."""

    source_id: str
    kind: str
    payee_id: str
    payee_name: str
    amount: Decimal
    currency: str
    error_class: str | None
    last_error: str | None
    errors: tuple[str, ...]
    retry_count: int
    next_attempt_at: datetime | None
    parked: bool
    state: str


@dataclass(frozen=True)
class FailedPage:
    """One page of the failed queue; `next_cursor` continues it (None on the last page)."""

    items: tuple[FailedRecord, ...]
    total: int
    next_cursor: int | None


@dataclass(frozen=True)
class AttemptView:
    """One attempt in a record's history."""

    at: datetime
    trigger: str
    outcome: str
    http_status: int | None
    error: str | None
    error_class: str | None
    retry_event_id: int | None
    accounting_ref: str | None


@dataclass(frozen=True)
class RetryEventView:
    """One retry event that touched a record."""

    id: int
    kind: str
    requested_by: str
    via: str
    at: datetime
    result: str | None


@dataclass(frozen=True)
class ChangeView:
    """A person's change to a record: a correction or a resolve."""

    at: datetime
    action: str
    by: str
    reason: str | None


@dataclass(frozen=True)
class History:
    """Everything that happened to one record."""

    source_id: str
    kind: str
    payee_id: str
    payee_name: str
    amount: Decimal
    currency: str
    state: str
    accounting_ref: str | None
    retry_count: int
    error_class: str | None
    next_attempt_at: datetime | None
    parked: bool
    sync_log_state: str
    sync_log_retry_event_id: int | None
    sync_log_updated_at: datetime
    attempts: tuple[AttemptView, ...]
    retry_events: tuple[RetryEventView, ...]
    changes: tuple[ChangeView, ...]


@dataclass(frozen=True)
class LedgerView:
    """The ledger syncbot posts to, its company and whether it must be reconnected (no token).

    `connection` is a `LedgerLink`: not needed (the gateway), connected, reconnect required
    or not connected; `company_id` is the company the settings name (or the one connected).
    """

    name: str
    company_id: str | None
    company_name: str | None
    connection: LedgerLink
    reconnect_required: bool

    @property
    def connect_command(self) -> str:
        """The command that connects (or reconnects) this ledger."""
        return f"syncbot connect {self.name}"


@dataclass(frozen=True)
class Status:
    """Counts by state and error class, the gateway's last answer, and a pause in force."""

    by_state: dict[str, int]
    by_error_class: dict[str, int]
    parked: int
    last_success_at: datetime | None
    last_gateway_answer: str | None
    last_gateway_answer_at: datetime | None
    outage: Outage | None = None
    ledger: LedgerView | None = None
    paused: LedgerPause | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rows imported, duplicates skipped, corrections applied."""

    imported: int
    duplicates: tuple[str, ...] = ()
    corrected: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class ResolveResult:
    """How a resolve ended: `resolved` by hand, or `succeeded` because the gateway had booked it."""

    source_id: str
    state: str
    accounting_ref: str | None


def retry_count(attempt_count: int) -> int:
    """The retry count: attempts after the first, automatic and manual alike."""
    return max(0, attempt_count - 1)
