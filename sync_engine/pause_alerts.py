"""A pause the ledger imposes (its daily budget spent), told to the admins once.

A sync that sees a pause puts one `ledger_paused` row in the alert outbox; a later sync, or
another process, that sees the same pause (the same `until`) adds none. The check and the
insert share one transaction that holds the status row's lock (SQLite's write lock), so of two
processes only the first writes. A pause ending needs no message: sending simply resumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from storage import alerts as store
from storage.db import Database, Tx
from storage.vocabulary import AlertKind
from sync_engine.alert_payloads import outbox_row, pause_from_payload, pause_payload
from sync_engine.ledger import LedgerPause


@dataclass(frozen=True)
class PauseDraft:
    """The pause message to post in `channel`, and the outbox row it tells of."""

    channel: str
    until: datetime
    reason: str
    outbox_ids: tuple[int, ...]


def note_pause(database: Database, pause: LedgerPause, now: datetime) -> bool:
    """Put the pause's one alert in the outbox unless it is there already; whether it was put."""
    with database.transaction() as tx:
        store.lock_for_once(tx)
        last = noted_pause(tx)
        if last is not None and last.until == pause.until:
            return False
        store.add_outbox_row(tx, outbox_row(AlertKind.LEDGER_PAUSED, pause_payload(pause), now))
    return True


def noted_pause(tx: Tx, now: datetime | None = None) -> LedgerPause | None:
    """The newest pause a sync noted (still in force at `now`, if given), or None."""
    payload = store.latest_payload(tx, AlertKind.LEDGER_PAUSED)
    if payload is None:
        return None
    pause = pause_from_payload(json.loads(payload))
    return pause if now is None or pause.until > now else None


def next_pause_draft(tx: Tx, channel: str) -> PauseDraft | None:
    """The oldest unposted pause message, or None."""
    oldest = store.oldest_unposted(tx, (AlertKind.LEDGER_PAUSED,), 1)
    if not oldest:
        return None
    pause = pause_from_payload(json.loads(oldest[0].payload))
    return PauseDraft(channel, pause.until, pause.reason, (oldest[0].id,))
