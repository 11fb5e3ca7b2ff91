"""The background scheduler `syncbot serve` runs: posting the alert outbox every few seconds.

Each job runs at most once at a time (`max_instances=1`); a run that is late merges with the
ones it missed (`coalesce`) instead of stacking, and one later than its grace is skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.slack.alert_poster import AlertPoster

POST_ALERTS = "post_alerts"


def start_scheduler(poster: AlertPoster | None, alert_interval: float) -> BackgroundScheduler:
    """A started scheduler with the alert job (when there is an alerts channel to post to)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": max(1, int(alert_interval * 2)),
        },
    )
    if poster is not None:
        scheduler.add_job(
            poster.run,
            "interval",
            seconds=alert_interval,
            id=POST_ALERTS,
            next_run_time=datetime.now(UTC),
        )
    scheduler.start()
    return scheduler
