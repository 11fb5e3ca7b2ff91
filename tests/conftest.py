"""Shared fixtures: a database on SQLite and on PostgreSQL, the gateway simulator, a clock."""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from storage.db import Database, make_engine
from sync_engine.build import build_engine
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import GatewaySimulator, SimConfig
from sync_engine.import_writer import ImportChunks
from sync_engine.settings import Settings

PG_URL = os.environ.get("SYNCBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "test-token"


class FakeClock:
    """The engine's clock seam: time moves only when a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta: float) -> None:
        """Move time forward."""
        with self._lock:
            self.now += timedelta(**delta)


class LongestWait(random.Random):
    """A jitter source that always picks the longest wait, so backoff times are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _fresh_pg_schema() -> str:
    """A new, empty PostgreSQL schema for one test; its URL selects it."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # noqa: BLE001 - the reason is reported, the run fails
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
    finally:
        engine.dispose()
    return name


def _drop_pg_schema(name: str) -> None:
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'syncbot.db'}"
        return
    schema = _fresh_pg_schema()
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    _drop_pg_schema(schema)


@contextmanager
def open_database(url: str, *, migrate: bool = True) -> Iterator[Database]:
    """The database at `url`, migrated unless `migrate` is off; disposed when the block ends."""
    database = Database.open(url, migrate=migrate)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """The test's database, migrated, for seeding and inspecting rows beside the engine."""
    with open_database(database_url) as opened:
        yield opened


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server (for tests of several processes on one database)."""
    schema = _fresh_pg_schema()
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    _drop_pg_schema(schema)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite database file."""
    return f"sqlite:///{tmp_path / 'syncbot.db'}"


@pytest.fixture
def sim() -> Iterator[GatewaySimulator]:
    """The gateway simulator, over real HTTP on loopback."""
    with GatewaySimulator(SimConfig(token=TOKEN)) as simulator:
        yield simulator


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


def settings_for(database_url: str, gateway_url: str, **overrides: object) -> Settings:
    """Settings for a test: the given database and simulator, fast timeouts, no pacing."""
    values: dict[str, object] = {
        "database_url": database_url,
        "gateway_url": gateway_url,
        "gateway_token": TOKEN,
        "timeout_seconds": 5.0,
        "backoff_base_seconds": 60.0,
        "backoff_cap_seconds": 21600.0,
        "max_auto_attempts": 8,
        "lease_seconds": 120.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def import_chunks() -> ImportChunks:
    """How the engines of `make_engine_for` cut an import (a module may make them small)."""
    return ImportChunks()


@pytest.fixture
def make_engine_for(
    database_url: str, sim: GatewaySimulator, clock: FakeClock, import_chunks: ImportChunks
) -> Iterator[Callable[..., SyncEngine]]:
    """Build engines on the test's database and simulator; all are closed afterwards. The
    overrides are settings, but for `checkpoint`, `ledger` (an adapter to use instead of the
    settings') and `rng`, which go to `build_engine`."""
    engines: list[SyncEngine] = []

    def build(**overrides: object) -> SyncEngine:
        checkpoint = overrides.pop("checkpoint", None)
        ledger = overrides.pop("ledger", None)
        rng = overrides.pop("rng", None) or random.Random(7)
        kwargs: dict[str, object] = {"clock": clock, "rng": rng, "import_chunks": import_chunks}
        if checkpoint is not None:
            kwargs["checkpoint"] = checkpoint
        if ledger is not None:
            kwargs["ledger"] = ledger
        engine = build_engine(settings_for(database_url, sim.url, **overrides), **kwargs)  # type: ignore[arg-type]
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


def posting(
    n: int, *, kind: str = "reimbursement", payee_id: str = "VOL-1", **extra: object
) -> Posting:
    """An approved record numbered `n`."""
    values: dict[str, object] = {
        "source_id": f"{'RMB' if kind == 'reimbursement' else 'HON'}-2026-{n:04d}",
        "kind": kind,
        "payee_id": payee_id,
        "payee_name": f"Volunteer {payee_id}",
        "amount": Decimal(f"{n}.25"),
        "currency": "USD",
        "description": f"Record {n}",
        "approved_at": datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC),
    }
    values.update(extra)
    return Posting(**values)  # type: ignore[arg-type]
