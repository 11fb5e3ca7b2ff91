"""`build_engine`: the one place that wires a `SyncEngine` from its settings."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from storage.db import Database
from sync_engine.engine import SyncEngine, claim_size, utcnow
from sync_engine.import_writer import ImportChunks
from sync_engine.ledger import Ledger, make_ledger
from sync_engine.outage import OutageWatch
from sync_engine.policy import BackoffSettings
from sync_engine.send_log import SendLog
from sync_engine.sender import Checkpoint, Sender
from sync_engine.settings import Settings
from sync_engine.telemetry import Telemetry

SPARE_THREADS = 2


def _no_checkpoint(_name: str, _source_ids: list[str]) -> None:
    return None


def build_engine(
    settings: Settings,
    *,
    database: Database | None = None,
    ledger: Ledger | None = None,
    clock: Callable[[], datetime] = utcnow,
    rng: random.Random | None = None,
    checkpoint: Checkpoint = _no_checkpoint,
    migrate: bool = True,
    import_chunks: ImportChunks = ImportChunks(),  # noqa: B008 - frozen: one default is safe
) -> SyncEngine:
    """An engine on the settings' database and ledger, unless the caller brings either.

    Closing the engine closes the ledger, and the database pool when the engine opened it.
    `import_chunks` sizes an import's statements (tests make them small to cross many).
    """
    own_db: Database | None = None
    if database is None:
        database = own_db = Database.open(settings.database_url, migrate=migrate)
    telemetry = Telemetry()
    if ledger is None:
        send_log = SendLog(database, clock)
        ledger = make_ledger(settings, observe=telemetry.gateway_answered, send_log=send_log)
    limits = ledger.limits
    # A few more threads than requests in flight: while some claim or write to the
    # database, the others keep every ledger connection busy. The ledger still caps the
    # requests in flight (`concurrency`).
    executor = ThreadPoolExecutor(
        limits.concurrency + SPARE_THREADS, thread_name_prefix="syncbot-send"
    )
    watch = OutageWatch(
        settings.outage_threshold, settings.probe_base_seconds, settings.probe_cap_seconds
    )
    sender = Sender(
        db=database,
        ledger=ledger,
        executor=executor,
        clock=clock,
        uniform=(rng or random.SystemRandom()).uniform,
        backoff=BackoffSettings(
            settings.backoff_base_seconds,
            settings.backoff_cap_seconds,
            settings.max_auto_attempts,
        ),
        lease_seconds=settings.lease_seconds,
        checkpoint=checkpoint,
        watch=watch,
        telemetry=telemetry,
    )
    engine = SyncEngine(
        database=database,
        clock=clock,
        ledger=ledger,
        sender=sender,
        watch=watch,
        telemetry=telemetry,
        claim_size=claim_size(limits, settings.lease_seconds),
        on_close=_closer(executor, ledger, own_db),
        import_chunks=import_chunks,
        ledger_company=(settings.ledger, settings.ledger_company()),
    )
    telemetry.read_state_from(engine.status)
    return engine


def _closer(
    executor: ThreadPoolExecutor, ledger: Ledger, db: Database | None
) -> Callable[[], None]:
    def close() -> None:
        executor.shutdown(wait=True)
        ledger.close()
        if db is not None:
            db.dispose()

    return close
