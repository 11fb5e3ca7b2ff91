"""Database engines and sessions: SQLite (WAL, one file) by default, PostgreSQL via psycopg 3."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Take a plain `postgresql://` URL to mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout waits for the writer's lock
    # instead of failing at once when two processes retry together.
    # The busy timeout comes first: on a new file, switching to WAL takes a lock that another
    # process starting at the same moment may hold.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READ_ONLY = "syncbot_read_only"


class _SQLiteWriteGate:
    """Serialises this process's SQLite write transactions on a Python lock.

    SQLite has one writer. Threads of one process that wait in SQLite's busy handler sleep in
    steps of up to 100 ms; waiting on a lock instead hands the write lock over at once. Other
    processes still queue through busy_timeout. A write transaction takes the write lock at
    BEGIN (IMMEDIATE), so two processes never deadlock upgrading read locks.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        self._lock.acquire()
        conn.info["holds_write_gate"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Any) -> None:
        if conn.info.pop("holds_write_gate", False):
            self._lock.release()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url` with the pragmas and pool this project relies on."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        gate = _SQLiteWriteGate()
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.end)
        event.listen(engine, "rollback", gate.end)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    # An executemany INSERT becomes one multi-row statement (as psycopg2's dialect does),
    # instead of psycopg 3's pipeline of one statement per row.
    engine.dialect.use_insertmanyvalues_wo_returning = True
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory; sessions never expire objects on commit (results are copied out)."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite they neither wait for nor block the writer."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


Tx = Session
"""A unit of work: repositories take one, read and write through it, and never commit."""

Conn = Connection
"""A Core connection inside a transaction, for the queue's bulk statements."""


class Database:
    """One database: its pool, its write and read transactions. The engine owns when to commit.

    The engine opens a transaction here and hands it to the repositories of `storage/`; it never
    builds a statement itself, so it needs nothing from SQLAlchemy but what this class gives.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = make_sessionmaker(engine)
        self._reads = make_read_sessionmaker(engine)

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        """A pool on `url`; with `migrate`, its schema brought up to date first."""
        from storage.migrate import ensure_schema  # Alembic only when a schema may change

        database = cls(make_engine(url))
        if migrate:
            ensure_schema(database.engine)
        return database

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    def transaction(self) -> AbstractContextManager[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        return self._sessions.begin()

    def session(self) -> Session:
        """A session whose transactions the caller begins (a block of several)."""
        return self._sessions()

    def reading(self) -> Session:
        """A read-only session; on SQLite it neither waits for nor blocks the writer."""
        return self._reads()

    def connection(self) -> AbstractContextManager[Connection]:
        """A Core connection in a write transaction, committed when the block ends."""
        return self.engine.begin()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
