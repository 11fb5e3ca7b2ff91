"""Signed Slack requests already served, so that a replayed one is refused on every replica.

A request's signature covers its timestamp and body, and Slack's signature is accepted for 5
minutes either side of its timestamp; so a signature seen once is kept until that window (plus
a margin for clocks that disagree between replicas) has passed, then pruned now and then.
Noting a signature is one `INSERT ... ON CONFLICT DO NOTHING`: of two replicas that receive the
same request at once, exactly one inserts the row, and only that one serves it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Insert, delete
from sqlalchemy.dialects import postgresql, sqlite

from storage.db import Database
from storage.models import SeenRequest

# Slack refuses a signature whose timestamp is more than this many seconds from now.
WINDOW_SECONDS = 300
# Kept this much longer, for a replica whose clock runs behind the one that noted it.
CLOCK_MARGIN_SECONDS = 60
PRUNE_EVERY_SECONDS = 60.0


class SeenRequests:
    """The signatures of requests served within Slack's window, in the shared database."""

    def __init__(
        self,
        database: Database,
        clock: Callable[[], float] = time.time,
        prune_every: float = PRUNE_EVERY_SECONDS,
    ) -> None:
        self._database = database
        self._clock = clock
        self._prune_every = prune_every
        self._lock = threading.Lock()
        self._next_prune = 0.0

    def first_sighting(self, signature: str, timestamp: int) -> bool:
        """Note a verified request; False if its signature was noted before (a replay)."""
        key = hashlib.sha256(signature.encode("utf-8", "surrogateescape")).hexdigest()
        now = self._clock()
        expires = _utc(timestamp + WINDOW_SECONDS + CLOCK_MARGIN_SECONDS)
        with self._database.transaction() as session:
            if self._prune_due(now):
                session.execute(delete(SeenRequest).where(SeenRequest.expires_at < _utc(now)))
            statement = _insert_if_absent(session.get_bind().dialect.name, key, expires)
            noted = session.execute(statement.returning(SeenRequest.signature_hash)).scalar()
        return noted is not None

    def _prune_due(self, now: float) -> bool:
        with self._lock:
            if now < self._next_prune:
                return False
            self._next_prune = now + self._prune_every
            return True


def _insert_if_absent(dialect: str, key: str, expires: datetime) -> Insert:
    # Each dialect's own INSERT: the generic one knows no ON CONFLICT.
    values = {"signature_hash": key, "expires_at": expires}
    conflict = [SeenRequest.signature_hash]
    if dialect == "postgresql":
        pg = postgresql.insert(SeenRequest).values(values)
        return pg.on_conflict_do_nothing(index_elements=conflict)
    lite = sqlite.insert(SeenRequest).values(values)
    return lite.on_conflict_do_nothing(index_elements=conflict)


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
