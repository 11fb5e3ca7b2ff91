"""The background scheduler `syncbot serve` runs: the sync tick and posting the alert outbox.

Every job runs at most once at a time (`max_instances=1`); a run that is late merges with the
ones it missed (`coalesce`) instead of stacking, and one later than its grace is skipped, so a
slow tick delays the next one and never overlaps it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.logs import log_with_id
from sync_engine import Via

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.slack.alert_poster import AlertPoster
    from sync_engine.engine import SyncEngine
    from sync_engine.results import SyncResult

log = logging.getLogger(__name__)

POST_ALERTS = "post_alerts"
SYNC = "sync"


def sync_tick(engine: SyncEngine) -> SyncResult | None:
    """One tick: expired leases back to the queue, pending records sent, due retries retried
    (one `auto` retry event, via=scheduler); paused, with a probe instead, during an outage."""
    try:
        # The scheduler asks for itself: it is both who asked and how, on a tick's retry events.
        result = engine.sync(requested_by=Via.SCHEDULER, via=Via.SCHEDULER)
    except Exception:
        log_with_id(log, "the sync tick failed")
        return None
    if result.outage is not None:
        log.warning(
            "gateway down since %s: automatic sends paused (%s)",
            result.outage.since,
            result.outage.reason,
        )
    if result.paused is not None:
        log.warning(
            "ledger paused until %s: automatic sends wait (%s)",
            result.paused.until,
            result.paused.reason,
        )
    return result


def start_scheduler(
    engine: SyncEngine,
    poster: AlertPoster | None,
    *,
    sync_interval: float,
    alert_interval: float,
) -> BackgroundScheduler:
    """A started scheduler with the sync tick and (with an alerts channel) the alert job."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=UTC)
    now = datetime.now(UTC)
    scheduler.add_job(
        sync_tick,
        "interval",
        args=[engine],
        seconds=sync_interval,
        id=SYNC,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(sync_interval)),
        next_run_time=now + timedelta(seconds=sync_interval),
    )
    if poster is not None:
        scheduler.add_job(
            poster.run,
            "interval",
            seconds=alert_interval,
            id=POST_ALERTS,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(alert_interval * 2)),
            next_run_time=now,
        )
    scheduler.start()
    return scheduler
