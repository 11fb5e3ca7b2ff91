"""Ledger connections: one row per accounting company, its tokens as ciphertext, and its state.

Every function takes the caller's transaction (`storage.db.Tx`) and never commits. `lock` holds
the company's row until that transaction ends, so that one refresh at a time runs per company
across processes and replicas: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite a write
transaction already holds the database's one write lock from its first statement (BEGIN
IMMEDIATE, `storage/db.py`), so a plain read inside it is already serialised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, insert, literal, select, update

from storage.db import Tx
from storage.models import LedgerConnection, UTCDateTime
from storage.vocabulary import ConnectionState


@dataclass(frozen=True)
class StoredConnection:
    """A connection's row as read; the token columns are ciphertext and kept out of its repr."""

    ledger: str
    company_id: str
    company_name: str | None
    ledger_ref: str | None
    refresh_token_encrypted: str = field(repr=False)
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None
    access_token_encrypted: str = field(repr=False)
    access_expires_at: datetime
    generation: int
    refreshed_at: datetime
    state: str
    state_reason: str | None
    state_changed_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SealedTokens:
    """A new token set, already encrypted, with the times it stops working."""

    refresh_token_encrypted: str = field(repr=False)
    access_token_encrypted: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    refresh_hard_expires_at: datetime | None = None


def _stored(row: LedgerConnection) -> StoredConnection:
    return StoredConnection(
        ledger=row.ledger,
        company_id=row.company_id,
        company_name=row.company_name,
        ledger_ref=row.ledger_ref,
        refresh_token_encrypted=row.refresh_token_encrypted,
        refresh_expires_at=row.refresh_expires_at,
        refresh_hard_expires_at=row.refresh_hard_expires_at,
        access_token_encrypted=row.access_token_encrypted,
        access_expires_at=row.access_expires_at,
        generation=row.generation,
        refreshed_at=row.refreshed_at,
        state=row.state,
        state_reason=row.state_reason,
        state_changed_at=row.state_changed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _one(tx: Tx, ledger: str, company_id: str, *, for_update: bool) -> StoredConnection | None:
    query = select(LedgerConnection).where(
        LedgerConnection.ledger == ledger, LedgerConnection.company_id == company_id
    )
    if for_update and tx.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    # populate_existing: a row read earlier in this session must not hide a newer commit.
    query = query.execution_options(populate_existing=True)
    row = tx.execute(query).scalar_one_or_none()
    return None if row is None else _stored(row)


def find(tx: Tx, ledger: str, company_id: str) -> StoredConnection | None:
    """The company's connection as committed, without locking it."""
    return _one(tx, ledger, company_id, for_update=False)


def lock(tx: Tx, ledger: str, company_id: str) -> StoredConnection | None:
    """The company's connection, locked until `tx` ends (the row lock, or SQLite's write lock)."""
    return _one(tx, ledger, company_id, for_update=True)


def all_connections(tx: Tx) -> list[StoredConnection]:
    """Every connection, by ledger and company."""
    query = select(LedgerConnection).order_by(LedgerConnection.ledger, LedgerConnection.company_id)
    return [_stored(row) for row in tx.execute(query).scalars()]


def save_tokens(
    tx: Tx, ledger: str, company_id: str, tokens: SealedTokens, *, generation: int, now: datetime
) -> bool:
    """Store a refreshed token set (connected) if the row is still at `generation`; False if it
    moved on."""
    done = tx.execute(
        update(LedgerConnection)
        .where(*_at_generation(ledger, company_id, generation))
        .values(
            **_token_values(tokens, now),
            generation=generation + 1,
            updated_at=now,
            # A token set just issued works, whatever a refusal of an older one marked.
            state=ConnectionState.CONNECTED,
            state_reason=None,
            state_changed_at=case(
                (
                    LedgerConnection.state == ConnectionState.CONNECTED,
                    LedgerConnection.state_changed_at,
                ),
                else_=literal(now, UTCDateTime()),
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def _token_values(tokens: SealedTokens, now: datetime) -> dict[str, object]:
    return {
        "refresh_token_encrypted": tokens.refresh_token_encrypted,
        "access_token_encrypted": tokens.access_token_encrypted,
        "access_expires_at": tokens.access_expires_at,
        "refresh_expires_at": tokens.refresh_expires_at,
        "refresh_hard_expires_at": tokens.refresh_hard_expires_at,
        "refreshed_at": now,
    }


def store_connection(
    tx: Tx,
    ledger: str,
    company_id: str,
    tokens: SealedTokens,
    *,
    company_name: str | None,
    ledger_ref: str | None,
    now: datetime,
) -> int:
    """Insert or replace a company's connection as `connected`; returns its new generation."""
    current = lock(tx, ledger, company_id)
    values = {
        **_token_values(tokens, now),
        "company_name": company_name,
        "ledger_ref": ledger_ref,
        "state": ConnectionState.CONNECTED,
        "state_reason": None,
        "state_changed_at": now,
        "updated_at": now,
    }
    if current is None:
        tx.execute(
            insert(LedgerConnection).values(
                ledger=ledger, company_id=company_id, generation=1, created_at=now, **values
            )
        )
        return 1
    tx.execute(
        update(LedgerConnection)
        .where(LedgerConnection.ledger == ledger, LedgerConnection.company_id == company_id)
        .values(generation=current.generation + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return current.generation + 1


def mark_reconnect_required(
    tx: Tx, ledger: str, company_id: str, reason: str, *, generation: int, now: datetime
) -> bool:
    """Mark the connection `reconnect_required` if still at `generation`; False if it moved on."""
    done = tx.execute(
        update(LedgerConnection)
        .where(*_at_generation(ledger, company_id, generation))
        .values(
            state=ConnectionState.RECONNECT_REQUIRED,
            state_reason=reason[:512],
            state_changed_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


def name_company(tx: Tx, ledger: str, company_id: str, name: str | None, *, now: datetime) -> None:
    """Record the company's name as the ledger reported it."""
    tx.execute(
        update(LedgerConnection)
        .where(LedgerConnection.ledger == ledger, LedgerConnection.company_id == company_id)
        .values(company_name=name, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def undo_store(
    tx: Tx, ledger: str, company_id: str, previous: StoredConnection | None, *, generation: int
) -> bool:
    """Put back the row `store_connection` replaced (or delete the one it inserted), if it is
    still at the `generation` that call wrote; False if another writer moved it on."""
    where = (
        LedgerConnection.ledger == ledger,
        LedgerConnection.company_id == company_id,
        LedgerConnection.generation == generation,
    )
    if previous is None:
        done = tx.execute(
            delete(LedgerConnection).where(*where).execution_options(synchronize_session=False)
        )
        return done.rowcount == 1  # type: ignore[attr-defined]
    kept = {name for name in vars(previous) if name not in ("ledger", "company_id")}
    done = tx.execute(
        update(LedgerConnection)
        .where(*where)
        .values({name: getattr(previous, name) for name in kept})
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1  # type: ignore[attr-defined]


# The ledgers that keep a connection here (OAuth); any other (the gateway) needs none.
CONNECTED_LEDGERS = ("quickbooks", "xero")


@dataclass(frozen=True)
class CompanyState:
    """What a status view may read of a connection: no token column is even selected."""

    company_id: str
    company_name: str | None
    state: str
    state_reason: str | None


def company_states(tx: Tx, ledger: str) -> list[CompanyState]:
    """The companies connected for `ledger` and their states, by company id (no tokens read)."""
    query = (
        select(
            LedgerConnection.company_id,
            LedgerConnection.company_name,
            LedgerConnection.state,
            LedgerConnection.state_reason,
        )
        .where(LedgerConnection.ledger == ledger)
        .order_by(LedgerConnection.company_id)
    )
    return [CompanyState(*row) for row in tx.execute(query)]


def _at_generation(
    ledger: str, company_id: str, generation: int
) -> tuple[ColumnElement[bool], ...]:
    # A write conditional on the generation read: of two writers, the second finds none.
    return (
        LedgerConnection.ledger == ledger,
        LedgerConnection.company_id == company_id,
        LedgerConnection.generation == generation,
    )
