"""What the engine tells operators: Prometheus metrics and one structured log line per event.

Each engine has its own registry (so two engines in one process, as in tests, never share
counts); `syncbot serve` exposes it at `GET /metrics`. Counters and histograms are this
process's own; the records by state and the outage are read from the database at each scrape,
so every replica reports the same figures for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.queue import Claimed
from sync_engine.post_result import PostResult
from sync_engine.results import RetryResult, Status

log = logging.getLogger(__name__)

GATEWAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RETRY_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class Telemetry:
    """The engine's metrics registry and its structured log lines."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.attempts = Counter(
            "syncbot_attempts",
            "Attempts to post a record, by outcome, error class and trigger",
            ["outcome", "error_class", "trigger"],
            registry=self.registry,
        )
        self.retry_seconds = Histogram(
            "syncbot_retry_event_duration_seconds",
            "How long retry events took, from asking to the last answer written",
            ["kind", "via"],
            buckets=RETRY_BUCKETS,
            registry=self.registry,
        )
        self.gateway_seconds = Histogram(
            "syncbot_gateway_request_duration_seconds",
            "Time to the gateway's answer, per request (a batch is one request)",
            ["route"],
            buckets=GATEWAY_BUCKETS,
            registry=self.registry,
        )

    def read_state_from(self, status: Callable[[], Status]) -> None:
        """Report records by state and the outage, read through `status` at each scrape."""
        self.registry.register(_StateCollector(status))

    def gateway_answered(self, route: str, seconds: float) -> None:
        """One request's round trip."""
        self.gateway_seconds.labels(route).observe(seconds)

    def attempted(
        self, claimed: list[Claimed], results: list[PostResult], trigger: str, event: int | None
    ) -> None:
        """Count each attempt, and log one line for each."""
        detailed = log.isEnabledFor(logging.INFO)
        by_key = {r.idempotency_key: r for r in results}  # a batch answers in any order
        for item in claimed:
            result = by_key[item.record.idempotency_key]
            error_class = result.error_class or "none"
            self.attempts.labels(result.outcome, error_class, trigger).inc()
            if detailed:
                log.info(
                    "attempt %s %s",
                    item.record.source_id,
                    result.outcome,
                    extra={
                        "event": "attempt",
                        "source_id": item.record.source_id,
                        "outcome": result.outcome,
                        "http_status": result.http_status,
                        "error_class": result.error_class,
                        "error": result.error,
                        "accounting_ref": result.accounting_ref,
                        "trigger": trigger,
                        "retry_event_id": event,
                    },
                )

    def retry_event(
        self,
        result: RetryResult,
        *,
        kind: str,
        via: str,
        requested_by: str,
        started: datetime,
        finished: datetime,
    ) -> None:
        """Time one retry event and log its line."""
        seconds = max(0.0, (finished - started).total_seconds())
        self.retry_seconds.labels(kind, via).observe(seconds)
        log.info(
            "retry event %s (%s via %s): %d succeeded, %d failed, %d skipped",
            result.retry_event_id,
            kind,
            via,
            len(result.succeeded),
            len(result.failed),
            len(result.skipped),
            extra={
                "event": "retry_event",
                "retry_event_id": result.retry_event_id,
                "kind": kind,
                "via": via,
                "requested_by": requested_by,
                "succeeded": len(result.succeeded),
                "failed": len(result.failed),
                "skipped": len(result.skipped),
                "seconds": round(seconds, 3),
            },
        )


class _StateCollector(Collector):
    """Records by state, the failed queue by error class, parked records, the outage."""

    def __init__(self, status: Callable[[], Status]) -> None:
        self.status = status

    def collect(self):  # type: ignore[no-untyped-def]
        status = self.status()
        states = GaugeMetricFamily("syncbot_records", "Records by sync state", labels=["state"])
        for state, n in status.by_state.items():
            states.add_metric([state], n)
        classes = GaugeMetricFamily(
            "syncbot_failed_records", "The failed queue by error class", labels=["error_class"]
        )
        for error_class, n in status.by_error_class.items():
            classes.add_metric([error_class], n)
        yield states
        yield classes
        yield GaugeMetricFamily(
            "syncbot_parked_records", "Failed records parked (no automatic retry)", status.parked
        )
        outage = status.outage
        yield GaugeMetricFamily(
            "syncbot_gateway_outage",
            "1 while the gateway is held to be down (automatic attempts paused)",
            1 if outage else 0,
        )
        yield GaugeMetricFamily(
            "syncbot_gateway_outage_since_seconds",
            "When the current outage began (Unix time), 0 without one",
            outage.since.timestamp() if outage else 0,
        )
