"""Bulk statements for imports: a few statements per chunk of new records, not a few per row.

An import of 100,000 records spends its time per row, so this skips what the ORM and Core add
per row (parameter dictionaries, RETURNING rows, an execution each): SQLite gets multi-row
VALUES statements, PostgreSQL one statement per chunk with the rows as one JSON document
(psycopg formats a JSON string in C, but arrays of values in Python). On PostgreSQL an `Intake`
also sends its chunks without waiting for them (pipeline mode), so the server stores one chunk
while this process reads the next. Values still go through each column's bind processor, so a
`UTCDateTime` is stored exactly as an ORM insert would store it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection, String, func, insert, select, text

from storage.models import Record, SyncLogEntry
from storage.vocabulary import State

# The columns of a new record, in the order `insert_pending` and `Intake.add` take its values.
NEW_RECORD_COLUMNS = (
    "source_id",
    "kind",
    "payee_id",
    "payee_name",
    "amount_minor",
    "currency",
    "description",
    "approved_at",
    "approved_by",
    "account_code",
    "memo",
    "idempotency_key",
    "imported_at",
)
_LOG_COLUMNS = "record_id, kind, state, updated_at, attempt_count, auto_streak, parked"
Known = list[tuple[str, int]]


def record_text_lengths(names: Sequence[str]) -> dict[str, int]:
    """The longest value, in characters, each of these text columns of `records` holds."""
    lengths = {}
    for name in names:
        column_type = Record.__table__.c[name].type
        assert isinstance(column_type, String) and column_type.length
        lengths[name] = column_type.length
    return lengths


def find_source_ids(connection: Connection, source_ids: Sequence[str]) -> dict[str, int]:
    """source_id -> record id, for those of `source_ids` that are stored."""
    if not source_ids:
        return {}
    ids = json.dumps(list(source_ids))
    if connection.dialect.name == "postgresql":
        # One JSON parameter: thousands of bound parameters cost more to send than to look up.
        query = text(
            "SELECT source_id, id FROM records WHERE source_id IN"
            " (SELECT jsonb_array_elements_text(CAST(:ids AS jsonb)))"
        )
        return dict(connection.execute(query, {"ids": ids}).all())
    if connection.dialect.name == "sqlite":
        query = text(
            "SELECT source_id, id FROM records"
            " WHERE source_id IN (SELECT value FROM json_each(:ids))"
        )
        return dict(connection.execute(query, {"ids": ids}).all())
    rows = connection.execute(
        select(Record.source_id, Record.id).where(Record.source_id.in_(source_ids))
    )
    return dict(rows.all())


def insert_pending(connection: Connection, rows: Sequence[Sequence[Any]], now: datetime) -> None:
    """Insert new records (values in `NEW_RECORD_COLUMNS` order), each with a pending log entry."""
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        params = _postgresql_params(connection, rows, now)
        connection.execute(text(_postgresql_insert(connection)), params)
    elif connection.dialect.name == "sqlite":
        _insert_pending_sqlite(connection, _converted(connection, rows), _log_time(connection, now))
    else:
        named = [dict(zip(NEW_RECORD_COLUMNS, row, strict=True)) for row in rows]
        new = connection.execute(insert(Record).returning(Record.id, Record.kind), named).all()
        log = [
            {"record_id": i, "kind": k, "state": State.PENDING, "updated_at": now} for i, k in new
        ]
        connection.execute(insert(SyncLogEntry), log)


class Intake:
    """Chunks of new records for one transaction; rows whose source_id is stored are skipped.

    Use it as a context manager. `add` may return before the rows are stored (PostgreSQL's
    pipeline); `known` waits for everything added so far and returns the skipped rows'
    (source_id, record id) since the last call, in the order they were added.
    """

    def __init__(self, connection: Connection, now: datetime) -> None:
        self._connection = connection
        self.now = now
        self._stack = ExitStack()
        self._pending: list[Any] = []  # PostgreSQL cursors whose answers are not read yet
        self._known: Known = []
        self._postgresql = connection.dialect.name == "postgresql"
        self._query = _postgresql_skip_known(connection) if self._postgresql else ""

    def __enter__(self) -> Intake:
        if self._postgresql:
            driver = self._connection.connection.driver_connection
            self._stack.enter_context(driver.pipeline())  # type: ignore[union-attr]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # type: ignore[arg-type]

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Store `rows` (values in `NEW_RECORD_COLUMNS` order), except those already stored."""
        if not rows:
            return
        if self._postgresql:
            driver = self._connection.connection.driver_connection
            cursor = driver.cursor()  # type: ignore[union-attr]
            cursor.execute(self._query, _postgresql_params(self._connection, rows, self.now))
            self._pending.append(cursor)
            return
        found = find_source_ids(self._connection, [row[0] for row in rows])
        self._known += [(row[0], found[row[0]]) for row in rows if row[0] in found]
        insert_pending(self._connection, [row for row in rows if row[0] not in found], self.now)

    def known(self) -> Known:
        """The skipped rows' (source_id, record id) added since the last call."""
        for cursor in self._pending:
            self._known += cursor.fetchall()
        found, self._known, self._pending = self._known, [], []
        return found


def _postgresql_rows(connection: Connection) -> tuple[str, str]:
    """The column list, and the values of one JSON row `r` cast to the columns' types."""
    columns = Record.__table__.c
    picks = ", ".join(
        f"CAST(r->>{i} AS {columns[name].type.compile(connection.dialect)})"
        for i, name in enumerate(NEW_RECORD_COLUMNS)
    )
    return ", ".join(NEW_RECORD_COLUMNS), picks


def _postgresql_insert(connection: Connection) -> str:
    # The sequence gives the ids, and they go straight on into the sync log.
    names, picks = _postgresql_rows(connection)
    return (
        f"WITH new AS (INSERT INTO records ({names})"
        f" SELECT {picks} FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS r"
        " RETURNING id, kind)"
        f" INSERT INTO sync_log ({_LOG_COLUMNS})"
        f" SELECT id, kind, '{State.PENDING}', :now, 0, 0, false FROM new"
    )


def _postgresql_skip_known(connection: Connection) -> str:
    # As `_postgresql_insert`, but skipping stored source_ids and answering with them, so that
    # a pipelined chunk needs no lookup first (a lookup's answer would have to be waited for).
    names, picks = _postgresql_rows(connection)
    return (
        "WITH given AS (SELECT r, n FROM jsonb_array_elements(CAST(%(rows)s AS jsonb))"
        " WITH ORDINALITY AS e(r, n)),"
        " known AS (SELECT records.source_id, records.id, given.n FROM given"
        " JOIN records ON records.source_id = given.r->>0),"
        f" new AS (INSERT INTO records ({names}) SELECT {picks} FROM given"
        " WHERE given.n NOT IN (SELECT n FROM known) RETURNING id, kind),"
        f" logged AS (INSERT INTO sync_log ({_LOG_COLUMNS})"
        f" SELECT id, kind, '{State.PENDING}', %(now)s, 0, 0, false FROM new)"
        " SELECT source_id, id FROM known ORDER BY n"
    )


def _postgresql_params(
    connection: Connection, rows: Sequence[Sequence[Any]], now: datetime
) -> dict[str, Any]:
    # JSON carries the stored (naive UTC) times as text, which PostgreSQL casts back.
    payload = json.dumps(_converted(connection, rows, _time_text))
    return {"rows": payload, "now": _log_time(connection, now)}


def _time_text(moment: Any) -> Any:
    return moment.isoformat(" ") if isinstance(moment, datetime) else moment


def _insert_pending_sqlite(connection: Connection, rows: list[tuple[Any, ...]], now: Any) -> None:
    # The transaction began IMMEDIATE and holds the only write lock, and records has no
    # AUTOINCREMENT: the new rows get the ids after the highest one, which find them again.
    top = connection.execute(select(func.max(Record.id))).scalar() or 0
    driver = connection.connection.driver_connection
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[union-attr]
    width = len(NEW_RECORD_COLUMNS)
    step = max(1, limit // width)
    one = "(" + ", ".join("?" * width) + ")"
    for start in range(0, len(rows), step):
        part = rows[start : start + step]
        connection.exec_driver_sql(
            f"INSERT INTO records ({', '.join(NEW_RECORD_COLUMNS)}) VALUES "
            + ", ".join([one] * len(part)),
            tuple(chain.from_iterable(part)),
        )
    connection.execute(
        text(
            f"INSERT INTO sync_log ({_LOG_COLUMNS})"
            f" SELECT id, kind, '{State.PENDING}', :now, 0, 0, 0 FROM records WHERE id > :top"
        ),
        {"now": now, "top": top},
    )


def _converted(
    connection: Connection,
    rows: Sequence[Sequence[Any]],
    then: Callable[[Any], Any] | None = None,
) -> list[tuple[Any, ...]]:
    """The rows with every value as the driver must receive it (passed through `then`)."""
    dialect = connection.dialect
    columns = Record.__table__.c
    processors = [
        columns[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in NEW_RECORD_COLUMNS
    ]
    steps = [(i, _memoised(p, then)) for i, p in enumerate(processors) if p is not None]
    converted = []
    for row in rows:
        values = list(row)
        for i, process in steps:
            values[i] = process(values[i])
        converted.append(tuple(values))
    return converted


def _log_time(connection: Connection, now: datetime) -> Any:
    column = SyncLogEntry.__table__.c.updated_at
    process = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    return now if process is None else process(now)


def _memoised(
    process: Callable[[Any], Any], then: Callable[[Any], Any] | None
) -> Callable[[Any], Any]:
    # Imports repeat values (one `imported_at`, a few approval times): convert each once.
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return seen[value]
        except KeyError:
            result = process(value)
            result = seen[value] = result if then is None else then(result)
            return result

    return convert
