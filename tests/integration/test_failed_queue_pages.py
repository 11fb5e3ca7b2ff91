"""The failed queue's pages and totals by filter, its indexes (migration 0002) and their kind."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text, update

from storage.migrate import alembic_config, upgrade
from storage.models import SyncLogEntry
from sync_engine.gateway_sim import Fault
from tests.conftest import open_database, posting
from tests.integration.test_records import entry, row, write

QUEUE_INDEXES = {
    "ix_sync_log_queue": ["record_id"],
    "ix_sync_log_queue_kind": ["kind", "record_id"],
    "ix_sync_log_queue_class": ["error_class", "record_id"],
    "ix_sync_log_queue_kind_class": ["kind", "error_class", "record_id"],
}


def mixed_queue(engine, sim) -> list[tuple[str, str, str]]:
    """Fail 24 of 30 records with each error class and both kinds; their (id, kind, class)."""
    postings = [
        posting(n, kind="honorarium" if n % 3 == 0 else "reimbursement") for n in range(1, 31)
    ]
    engine.submit(postings)
    classes = {"validation": "needs_attention", "unavailable": "transient", "auth": "auth"}
    faulty = {fault: [p.source_id for p in postings[i::5]] for i, fault in enumerate(classes)}
    faulty["validation"] += [p.source_id for p in postings[3::5]]
    for fault, source_ids in faulty.items():
        sim.faults.add(Fault(kind=fault, source_ids=tuple(source_ids)))
    # By hand: an automatic sync would stop at the first auth failure (an outage).
    engine.retry_selected([p.source_id for p in postings], requested_by="t", via="cli")
    failed = {s: classes[fault] for fault, ids in faulty.items() for s in ids}
    return [(p.source_id, p.kind, failed[p.source_id]) for p in postings if p.source_id in failed]


@pytest.mark.parametrize("kind", [None, "reimbursement", "honorarium"])
@pytest.mark.parametrize("error_class", [None, "transient", "needs_attention", "auth"])
def test_every_filter_pages_its_part_of_the_queue_with_its_total(
    make_engine_for, sim, kind, error_class
):
    engine = make_engine_for(batch_size=1)
    queue = mixed_queue(engine, sim)
    wanted = [
        s for s, k, c in queue if kind in (None, k) and error_class in (None, c)
    ]  # in record id order, as pages are

    seen, cursor = [], None
    while True:
        page = engine.list_failed(kind=kind, error_class=error_class, after=cursor, limit=3)
        assert page.total == len(wanted)
        assert all(
            kind in (None, r.kind) and error_class in (None, r.error_class) for r in page.items
        )
        seen += [r.source_id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == wanted
    if kind is None and error_class is None:
        assert engine.count_failed() == len(wanted) == 24


def test_a_record_being_retried_stays_listed_and_a_first_send_is_not(
    database, make_engine_for, sim
):
    engine = make_engine_for(batch_size=1)
    engine.submit([posting(1), posting(2), posting(3)])
    sim.faults.add(Fault(kind="unavailable", source_ids=("RMB-2026-0001",)))
    engine.sync(requested_by="t", via="cli")
    engine.submit([posting(4)])
    with database.transaction() as session:
        # As a claim leaves them: a failed record being retried, a new one being sent.
        session.execute(
            update(SyncLogEntry).where(SyncLogEntry.state != "succeeded").values(state="syncing")
        )

    page = engine.list_failed()
    assert [(r.source_id, r.state) for r in page.items] == [("RMB-2026-0001", "syncing")]
    assert page.total == engine.count_failed() == 1


def test_a_correction_that_changes_the_kind_moves_the_record_between_filters(
    database, make_engine_for, sim, tmp_path
):
    engine = make_engine_for()
    sim.faults.add(Fault(kind="validation"))
    engine.import_file(write(tmp_path, "a.jsonl", [row(1)]), by="t")
    engine.sync(requested_by="t", via="cli")
    assert engine.list_failed(kind="reimbursement").total == 1

    engine.import_file(write(tmp_path, "b.jsonl", [row(1, kind="honorarium")]), update=True, by="t")
    assert entry(database, "RMB-2026-0001").kind == "honorarium"
    engine.sync(requested_by="t", via="cli")
    assert engine.list_failed(kind="reimbursement").total == 0
    assert [r.source_id for r in engine.list_failed(kind="honorarium").items] == ["RMB-2026-0001"]


def test_migration_0002_copies_the_kind_and_adds_the_queue_indexes(database_url):
    with open_database(database_url, migrate=False) as opened:
        db = opened.engine
        upgrade(db, "0001")
        with db.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO records (id, source_id, kind, payee_id, payee_name,"
                    " amount_minor, currency, description, approved_at, idempotency_key,"
                    " imported_at) VALUES (7, 'HON-1', 'honorarium', 'V', 'V', 100, 'USD', 'd',"
                    " '2026-11-20 15:04:05', 'k-7', '2026-11-20 15:04:05')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sync_log (record_id, state, updated_at, attempt_count,"
                    " auto_streak, parked, last_error, error_class) VALUES (7, 'failed',"
                    " '2026-11-20 15:04:05', 1, 0, false, '503', 'transient')"
                )
            )
        upgrade(db)
        with db.connect() as conn:
            assert conn.execute(text("SELECT kind FROM sync_log")).scalar_one() == "honorarium"
            indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("sync_log")}
        assert {name: indexes.get(name) for name in QUEUE_INDEXES} == QUEUE_INDEXES
        assert _partial_condition(db, "ix_sync_log_queue_kind") is not None

        command.downgrade(alembic_config(db), "0001")
        with db.connect() as conn:
            names = {i["name"] for i in inspect(conn).get_indexes("sync_log")}
            columns = {c["name"] for c in inspect(conn).get_columns("sync_log")}
        assert not names & set(QUEUE_INDEXES) and "kind" not in columns


def _partial_condition(db, name: str) -> str | None:
    """The WHERE of index `name`, as the database keeps it."""
    with db.connect() as conn:
        if db.dialect.name == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})
            found = sql.scalar_one()
            return found.split(" WHERE ", 1)[1] if " WHERE " in found else None
        where = conn.execute(
            text(
                "SELECT pg_get_expr(indpred, indrelid) FROM pg_index"
                " WHERE indexrelid = CAST(:n AS regclass)"
            ),
            {"n": name},
        )
        return where.scalar_one()
