"""Read-side queries: the failed queue's pages, a record's history, status counts.

The statements are `storage.reads` and `storage.records`; this module turns their rows into
the engine's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage import connections, gateway_status, reads
from storage import records as stored
from storage.db import Tx
from storage.vocabulary import ConnectionState, ErrorClass, LedgerLink, State
from sync_engine.errors import UnknownRecord
from sync_engine.money import from_minor
from sync_engine.records import nameable
from sync_engine.results import (
    AttemptView,
    ChangeView,
    FailedPage,
    FailedRecord,
    History,
    LedgerView,
    Outage,
    RetryEventView,
    Status,
    retry_count,
)


def any_due(session: Tx, now: datetime) -> bool:
    """Whether any failed record's automatic retry has come (parked ones never come)."""
    return reads.count_due(session, now) > 0


def held_back(session: Tx, now: datetime) -> int:
    """Records an automatic run would send now: the pending ones and the failed ones due."""
    return reads.held_back(session, now)


def failed_queue_end(session: Tx) -> int | None:
    """The highest record id in the failed queue (the end of a snapshot of it), or None."""
    return reads.failed_queue_end(session)


def failed_queue_size(session: Tx) -> int:
    """How many records the failed queue holds, counted as a retry of all of it sees them."""
    return reads.failed_queue_size(session)


def states_of(session: Tx, source_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    """source_id -> (record id, sync state) for the known ones among `source_ids`."""
    source_ids = [s for s in source_ids if nameable(s)]
    found = stored.states_of(session, source_ids)
    return {s: found[s] for s in source_ids if s in found}


def source_ids(session: Tx, record_ids: Sequence[int]) -> list[str]:
    """The source_ids of these record ids, in the same order."""
    names = stored.source_ids(session, record_ids)
    return [names[r] for r in record_ids if r in names]


def record_ids(session: Tx, names: Sequence[str]) -> dict[str, int]:
    """source_id -> record id for these source_ids."""
    return stored.record_ids(session, names)


def failed_page(
    session: Tx, kind: str | None, error_class: str | None, after: int | None, limit: int
) -> FailedPage:
    """A keyset page of the failed queue, with every error message of each record."""
    rows = reads.page_rows(session, kind, error_class, after or 0, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    errors = reads.failure_messages(session, [row.record_id for row in rows])
    items = tuple(_failed_record(row, row, errors.get(row.record_id, [])) for row in rows)
    total = reads.queue_size(session, kind, error_class)
    return FailedPage(items, total, rows[-1].record_id if more else None)


def failed_count(session: Tx) -> int:
    """How many records the failed queue holds."""
    return reads.queue_size(session)


def _shared_fields(record: Any, entry: Any) -> dict[str, Any]:
    """What a queue row and a history both say of a record (a stored record and its sync
    log entry, or one row with the columns of both)."""
    return {
        "source_id": record.source_id,
        "kind": record.kind,
        "payee_id": record.payee_id,
        "payee_name": record.payee_name,
        "amount": from_minor(record.amount_minor, record.currency),
        "currency": record.currency,
        "state": entry.state,
        "error_class": entry.error_class,
        "retry_count": retry_count(entry.attempt_count),
        "next_attempt_at": entry.next_attempt_at,
        "parked": entry.parked,
    }


def _failed_record(record: Any, entry: Any, errors: list[str]) -> FailedRecord:
    return FailedRecord(
        **_shared_fields(record, entry), last_error=entry.last_error, errors=tuple(errors)
    )


def history(session: Tx, source_id: str) -> History:
    """Everything known of one record."""
    if not nameable(source_id):
        raise UnknownRecord([source_id])
    found = reads.record_and_entry(session, source_id)
    if found is None:
        raise UnknownRecord([source_id])
    record, entry = found
    attempts = reads.attempts_of(session, record.id)
    events = reads.retry_events_of(session, record.id)
    changes = reads.changes_of(session, record.id)
    return History(
        **_shared_fields(record, entry),
        accounting_ref=entry.accounting_ref,
        sync_log_state=entry.state,
        sync_log_retry_event_id=entry.retry_event_id,
        sync_log_updated_at=entry.updated_at,
        attempts=tuple(
            AttemptView(
                a.at,
                a.trigger,
                a.outcome,
                a.http_status,
                a.error,
                a.error_class,
                a.retry_event_id,
                a.accounting_ref,
            )
            for a in attempts
        ),
        retry_events=tuple(
            RetryEventView(e.id, e.kind, e.requested_by, e.via, e.at, result)
            for e, result in events
        ),
        changes=tuple(ChangeView(c.at, c.action, c.by, c.reason) for c in changes),
    )


def status(session: Tx) -> Status:
    """Counts by state and by error class of the failed queue, and the gateway's last answer."""
    by_state = dict.fromkeys([s.value for s in State], 0)
    by_state.update(reads.counts_by_state(session))
    by_class = dict.fromkeys([c.value for c in ErrorClass], 0)
    rows = reads.failed_counts_by_class(session)
    by_class.update({error_class: n for error_class, n in rows.items() if error_class})
    parked = reads.parked_count(session)
    gateway = reads.gateway_status(session)
    return Status(
        by_state=by_state,
        by_error_class=by_class,
        parked=parked,
        last_success_at=gateway.last_success_at if gateway else None,
        last_gateway_answer=gateway.last_answer if gateway else None,
        last_gateway_answer_at=gateway.last_answer_at if gateway else None,
        outage=current(session),
    )


def ledger_view(session: Tx, ledger: str, company_id: str | None) -> LedgerView:
    """The ledger, the company the settings name (else the one connected) and its connection's
    state, read without any token."""
    if ledger not in connections.CONNECTED_LEDGERS:
        return LedgerView(ledger, None, None, LedgerLink.NOT_NEEDED, False)
    companies = connections.company_states(session, ledger)
    if company_id:
        companies = [c for c in companies if c.company_id == company_id]
    if not companies:
        return LedgerView(ledger, company_id or None, None, LedgerLink.NOT_CONNECTED, False)
    # With no company named and several connected, the first one that needs a person shows.
    stuck = ConnectionState.RECONNECT_REQUIRED
    found = min(companies, key=lambda c: (c.state != stuck, c.company_id))
    return LedgerView(
        ledger, found.company_id, found.company_name, LedgerLink(found.state), found.state == stuck
    )


def current(session: Tx) -> Outage | None:
    """The outage in force, or None."""
    row = gateway_status.status(session)
    if row is None or row.outage_since is None:
        return None
    return Outage(row.outage_since, row.outage_reason or "", row.next_probe_at, row.probes)
