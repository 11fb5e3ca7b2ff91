"""Imports in many chunks: bulk statements, PostgreSQL's pipeline, all or nothing, new keys."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.models import Record, SyncLogEntry
from sync_engine.errors import ImportRejected
from sync_engine.gateway_sim import Fault
from sync_engine.import_writer import ImportChunks
from tests.integration.test_records import count, row, write


@pytest.fixture
def import_chunks() -> ImportChunks:
    """Chunks of 3 rows, read 2 at a time, so a small file crosses many chunk boundaries."""
    return ImportChunks(rows=3, read=2)


def test_stored_ids_are_skipped_and_named_in_file_order(database, make_engine_for, tmp_path):
    engine = make_engine_for()
    engine.import_file(write(tmp_path, "a.jsonl", [row(n) for n in (2, 5, 9, 11)]), by="t")

    result = engine.import_file(write(tmp_path, "b.jsonl", [row(n) for n in range(1, 13)]), by="t")

    assert result.imported == 8
    assert result.duplicates == tuple(f"RMB-2026-{n:04d}" for n in (2, 5, 9, 11))
    with database.session() as session:
        states = session.execute(
            select(SyncLogEntry.state, SyncLogEntry.kind, func.count()).group_by(
                SyncLogEntry.state, SyncLogEntry.kind
            )
        ).all()
        keys = session.scalars(select(Record.idempotency_key)).all()
    assert [tuple(s) for s in states] == [("pending", "reimbursement", 12)]
    assert len(set(keys)) == 12


def test_a_bad_row_after_many_chunks_keeps_nothing(database, make_engine_for, tmp_path):
    engine = make_engine_for()
    rows = [row(n) for n in range(1, 15)] + [row(15, amount="1.001")] + [row(16)]

    with pytest.raises(ImportRejected) as caught:
        engine.import_file(write(tmp_path, "bad.jsonl", rows), by="t")

    assert [(p.line, p.field) for p in caught.value.problems] == [(15, "amount")]
    assert count(database, Record) == count(database, SyncLogEntry) == 0


def test_a_second_import_of_the_same_file_imports_nothing(database, make_engine_for, tmp_path):
    engine = make_engine_for()
    path = write(tmp_path, "a.jsonl", [row(n) for n in range(1, 8)])
    engine.import_file(path, by="t")

    again = engine.import_file(path, by="t")

    assert (again.imported, len(again.duplicates)) == (0, 7)
    assert count(database, Record) == count(database, SyncLogEntry) == 7


def test_corrections_across_chunks_with_new_rows_between(make_engine_for, sim, tmp_path):
    engine = make_engine_for()
    sim.faults.add(Fault(kind="validation"))
    engine.import_file(write(tmp_path, "a.jsonl", [row(n) for n in range(1, 8, 2)]), by="t")
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()

    fixed = [row(n, memo="fixed") for n in range(1, 9)]
    result = engine.import_file(write(tmp_path, "b.jsonl", fixed), update=True, by="finance")

    assert result.corrected == tuple(f"RMB-2026-{n:04d}" for n in (1, 3, 5, 7))
    assert (result.imported, result.duplicates) == (4, ())
    engine.sync(requested_by="t", via="cli")
    assert engine.count_failed() == 0 and len(sim.bookings()) == 8
