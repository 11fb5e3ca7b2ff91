"""Ledger references of any length the gateway returns are stored whole, on both databases,
for single postings, batches, lookups and resolves; and migration 0005 keeps what 0004 held."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Attempt, Record, RetryEventItem, SyncLogEntry
from sync_engine.build import build_engine
from sync_engine.gateway_sim import Fault
from tests.conftest import open_database, posting, settings_for
from tests.integration.test_records import book_directly

LENGTHS = [300, 2000]
# Batches: one full batch and one of five. Singles: a few are enough.
MODES = [
    pytest.param({"batch_size": 1, "concurrency": 1}, id="singles"),
    pytest.param({"batch_size": 30, "concurrency": 2}, id="batches"),
]
RECORDS = {1: 5, 30: 35}


def stored_refs(database: Database) -> dict[str, tuple[str | None, list[str | None]]]:
    """source_id -> (the sync log's reference, every attempt's reference)."""
    with database.reading() as session:
        logs = session.execute(
            select(Record.source_id, Record.id, SyncLogEntry.accounting_ref).join(
                SyncLogEntry, SyncLogEntry.record_id == Record.id
            )
        ).all()
        attempts = session.execute(select(Attempt.record_id, Attempt.accounting_ref)).all()
    return {
        source_id: (ref, [a_ref for rid, a_ref in attempts if rid == record_id])
        for source_id, record_id, ref in logs
    }


def booked(sim) -> dict[str, str]:
    """source_id -> the reference the simulated ledger gave it."""
    return {b.posting.source_id: b.id for b in sim.bookings().values()}


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("mode", MODES)
def test_long_references_are_stored_whole(database, make_engine_for, sim, length, mode):
    engine = make_engine_for(**mode)
    sim.config.reference_length = length
    records = RECORDS[mode["batch_size"]]
    engine.submit([posting(n) for n in range(1, records + 1)])

    result = engine.sync(requested_by="scheduler", via="scheduler")

    refs = booked(sim)
    assert len(refs) == records and all(len(ref) == length for ref in refs.values())
    assert not result.initial.failed, result.initial.failed
    assert {s.source_id: s.accounting_ref for s in result.initial.succeeded} == refs
    assert stored_refs(database) == {s: (ref, [ref]) for s, ref in refs.items()}
    last = f"RMB-2026-{records:04d}"
    assert engine.history(last).accounting_ref == refs[last]


@pytest.mark.parametrize("mode", MODES)
def test_a_manual_retry_and_its_event_keep_a_long_reference_whole(
    database, make_engine_for, sim, mode
):
    engine = make_engine_for(**mode)
    engine.submit([posting(n) for n in range(1, 4)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="scheduler", via="scheduler")  # all three fail once
    sim.faults.clear()
    sim.config.reference_length = 2000

    result = engine.retry_all(requested_by="U1", via="slack")

    refs = booked(sim)
    assert {s.source_id: s.accounting_ref for s in result.succeeded} == refs
    assert {s: entry[0] for s, entry in stored_refs(database).items()} == refs
    assert all(entry[1][-1] == refs[s] for s, entry in stored_refs(database).items())
    with database.reading() as session:
        details = session.execute(select(RetryEventItem.detail)).scalars().all()
    assert sorted(details) == sorted(refs.values())


def test_a_reference_found_by_lookup_is_stored_whole(database, make_engine_for, sim):
    # A 502 after booking: the outcome is settled by the lookup, which answers the reference.
    engine = make_engine_for(batch_size=1, concurrency=1)
    sim.config.reference_length = 2000
    engine.submit([posting(1), posting(2)])
    sim.faults.add(Fault(kind="upstream_error_after_booking", source_ids=("RMB-2026-0001",)))

    engine.sync(requested_by="scheduler", via="scheduler")

    ref = booked(sim)["RMB-2026-0001"]
    assert [r.status for r in sim.requests()][:2] == [502, 200]  # the posting, its lookup
    assert len(ref) == 2000 and stored_refs(database)["RMB-2026-0001"] == (ref, [ref])


def test_resolve_stores_a_long_reference_the_lookup_found_whole(database, make_engine_for, sim):
    engine = make_engine_for(batch_size=1, concurrency=1)
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="scheduler", via="scheduler")
    sim.faults.clear()
    sim.config.reference_length = 300
    with database.reading() as session:
        key = session.scalars(select(Record.idempotency_key)).one()
    # Booked in the ledger by another way in (the same key), then resolved here.
    book_directly(sim, key, posting(1).to_wire())

    result = engine.resolve("RMB-2026-0001", "booked by the gateway's own retry", by="U1")

    assert result.state == "succeeded" and len(result.accounting_ref or "") == 300
    assert stored_refs(database)["RMB-2026-0001"][0] == result.accounting_ref


def test_migration_0005_keeps_what_0004_stored_and_then_takes_any_length(database_url, sim):
    with open_database(database_url, migrate=False) as opened:
        db = opened.engine
        upgrade(db, "0004")
        settings = settings_for(database_url, sim.url, batch_size=1, concurrency=1)
        sim.config.reference_length = 128  # the most the old column held
        with build_engine(settings, migrate=False) as old:
            old.submit([posting(1), posting(2)])
            old.sync(requested_by="scheduler", via="scheduler")
        before = stored_refs_of(settings)
        assert all(len(ref or "") == 128 for ref, _ in before.values())

        upgrade(db, "0005")

        for table in ("sync_log", "attempts"):
            [column] = [c for c in inspect(db).get_columns(table) if c["name"] == "accounting_ref"]
            assert getattr(column["type"], "length", None) is None  # no limit left
        assert stored_refs_of(settings) == before
        sim.config.reference_length = 2000
        with build_engine(settings, migrate=False) as new:
            new.submit([posting(3)])
            new.sync(requested_by="scheduler", via="scheduler")
        ref = booked(sim)["RMB-2026-0003"]
        assert len(ref) == 2000 and stored_refs_of(settings)["RMB-2026-0003"] == (ref, [ref])


def stored_refs_of(settings) -> dict[str, tuple[str | None, list[str | None]]]:
    with open_database(settings.database_url, migrate=False) as database:
        return stored_refs(database)
