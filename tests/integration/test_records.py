"""Imports, corrections, resolve, parking, uncertain outcomes and the alert outbox."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import AlertOutbox, Record, RecordChange, RetryEvent, SyncLogEntry
from sync_engine.errors import BadInput, ImportRejected, UnknownRecord
from sync_engine.gateway_sim import Fault
from tests.conftest import TOKEN, LongestWait, posting


def row(n: int, **extra: object) -> dict[str, object]:
    """An import row numbered `n`."""
    values: dict[str, object] = {
        "source_id": f"RMB-2026-{n:04d}",
        "kind": "reimbursement",
        "payee": {"id": "VOL-1", "name": "Ana Lima"},
        "amount": f"{n}.50",
        "currency": "USD",
        "description": f"Mileage {n}",
        "approved_at": "2026-11-20T15:04:05Z",
    }
    values.update(extra)
    return values


def write(tmp_path, name: str, rows: list[dict[str, object]]):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def count(database: Database, model) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def entry(database: Database, source_id: str) -> SyncLogEntry:
    with database.session() as session:
        return session.scalars(
            select(SyncLogEntry)
            .join(Record, Record.id == SyncLogEntry.record_id)
            .where(Record.source_id == source_id)
        ).one()


def key_of(database: Database, source_id: str) -> str:
    with database.session() as session:
        return session.scalars(
            select(Record.idempotency_key).where(Record.source_id == source_id)
        ).one()


def book_directly(sim, key: str, body: dict[str, object]) -> str:
    """Book a posting at the gateway behind the engine's back (as if an earlier try had)."""
    answer = httpx.post(
        f"{sim.url}/v1/postings",
        json=body,
        headers={"Idempotency-Key": key, "Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 201
    return answer.json()["id"]


def test_import_is_all_or_nothing(database, make_engine_for, tmp_path):
    engine = make_engine_for()
    bad = write(tmp_path, "bad.jsonl", [row(1), row(2, amount="12.345"), row(3, kind="gift")])
    with pytest.raises(ImportRejected) as caught:
        engine.import_file(bad, by="t")
    assert {(p.line, p.field) for p in caught.value.problems} == {(2, "amount"), (3, "kind")}
    assert count(database, Record) == 0


def test_import_skips_known_source_ids(database, make_engine_for, tmp_path):
    engine = make_engine_for()
    engine.import_file(write(tmp_path, "a.jsonl", [row(1), row(2)]), by="t")
    result = engine.import_file(write(tmp_path, "b.jsonl", [row(2), row(3)]), by="t")
    assert (result.imported, result.duplicates) == (1, ("RMB-2026-0002",))
    assert count(database, Record) == 3


def test_correction_gets_a_new_key_and_is_recorded(database, make_engine_for, sim, tmp_path):
    engine = make_engine_for()
    sim.faults.add(Fault(kind="validation", payee_ids=("VOL-404",)))
    engine.import_file(
        write(tmp_path, "a.jsonl", [row(1, payee={"id": "VOL-404", "name": "X"})]), by="t"
    )
    engine.sync(requested_by="t", via="cli")
    old_key = key_of(database, "RMB-2026-0001")
    assert entry(database, "RMB-2026-0001").error_class == "needs_attention"

    fixed = write(tmp_path, "b.jsonl", [row(1, payee={"id": "VOL-1", "name": "Ana Lima"})])
    result = engine.import_file(fixed, update=True, by="finance")
    assert result.corrected == ("RMB-2026-0001",)
    assert key_of(database, "RMB-2026-0001") != old_key
    assert entry(database, "RMB-2026-0001").state == "pending"
    with database.session() as session:
        change = session.scalars(select(RecordChange)).one()
    assert (change.action, change.by) == ("corrected", "finance")
    assert json.loads(change.detail)["changes"]["payee_id"] == ["VOL-404", "VOL-1"]

    engine.sync(requested_by="t", via="cli")
    assert entry(database, "RMB-2026-0001").state == "succeeded"
    assert sim.booking_count(old_key) == 0 and len(sim.bookings()) == 1
    assert [c.action for c in engine.history("RMB-2026-0001").changes] == ["corrected"]


def test_correction_refused_when_the_gateway_booked_the_key(
    database, make_engine_for, sim, tmp_path
):
    engine = make_engine_for()
    sim.faults.add(Fault(kind="validation"))
    engine.import_file(write(tmp_path, "a.jsonl", [row(1)]), by="t")
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()
    book_directly(sim, key_of(database, "RMB-2026-0001"), {**row(1), "kind": "reimbursement"})

    with pytest.raises(ImportRejected) as caught:
        engine.import_file(write(tmp_path, "b.jsonl", [row(1, memo="fixed")]), update=True, by="t")
    assert "already booked" in caught.value.problems[0].message
    assert count(database, RecordChange) == 0


def test_correction_refused_for_a_succeeded_record(make_engine_for, tmp_path):
    engine = make_engine_for()
    engine.import_file(write(tmp_path, "a.jsonl", [row(1)]), by="t")
    engine.sync(requested_by="t", via="cli")
    with pytest.raises(ImportRejected) as caught:
        engine.import_file(write(tmp_path, "b.jsonl", [row(1, memo="x")]), update=True, by="t")
    assert "succeeded" in caught.value.problems[0].message


def test_resolve_asks_the_gateway_first(database, make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1), posting(2)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()
    ref = book_directly(sim, key_of(database, "RMB-2026-0002"), posting(2).to_wire())
    posts_before = sum(1 for r in sim.requests() if r.method == "POST")

    resolved = engine.resolve("RMB-2026-0001", "booked by hand in the ledger", by="finance")
    found = engine.resolve("RMB-2026-0002", "booked by hand", by="finance")

    assert (resolved.state, found.state, found.accounting_ref) == ("resolved", "succeeded", ref)
    assert sum(1 for r in sim.requests() if r.method == "POST") == posts_before
    assert engine.list_failed().total == 0
    changes = engine.history("RMB-2026-0001").changes
    assert [(c.action, c.by, c.reason) for c in changes] == [
        ("resolved", "finance", "booked by hand in the ledger")
    ]
    with pytest.raises(BadInput):
        engine.resolve("RMB-2026-0001", "again", by="finance")
    with pytest.raises(UnknownRecord):
        engine.resolve("RMB-2026-9999", "nope", by="finance")


def test_unknown_ids_change_nothing(database, make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1)])
    with pytest.raises(UnknownRecord) as caught:
        engine.retry_selected(["RMB-2026-0001", "NOPE-1"], requested_by="t", via="cli")
    assert caught.value.source_ids == ["NOPE-1"]
    assert sim.requests() == [] and count(database, RetryEvent) == 0


def test_already_synced_is_skipped_not_sent(make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1)])
    engine.sync(requested_by="t", via="cli")
    before = len(sim.requests())
    result = engine.retry_selected(["RMB-2026-0001"], requested_by="t", via="cli")
    assert [(s.source_id, s.reason) for s in result.skipped] == [
        ("RMB-2026-0001", "already succeeded")
    ]
    assert len(sim.requests()) == before


def test_auto_retries_until_parked_and_alert_once_then_on_parking(
    database, make_engine_for, sim, clock
):
    engine = make_engine_for(max_auto_attempts=2, backoff_base_seconds=10, rng=LongestWait())
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="t", via="cli")
    assert entry(database, "RMB-2026-0001").next_attempt_at == clock() + timedelta(seconds=10)

    engine.sync(requested_by="scheduler", via="scheduler")  # not due yet: nothing sent
    assert len(sim.requests()) == 1
    for wait in (10, 20):
        clock.advance(seconds=wait)
        engine.sync(requested_by="scheduler", via="scheduler")
    parked = entry(database, "RMB-2026-0001")
    assert (parked.parked, parked.next_attempt_at, parked.attempt_count) == (True, None, 3)
    clock.advance(days=1)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert len(sim.requests()) == 3  # parked: no automatic attempt

    with database.session() as session:
        alerts = session.scalars(select(AlertOutbox).order_by(AlertOutbox.id)).all()
        events = session.scalars(select(RetryEvent)).all()
    assert [a.kind for a in alerts] == ["first_failure", "parked"]
    assert json.loads(alerts[0].payload)["amount"] == "1.25"
    assert {(e.kind, e.via) for e in events} == {("auto", "scheduler")}
    assert engine.list_failed().items[0].parked
    assert engine.status().parked == 1


def test_rate_limit_retry_after_is_a_floor(database, make_engine_for, sim, clock):
    engine = make_engine_for(backoff_base_seconds=1)
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="rate_limit", retry_after=300, count=1))
    engine.sync(requested_by="t", via="cli")
    row_ = entry(database, "RMB-2026-0001")
    assert row_.error_class == "transient"
    assert row_.next_attempt_at >= clock() + timedelta(seconds=300)


def test_auth_failure_waits_for_a_person(database, make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1)])
    sim.faults.add(Fault(kind="auth"))
    engine.sync(requested_by="t", via="cli")
    row_ = entry(database, "RMB-2026-0001")
    assert (row_.error_class, row_.next_attempt_at, row_.state) == ("auth", None, "failed")


@pytest.mark.parametrize("batch_size", [1, 30])
def test_uncertain_answer_settled_by_lookup(make_engine_for, sim, batch_size):
    engine = make_engine_for(batch_size=batch_size)
    engine.submit([posting(1), posting(2)])
    sim.faults.add(Fault(kind="upstream_error_after_booking", source_ids=("RMB-2026-0001",)))
    result = engine.sync(requested_by="t", via="cli")

    assert sorted(s.source_id for s in result.initial.succeeded) == [
        "RMB-2026-0001",
        "RMB-2026-0002",
    ]
    assert any(r.method == "GET" for r in sim.requests())
    assert all(sim.booking_count(k) == 1 for k in sim.bookings())
    attempt = engine.history("RMB-2026-0001").attempts[0]
    assert attempt.outcome == "succeeded" and "lookup found it booked" in attempt.error


def test_failed_queue_pages_with_a_cursor(make_engine_for, sim):
    engine = make_engine_for()
    engine.submit(
        [posting(i, kind="honorarium" if i % 2 else "reimbursement") for i in range(1, 8)]
    )
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="t", via="cli")

    seen, cursor = [], None
    while True:
        page = engine.list_failed(limit=3, after=cursor)
        assert page.total == 7
        seen += [r.source_id for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 7 == len(set(seen))
    honoraria = engine.list_failed(kind="honorarium", limit=2)
    assert honoraria.total == 4 and len(honoraria.items) == 2
    assert all(r.kind == "honorarium" for r in honoraria.items)


def test_retry_all_stays_within_the_gateway_limits(make_engine_for, sim):
    # 15 failed batches would pause automatic sends at the fifth (an outage): not tested here.
    engine = make_engine_for(concurrency=3, batch_size=10, outage_threshold=100)
    engine.submit([posting(i) for i in range(1, 151)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()
    sim.config.concurrency = 3
    sim.config.latency_seconds = 0.02

    result = engine.retry_all(requested_by="t", via="cli")
    assert len(result.succeeded) == 150
    assert sim.stats()["rate_limited"] == 0
    assert len([r for r in sim.requests() if r.path == "/v1/postings:batch"]) >= 15


def test_sqlite_runs_in_wal_mode(sqlite_url, sim, clock):
    from sqlalchemy import text

    from sync_engine.build import build_engine
    from tests.conftest import open_database, settings_for

    with (
        build_engine(settings_for(sqlite_url, sim.url), clock=clock),
        open_database(sqlite_url, migrate=False) as database,
        database.session() as session,
    ):
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_ids_no_record_can_have_are_unknown_not_a_database_error(make_engine_for, sim):
    engine = make_engine_for()
    engine.submit([posting(1)])
    for bad in ("RMB\x00-1", "RMB-\ud800", "R" * 129):
        with pytest.raises(UnknownRecord):
            engine.retry_selected([bad, "RMB-2026-0001"], requested_by="t", via="cli")
        with pytest.raises(UnknownRecord):
            engine.history(bad)
        with pytest.raises(UnknownRecord):
            engine.resolve(bad, "booked by hand", by="t")
    assert sim.requests() == []
