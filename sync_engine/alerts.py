"""The alert outbox, read by the running bot: failures grouped into bursts, one message each.

The engine writes an outbox row when a record fails for the first time or is parked (in the
same transaction as the failure). Whichever process holds the flushing lease turns the oldest
unposted rows into a draft: a new alert, or the burst's alert to update in place when the rows
came within 60 seconds of its first failure. Once Slack has the message, `posted` keeps its
`ts` and marks the rows, so any process can update it next, and nothing is posted twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import alerts as store
from storage.alerts import OutboxRow
from storage.db import Database
from storage.models import AlertMessage
from storage.vocabulary import AlertKind, MessageKind
from sync_engine import queries
from sync_engine.alert_payloads import AlertRecord, record_from_payload, record_payload
from sync_engine.contract import parse_time
from sync_engine.pause_alerts import PauseDraft, next_pause_draft

BURST = timedelta(seconds=60)
SHOWN = 5
READ_AT_ONCE = 500
FLUSH_LEASE = "alert_outbox"
RECORD_KINDS = (AlertKind.FIRST_FAILURE, AlertKind.PARKED)


@dataclass(frozen=True)
class AlertDraft:
    """An alert to post (`ts` None) or to update in place, and the outbox rows it takes in."""

    alert_id: int | None
    channel: str
    ts: str | None
    opened_at: datetime
    failed: int
    parked: int
    shown: tuple[AlertRecord, ...]
    outbox_ids: tuple[int, ...]
    queue_total: int

    @property
    def more(self) -> int:
        """Records in the burst that the alert does not show one by one."""
        return max(0, self.failed + self.parked - len(self.shown))


@dataclass(frozen=True)
class OutageDraft:
    """The gateway-down message to post, or (`recovered`) to update in place at `ts`."""

    kind: str  # outage recovered
    channel: str
    alert_id: int | None
    ts: str | None
    since: datetime
    until: datetime | None
    reason: str
    returned: int  # records parked by an auth failure, back in the queue
    outbox_ids: tuple[int, ...]


class Alerts:
    """The outbox's reader: a lease for one flusher at a time, drafts, and marking them posted."""

    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database, self.clock = database, clock

    def take_turn(self, owner: str, seconds: float) -> bool:
        """Hold the flushing lease for `seconds` (renewing it if `owner` holds it already)."""
        now = self.clock()
        until = now + timedelta(seconds=seconds)
        with self.database.transaction() as tx:
            if store.renew_lease(tx, FLUSH_LEASE, owner, now=now, until=until):
                return True
        # No row, or another process holds it: then creating the row fails.
        with self.database.transaction() as tx:
            return store.create_lease(tx, FLUSH_LEASE, owner, until=until)

    def give_up_turn(self, owner: str) -> None:
        """Let another process flush at once (on shutdown)."""
        with self.database.transaction() as tx:
            expired = self.clock() - timedelta(seconds=1)
            store.release_lease(tx, FLUSH_LEASE, owner, expired_at=expired)

    def queue_total(self) -> int:
        """How many records the failed queue holds now."""
        with self.database.reading() as session:
            return queries.failed_count(session)

    def pending(self) -> int:
        """How many outbox rows wait to be posted."""
        with self.database.reading() as session:
            return store.unposted_count(session)

    def next_draft(self, channel: str) -> AlertDraft | None:
        """The oldest unposted failures as one alert (their burst's, if it is open); or None."""
        with self.database.reading() as session:
            rows = store.oldest_unposted(session, RECORD_KINDS, READ_AT_ONCE)
            if not rows:
                return None
            first = min(r.created_at for r in rows)
            burst = store.latest_message(
                session, MessageKind.FAILURES, channel, until=first, after=first - BURST
            )
            opened = burst.opened_at if burst is not None else first
            taken = [r for r in rows if r.created_at < opened + BURST]
            return _merged(burst, taken, channel, opened, queries.failed_count(session))

    def next_outage_draft(self, channel: str) -> OutageDraft | None:
        """The oldest unposted outage or recovery message, or None.

        An outage's message replaces the per-record alerts of the minute before it that are
        still unposted: they are marked with it.
        """
        with self.database.reading() as session:
            oldest = store.oldest_unposted(session, (AlertKind.OUTAGE, AlertKind.RECOVERED), 1)
            if not oldest:
                return None
            row = oldest[0]
            payload = json.loads(row.payload)
            since = parse_time(payload["since"])
            ids = [row.id]
            if row.kind == AlertKind.OUTAGE:
                ids += store.unposted_ids_since(session, RECORD_KINDS, since - BURST)
                message = None
            else:
                message = store.latest_message(session, MessageKind.OUTAGE, channel, until=since)
            until = payload.get("until")
            return OutageDraft(
                kind=row.kind,
                channel=channel,
                alert_id=message.id if message else None,
                ts=message.ts if message else None,
                since=since,
                until=parse_time(until) if until else None,
                reason=str(payload.get("reason") or ""),
                returned=int(payload.get("returned") or 0),
                outbox_ids=tuple(ids),
            )

    def posted_outage(self, draft: OutageDraft, ts: str | None) -> int:
        """Keep the outage message's `ts` (None: dropped) and mark its outbox rows."""
        values = {"channel": draft.channel, "ts": ts}
        first = {
            "kind": MessageKind.OUTAGE,
            "opened_at": draft.since,
            "failed": 0,
            "parked": 0,
            "shown": "[]",
        }
        return self._keep(draft.alert_id, values, first, draft.outbox_ids)

    def next_pause_draft(self, channel: str) -> PauseDraft | None:
        """The oldest unposted message of a pause the ledger imposed, or None."""
        with self.database.reading() as session:
            return next_pause_draft(session, channel)

    def posted_pause(self, draft: PauseDraft, ts: str | None) -> int:
        """Keep the pause message's `ts` (None: dropped) and mark its outbox row."""
        first = {
            "kind": MessageKind.LEDGER_PAUSED,
            "opened_at": self.clock(),
            "failed": 0,
            "parked": 0,
            "shown": "[]",
        }
        values = {"channel": draft.channel, "ts": ts}
        return self._keep(None, values, first, draft.outbox_ids)

    def posted(self, draft: AlertDraft, ts: str | None) -> int:
        """Keep the alert's `ts` (None: dropped) and mark its outbox rows; the alert's id."""
        values = {
            "channel": draft.channel,
            "ts": ts,
            "failed": draft.failed,
            "parked": draft.parked,
            "shown": json.dumps([record_payload(r) for r in draft.shown]),
        }
        return self._keep(draft.alert_id, values, {"opened_at": draft.opened_at}, draft.outbox_ids)

    def _keep(
        self,
        alert_id: int | None,
        values: Mapping[str, object],
        first: Mapping[str, object],
        outbox_ids: Sequence[int],
    ) -> int:
        """Insert the message (with `first` too) or update it; mark its outbox rows posted."""
        now = self.clock()
        values = {**values, "updated_at": now}
        with self.database.transaction() as tx:
            if alert_id is None:
                alert_id = store.add_message(tx, {**values, **first})
            else:
                store.update_message(tx, alert_id, values)
            store.mark_posted(tx, outbox_ids, alert_id, now)
        return alert_id


def _merged(
    burst: AlertMessage | None,
    taken: Sequence[OutboxRow],
    channel: str,
    opened: datetime,
    total: int,
) -> AlertDraft:
    """The burst's alert so far (if any) with the outbox rows `taken` added to it."""
    shown = {p["source_id"]: p for p in json.loads(burst.shown)} if burst else {}
    failed, parked = (burst.failed, burst.parked) if burst else (0, 0)
    for r in taken:
        payload = json.loads(r.payload) | {"parked": r.kind == AlertKind.PARKED}
        parked += r.kind == AlertKind.PARKED
        failed += r.kind != AlertKind.PARKED
        # A record shown as failed and now parked is shown once, as parked.
        if payload["source_id"] in shown or len(shown) < SHOWN:
            shown[payload["source_id"]] = payload
    return AlertDraft(
        alert_id=burst.id if burst else None,
        channel=channel,
        ts=burst.ts if burst else None,
        opened_at=opened,
        failed=failed,
        parked=parked,
        shown=tuple(record_from_payload(p) for p in shown.values()),
        outbox_ids=tuple(r.id for r in taken),
        queue_total=total,
    )
