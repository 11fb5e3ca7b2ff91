"""SQLAlchemy 2 typed models: records, sync log entries, attempts, retry events, the alert outbox.

Money is stored as integer minor units beside its currency (never a floating-point column).
Times are stored as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.vocabulary import MessageKind


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


# The failed queue's condition, as `storage.queue.in_failed_queue` writes it: SQLite uses a
# partial index only for a query that repeats its condition term for term, with literals.
IN_FAILED_QUEUE_SQL = "state IN ('failed', 'syncing') AND last_error IS NOT NULL"
_IN_QUEUE: dict[str, Any] = {
    "sqlite_where": text(IN_FAILED_QUEUE_SQL),
    "postgresql_where": text(IN_FAILED_QUEUE_SQL),
}


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Record(Base):
    """One approved reimbursement or honorarium, as approved (corrections replace its data)."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    payee_id: Mapped[str] = mapped_column(String(128))
    payee_name: Mapped[str] = mapped_column(String(256))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(256))
    account_code: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncLogEntry(Base):
    """Where one record's sync stands, and which retry event last changed it."""

    __tablename__ = "sync_log"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    # A copy of the record's kind: the failed queue is listed by kind, and only an index that
    # holds both the kind and the queue's condition keeps a page fast when the queue holds few
    # (or none) of a kind. Written with the record and by every correction that changes it.
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # pending syncing succeeded failed resolved
    retry_event_id: Mapped[int | None] = mapped_column(ForeignKey("retry_events.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accounting_ref: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # automatic attempts in the current failure streak; a manual attempt sets it back to 0
    auto_streak: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parked: Mapped[bool] = mapped_column(default=False)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_sync_log_state_next", "state", "next_attempt_at"),
        Index("ix_sync_log_state_record", "state", "record_id"),
        # The failed queue's pages and counts (migration 0002): partial, so they hold only the
        # queue; one per filter, each leading with what it filters on and ending with the
        # keyset's id, so a page reads its rows in order and a count reads only the index.
        Index("ix_sync_log_queue", "record_id", **_IN_QUEUE),
        Index("ix_sync_log_queue_kind", "kind", "record_id", **_IN_QUEUE),
        Index("ix_sync_log_queue_class", "error_class", "record_id", **_IN_QUEUE),
        Index("ix_sync_log_queue_kind_class", "kind", "error_class", "record_id", **_IN_QUEUE),
    )


class RetryEvent(Base):
    """One act of retrying: a click, a command, a CLI call or one scheduler tick."""

    __tablename__ = "retry_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # selected all auto
    via: Mapped[str] = mapped_column(String(16))  # slack cli scheduler
    requested_by: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)


class RetryEventItem(Base):
    """Which records a retry event took and how each ended."""

    __tablename__ = "retry_event_items"

    retry_event_id: Mapped[int] = mapped_column(ForeignKey("retry_events.id"), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))  # succeeded failed skipped
    detail: Mapped[str | None] = mapped_column(Text)


class Attempt(Base):
    """One try to post one record."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    retry_event_id: Mapped[int | None] = mapped_column(ForeignKey("retry_events.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[str] = mapped_column(String(16))  # initial manual auto
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded failed uncertain
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    error_class: Mapped[str | None] = mapped_column(String(32))
    accounting_ref: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(128))


class RecordChange(Base):
    """A person's change to a record outside a posting: a correction or a resolve."""

    __tablename__ = "record_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(32))  # corrected resolved found_booked
    by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: what changed


class AlertOutbox(Base):
    """Something the running bot must announce; written by the engine, posted by the bot."""

    __tablename__ = "alert_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # first_failure parked outage recovered
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert_messages.id"))

    __table_args__ = (Index("ix_alert_outbox_unposted", "posted_at", "id"),)


class AlertMessage(Base):
    """One alert in Slack: a burst of failures shown as one message and updated in place.

    Its `ts` is kept here so that whichever process flushes the outbox next can update it.
    """

    __tablename__ = "alert_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default=MessageKind.FAILURES)
    channel: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))  # None: Slack refused it, dropped
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the burst's first failure
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed: Mapped[int] = mapped_column(Integer)
    parked: Mapped[int] = mapped_column(Integer)
    shown: Mapped[str] = mapped_column(Text)  # JSON: the first few records' payloads

    __table_args__ = (Index("ix_alert_messages_channel_opened", "channel", "opened_at"),)


class Lease(Base):
    """A job that one process at a time may run (flushing the alert outbox), until it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GatewayStatus(Base):
    """The gateway's last answer as the engine saw it (one row, id 1)."""

    __tablename__ = "gateway_status"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_answer: Mapped[str | None] = mapped_column(String(256))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The outage pause (circuit breaker), shared by every process on this database.
    transient_streak: Mapped[int] = mapped_column(Integer, default=0)
    outage_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outage_reason: Mapped[str | None] = mapped_column(String(256))
    next_probe_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    probes: Mapped[int] = mapped_column(Integer, default=0)


class SeenRequest(Base):
    """A signed Slack request already served, kept while Slack's window could accept it again.

    Keyed by a hash of its signature, so that every replica on the database refuses a replay.
    """

    __tablename__ = "seen_requests"

    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LedgerConnection(Base):
    """One accounting company syncbot posts to: its OAuth tokens (encrypted) and whether they work.

    The tokens are Fernet ciphertext (`sync_engine/secret_box.py`), never clear text; storage
    neither encrypts nor decrypts. `generation` counts every new token set, so a writer can tell
    whether the row changed since it read it.
    """

    __tablename__ = "ledger_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ledger: Mapped[str] = mapped_column(String(16))  # quickbooks, xero
    company_id: Mapped[str] = mapped_column(String(64))  # QBO realm id, Xero tenant id
    company_name: Mapped[str | None] = mapped_column(String(256))
    ledger_ref: Mapped[str | None] = mapped_column(String(64))  # Xero's connection id
    refresh_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refresh_hard_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the token set was received
    state: Mapped[str] = mapped_column(String(24))  # connected, reconnect_required
    state_reason: Mapped[str | None] = mapped_column(String(512))
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("ledger", "company_id", name="uq_ledger_connections_company"),
    )


class LedgerSend(Base):
    """What an adapter sent under one idempotency key: its generation and when (the send log).

    For ledgers whose request ids must change after a definite refusal, or that may have booked
    an unanswered write (`answered` false): the adapter looks up before it sends again.
    """

    __tablename__ = "ledger_sends"

    scope: Mapped[str] = mapped_column(String(96), primary_key=True)  # ledger and company
    idempotency_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(128))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    first_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerBudget(Base):
    """A ledger company's calls on one UTC day, and a pause it imposed (Xero's daily limit).

    Every process spends from the same row, so the day's budget holds across processes.
    """

    __tablename__ = "ledger_budget"

    scope: Mapped[str] = mapped_column(String(96), primary_key=True)  # ledger and company
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    calls: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
