"""The failed queue's statements: atomic claims with leases, recovery, keyset scans.

Repositories take a session (or, on the hot path of sending, a Core connection) and never
commit; the engine owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    column,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import Base, Record, SyncLogEntry
from storage.vocabulary import State


@dataclass(frozen=True)
class Claimed:
    """A record this process now holds under its lease, with what sending it needs."""

    record_id: int
    last_error: str | None
    attempt_count: int
    auto_streak: int
    record: Any  # a row of the records table


def claim(
    conn: Connection,
    record_ids: Sequence[int],
    from_states: Sequence[str],
    *,
    token: str,
    now: datetime,
    lease_until: datetime,
    due_only: bool = False,
) -> list[Claimed]:
    """Atomically take the records among `record_ids` that are still in `from_states`.

    One conditional UPDATE ... RETURNING; on PostgreSQL the candidate rows are locked with
    SKIP LOCKED, so two claimers never wait on each other and never take the same row.
    """
    if not record_ids:
        return []
    postgres = conn.dialect.name == "postgresql"
    params = {
        "ids": list(record_ids),
        "states": list(from_states),
        "token": token,
        "now": now,
        "until": lease_until,
    }
    rows = conn.execute(_claim_statement(postgres, due_only), params).all()
    if postgres:
        # PostgreSQL returned the records' columns from the same statement (UPDATE ... FROM).
        return sorted((_claimed(row, row) for row in rows), key=lambda c: c.record_id)
    if not rows:
        return []
    # Plain rows, not ORM objects: a chunk is read, sent and forgotten.
    records = Base.metadata.tables[Record.__tablename__]
    ids = [row.record_id for row in rows]
    data = {r.id: r for r in conn.execute(select(records).where(records.c.id.in_(ids)))}
    return sorted((_claimed(row, data[row.record_id]) for row in rows), key=lambda c: c.record_id)


@cache
def _claim_statement(postgres: bool, due_only: bool) -> Any:
    # Built once per kind of claim: the same statement object every time, compiled once.
    log = Base.metadata.tables[SyncLogEntry.__tablename__]
    when = log.c.next_attempt_at.type
    wanted: list[ColumnElement[bool]] = [
        log.c.record_id.in_(bindparam("ids", expanding=True)),
        log.c.state.in_(bindparam("states", expanding=True)),
    ]
    if due_only:
        wanted += [log.c.next_attempt_at <= bindparam("now", type_=when), log.c.parked.is_(False)]
    candidates = select(log.c.record_id).where(*wanted)
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    statement = (
        update(log)
        .where(log.c.record_id.in_(candidates.scalar_subquery()), *wanted)
        .values(
            state=State.SYNCING,
            lease_token=bindparam("token"),
            lease_expires_at=bindparam("until", type_=when),
        )
        .returning(*(log.c[n] for n in CLAIM_RETURNS))
    )
    if postgres:
        records = Base.metadata.tables[Record.__tablename__]
        statement = statement.where(log.c.record_id == records.c.id).returning(*records.c)
    return statement


CLAIM_RETURNS = ("record_id", "last_error", "attempt_count", "auto_streak")


def _claimed(log: Any, record: Any) -> Claimed:
    return Claimed(log.record_id, log.last_error, log.attempt_count, log.auto_streak, record)


def release(conn: Connection, record_ids: Sequence[int], token: str) -> None:
    """Give back claimed records that were not sent after all, as they were before the claim."""
    back = case((SyncLogEntry.last_error.is_(None), State.PENDING), else_=State.FAILED)
    conn.execute(
        update(SyncLogEntry)
        .where(SyncLogEntry.record_id.in_(record_ids), SyncLogEntry.lease_token == token)
        .values(state=back, lease_token=None, lease_expires_at=None)
    )


def recover_expired(session: Session, now: datetime) -> int:
    """Return records whose lease expired to the queue: failed if they ever failed, else pending."""
    expired = and_(SyncLogEntry.state == State.SYNCING, SyncLogEntry.lease_expires_at < now)
    total = 0
    for state, condition in (
        (State.FAILED, SyncLogEntry.last_error.is_not(None)),
        (State.PENDING, SyncLogEntry.last_error.is_(None)),
    ):
        result = session.execute(
            update(SyncLogEntry)
            .where(expired, condition)
            .values(state=state, lease_token=None, lease_expires_at=None, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        total += result.rowcount  # type: ignore[attr-defined]
    return total


def scan_pending(tx: Session, after: int, limit: int) -> list[tuple[int, str]]:
    """Keyset page of (record_id, state) of pending records, after `after`."""
    return _scan(tx, SyncLogEntry.state == State.PENDING, after, limit)


def scan_due(tx: Session, now: datetime, after: int, limit: int) -> list[tuple[int, str]]:
    """Keyset page of (record_id, state) of failed records due for an automatic retry."""
    return _scan(tx, due(now), after, limit)


def scan_failed_queue(
    tx: Session, after: int, limit: int, upto: int | None = None
) -> list[tuple[int, str]]:
    """Keyset page of (record_id, state) in the failed queue, after `after`, up to `upto`."""
    return _scan(tx, in_failed_queue(), after, limit, upto)


def _scan(
    session: Session,
    condition: ColumnElement[bool],
    after: int,
    limit: int,
    upto: int | None = None,
) -> list[tuple[int, str]]:
    query = (
        select(SyncLogEntry.record_id, SyncLogEntry.state)
        .where(condition, SyncLogEntry.record_id > after)
        .order_by(SyncLogEntry.record_id)
        .limit(limit)
    )
    if upto is not None:
        query = query.where(SyncLogEntry.record_id <= upto)
    return [(rid, state) for rid, state in session.execute(query)]


def due(now: datetime) -> ColumnElement[bool]:
    """Failed records whose automatic retry has come (parked ones never come)."""
    return (
        (SyncLogEntry.state == State.FAILED)
        & (SyncLogEntry.next_attempt_at <= now)
        & SyncLogEntry.parked.is_(False)
    )


def in_failed_queue() -> ColumnElement[bool]:
    """Records in the failed queue: failed now, or being retried after failing.

    A failed entry always has its last error, so this is failed or syncing with an error. It
    is written with literal states, as the queue's partial indexes are (`IN_FAILED_QUEUE_SQL`):
    SQLite uses a partial index only for a query that repeats its condition term for term.
    """
    queue_states: list[ColumnElement[Any]] = [
        literal_column(f"'{state}'") for state in (State.FAILED, State.SYNCING)
    ]
    return and_(SyncLogEntry.state.in_(queue_states), SyncLogEntry.last_error.is_not(None))


SETTLED = (
    "state",
    "accounting_ref",
    "error_class",
    "last_error",
    "attempt_count",
    "auto_streak",
    "next_attempt_at",
    "parked",
)


def settle(
    conn: Connection,
    rows: list[dict[str, Any]],
    *,
    token: str,
    retry_event_id: int | None,
    now: datetime,
) -> None:
    """Write each claimed record's new state (`record_id` and the SETTLED columns).

    Only the holder of the lease may write: a stale worker's answer never overwrites a newer
    state. PostgreSQL takes the chunk as one statement (the rows unnested from one array per
    column); SQLite, in process, as an executemany. No rows is no write: an empty
    executemany would run the statement once with no parameters.
    """
    if not rows:
        return
    fixed = {"token": token, "retry_event_id": retry_event_id, "now": now}
    if conn.dialect.name == "postgresql":
        arrays = {f"a_{n}": [row[n] for row in rows] for n in ("record_id", *SETTLED)}
        conn.execute(_settle_statement(), arrays | fixed)
        return
    # SQLAlchemy's handling of each row's parameters cost more than SQLite's own work: the
    # chunk goes to the driver's executemany, each value converted by its column's own bind
    # processor, as SQLAlchemy would convert it.
    sql, convert = _sqlite_settle(conn.dialect)
    conn.exec_driver_sql(
        sql,
        [
            convert((*(row[n] for n in SETTLED), retry_event_id, now, row["record_id"], token))
            for row in rows
        ],
    )


@cache
def _sqlite_settle(dialect: Any) -> tuple[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]]:
    names = (*SETTLED, "retry_event_id", "updated_at", "record_id", "lease_token")
    sets = ", ".join(f"{n} = ?" for n in names[: len(SETTLED) + 2])
    sql = (
        f"UPDATE sync_log SET {sets}, lease_token = NULL, lease_expires_at = NULL "
        "WHERE record_id = ? AND lease_token = ?"
    )
    return sql, _converter(dialect, SyncLogEntry.__tablename__, names)


@cache
def _converter(
    dialect: Any, table_name: str, names: tuple[str, ...]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """Convert a tuple of values for these columns as SQLAlchemy would bind them."""
    table = Base.metadata.tables[table_name]
    processors = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]

    def convert(values: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(
            p(v) if p is not None and v is not None else v
            for p, v in zip(processors, values, strict=True)
        )

    return convert


@cache
def _settle_statement() -> Any:
    # PostgreSQL's: built once, the same statement object every time, compiled and parsed once.
    table = Base.metadata.tables[SyncLogEntry.__tablename__]
    given = _unnest(table, ("record_id", *SETTLED), alias="v")
    return (
        update(table)
        .where(table.c.record_id == given.c.record_id, table.c.lease_token == bindparam("token"))
        .values(
            {n: given.c[n] for n in SETTLED}
            | {
                "lease_token": None,
                "lease_expires_at": None,
                "retry_event_id": bindparam("retry_event_id"),
                "updated_at": bindparam("now", type_=table.c.updated_at.type),
            }
        )
    )


def add_rows(conn: Connection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert rows: on PostgreSQL one statement of fixed shape, on SQLite an executemany."""
    if not rows:
        return
    table = Base.metadata.tables[model.__tablename__]
    names = tuple(rows[0])
    if conn.dialect.name != "postgresql":
        # As for settles: the driver's executemany, values converted as SQLAlchemy would.
        convert = _converter(conn.dialect, table.name, names)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        )
        conn.exec_driver_sql(sql, [convert(tuple(row[n] for n in names)) for row in rows])
        return
    arrays = {f"a_{n}": [row[n] for row in rows] for n in names}
    conn.execute(_insert_statement(table.name, names), arrays)


@cache
def _insert_statement(table_name: str, names: tuple[str, ...]) -> Any:
    table = Base.metadata.tables[table_name]
    given = _unnest(table, names, alias=None)
    return insert(table).from_select(names, select(*(given.c[n] for n in names)))


def _unnest(table: Table, names: tuple[str, ...], alias: str | None) -> Any:
    """Rows unnested from one array parameter (`a_<name>`) per column, typed as the table's."""
    # Imported here: SQLite installations (and the query commands) never load the dialect.
    from sqlalchemy.dialects.postgresql import ARRAY

    arrays = [bindparam(f"a_{n}", type_=ARRAY(table.c[n].type)) for n in names]
    columns = (column(n, table.c[n].type) for n in names)
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=alias)
