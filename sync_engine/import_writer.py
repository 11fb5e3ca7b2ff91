"""Importing a file of approved records: all or nothing, streaming, corrections with --update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from storage.bulk import Intake
from storage.db import Database, Tx
from storage.models import Record
from storage.records import get_entry, get_record
from storage.vocabulary import ErrorClass, State
from sync_engine.errors import GatewayUnreachable, ImportRejected
from sync_engine.import_rows import ImportProblem, ImportRow, read_records
from sync_engine.outage import LOOKUP_ANSWERED
from sync_engine.records import apply_correction, changed_fields, chunked, new_rows
from sync_engine.results import ImportResult

CHUNK = 5000  # rows per statement
READ_CHUNK = 250  # rows read between conversions to tuples: they die young


@dataclass(frozen=True)
class ImportChunks:
    """How many rows go to one statement, and how many are read between conversions."""

    rows: int = CHUNK
    read: int = READ_CHUNK


@dataclass(frozen=True)
class ImportPorts:
    """What an import needs from the engine, passed in so that it never imports the engine."""

    db: Database
    clock: Callable[[], datetime]
    lookup: Callable[[str], str | None]  # the ledger's reference for an idempotency key
    gateway_answered: Callable[[str], None]


def import_file(
    ports: ImportPorts,
    path: Path,
    *,
    update: bool,
    by: str,
    chunks: ImportChunks = ImportChunks(),  # noqa: B008 - frozen, so one shared default is safe
) -> ImportResult:
    """Import `path` in one transaction; any problem rolls all of it back and is reported."""
    if not path.is_file():
        raise ImportRejected([ImportProblem(0, "", f"{path} is not a readable file")])
    found = _Found()
    try:
        with ports.db.session() as session, session.begin():
            with Intake(session.connection(), ports.clock()) as intake:
                added = _read_into(intake, path, found, update, chunks)
                duplicates = [source_id for source_id, _ in intake.known()]
            corrected, unchanged = _correct(ports, session, found, by)
            if found.problems:
                session.rollback()
                raise ImportRejected(found.problems)
    finally:
        # After the import's transaction, which holds SQLite's one write lock.
        if found.gateway_answered:
            ports.gateway_answered(LOOKUP_ANSWERED)
    imported = added - len(duplicates) - len(found.to_correct)
    return ImportResult(imported, tuple(duplicates), tuple(corrected), tuple(unchanged))


@dataclass
class _Found:
    """What reading a file found besides new records."""

    problems: list[ImportProblem] = field(default_factory=list)
    to_correct: list[tuple[ImportRow, int]] = field(default_factory=list)
    gateway_answered: bool = False  # a lookup was answered: the gateway is up


def _read_into(
    intake: Intake, path: Path, found: _Found, update: bool, chunks: ImportChunks
) -> int:
    """Hand the file's valid rows to `intake`, a chunk at a time; how many were handed over."""
    added = 0
    batch: list[tuple[object, ...]] = []
    held: list[ImportRow] = []  # with --update only: a stored record's row is its correction
    for items in chunked(read_records(path), chunks.read):
        found.problems += [x for x in items if isinstance(x, ImportProblem)]
        if found.problems:
            continue  # keep reading to list every problem; nothing will be kept
        rows = [x for x in items if isinstance(x, ImportRow)]
        # Plain tuples wait for the statement, not the rows: the garbage collector stops
        # tracking tuples of plain values, and full collections over thousands of waiting
        # objects cost a fifth of an import.
        batch += new_rows([row.posting for row in rows], intake.now)
        held += rows if update else []
        if len(batch) >= chunks.rows:
            added += _hand_over(intake, batch, held, found)
            batch, held = [], []
    return added + _hand_over(intake, batch, held, found)


def _hand_over(
    intake: Intake, batch: list[tuple[object, ...]], held: list[ImportRow], found: _Found
) -> int:
    intake.add(batch)
    if held:
        # A correction needs its row, so this waits for the chunk's answer (on PostgreSQL
        # that gives up the overlap of reading with storing, only with --update).
        known = dict(intake.known())
        found.to_correct += [
            (r, known[r.posting.source_id]) for r in held if r.posting.source_id in known
        ]
    return len(batch)


def _correct(
    ports: ImportPorts,
    session: Tx,
    found: _Found,
    by: str,
) -> tuple[list[str], list[str]]:
    corrected: list[str] = []
    unchanged: list[str] = []
    for row, record_id in found.to_correct:
        record = get_record(session, record_id)
        if not changed_fields(record, row.posting):
            unchanged.append(record.source_id)
            continue
        refusal = _refusal(ports, session, record, found)
        if refusal:
            found.problems.append(ImportProblem(row.line, "source_id", refusal))
            continue
        apply_correction(session, record, row.posting, by, ports.clock())
        corrected.append(record.source_id)
    return corrected, unchanged


def _refusal(ports: ImportPorts, session: Tx, record: Record, found: _Found) -> str | None:
    """Why `record` may not be corrected now, or None if it may."""
    entry = get_entry(session, record.id)
    name = record.source_id
    stuck = entry.state == State.FAILED and entry.error_class == ErrorClass.NEEDS_ATTENTION
    if not (stuck or entry.state == State.PENDING):
        why = f"is {entry.state}" + (f" ({entry.error_class})" if entry.error_class else "")
        return (
            f"{name} {why}; only a record refused as needs_attention (or not yet sent) "
            "can be corrected"
        )
    try:
        ref = ports.lookup(record.idempotency_key)
    except GatewayUnreachable as exc:
        return f"{name} cannot be corrected now: the gateway could not be asked ({exc})"
    found.gateway_answered = True
    if ref is not None:
        return f"{name} is already booked in the ledger as {ref}; it cannot be corrected"
    return None
