"""Importing a file of approved records: all or nothing, streaming, corrections with --update."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from storage.models import Record, SyncLogEntry
from storage.queue import FAILED, PENDING
from sync_engine.errors import GatewayUnreachable, ImportRejected
from sync_engine.importing import ImportProblem, ImportRow, read_records
from sync_engine.policy import NEEDS_ATTENTION
from sync_engine.records import (
    apply_correction,
    changed_fields,
    chunked,
    insert_new,
    known_source_ids,
)
from sync_engine.results import ImportResult

if TYPE_CHECKING:
    from sync_engine.engine import SyncEngine

CHUNK = 1000


def import_file(engine: SyncEngine, path: Path, *, update: bool, by: str) -> ImportResult:
    """Import `path` in one transaction; any problem rolls all of it back and is reported."""
    if not path.is_file():
        raise ImportRejected([ImportProblem(0, "", f"{path} is not a readable file")])
    problems: list[ImportProblem] = []
    duplicates: list[str] = []
    to_correct: list[tuple[ImportRow, Record]] = []
    imported = 0
    with engine.sessions() as session, session.begin():
        for chunk in chunked(read_records(path), CHUNK):
            problems += [x for x in chunk if isinstance(x, ImportProblem)]
            if problems:
                continue  # keep reading to list every problem; nothing will be kept
            rows = [x for x in chunk if isinstance(x, ImportRow)]
            known = known_source_ids(session, (r.posting.source_id for r in rows))
            for row in rows:
                if row.posting.source_id in known and update:
                    to_correct.append((row, known[row.posting.source_id]))
                elif row.posting.source_id in known:
                    duplicates.append(row.posting.source_id)
            fresh = [r.posting for r in rows if r.posting.source_id not in known]
            imported += insert_new(session, fresh, engine.clock())
        corrected, unchanged = _correct(engine, session, to_correct, problems, by)
        if problems:
            session.rollback()
            raise ImportRejected(problems)
    return ImportResult(imported, tuple(duplicates), tuple(corrected), tuple(unchanged))


def _correct(
    engine: SyncEngine,
    session: Session,
    rows: list[tuple[ImportRow, Record]],
    problems: list[ImportProblem],
    by: str,
) -> tuple[list[str], list[str]]:
    corrected: list[str] = []
    unchanged: list[str] = []
    for row, record in rows:
        if not changed_fields(record, row.posting):
            unchanged.append(record.source_id)
            continue
        refusal = _refusal(engine, session, record)
        if refusal:
            problems.append(ImportProblem(row.line, "source_id", refusal))
            continue
        apply_correction(session, record, row.posting, by, engine.clock())
        corrected.append(record.source_id)
    return corrected, unchanged


def _refusal(engine: SyncEngine, session: Session, record: Record) -> str | None:
    """Why `record` may not be corrected now, or None if it may."""
    entry = session.get(SyncLogEntry, record.id)
    assert entry is not None
    name = record.source_id
    stuck = entry.state == FAILED and entry.error_class == NEEDS_ATTENTION
    if not (stuck or entry.state == PENDING):
        why = f"is {entry.state}" + (f" ({entry.error_class})" if entry.error_class else "")
        return (
            f"{name} {why}; only a record refused as needs_attention (or not yet sent) "
            "can be corrected"
        )
    try:
        ref = engine.gateway.lookup(record.idempotency_key)
    except GatewayUnreachable as exc:
        return f"{name} cannot be corrected now: the gateway could not be asked ({exc})"
    if ref is not None:
        return f"{name} is already booked in the ledger as {ref}; it cannot be corrected"
    return None
