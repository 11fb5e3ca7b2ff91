"""Engine results as JSON-ready dicts and rich tables, for the command line."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sync_engine.contract import format_time
from sync_engine.results import (
    FailedRecord,
    History,
    ImportResult,
    Outage,
    RetryResult,
    Status,
)


def plain(value: Any) -> Any:
    """Decimals as strings, times as ISO 8601 UTC, dataclasses as dicts, recursively."""
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    return value


def failed_json(record: FailedRecord) -> dict[str, Any]:
    """One row of `syncbot failed --json`."""
    return plain(record)  # type: ignore[no-any-return]


def retry_json(result: RetryResult) -> dict[str, Any]:
    """The answer of `syncbot retry --json`."""
    return {
        "retry_event_id": result.retry_event_id,
        "succeeded": plain(result.succeeded),
        "failed": plain(result.failed),
        "skipped": plain(result.skipped),
    }


def history_json(history: History) -> dict[str, Any]:
    """The answer of `syncbot history --json`."""
    data = plain(history)
    data["sync_log"] = {
        "state": data.pop("sync_log_state"),
        "retry_event_id": data.pop("sync_log_retry_event_id"),
        "updated_at": data.pop("sync_log_updated_at"),
    }
    return data  # type: ignore[no-any-return]


def status_json(status: Status) -> dict[str, Any]:
    """The answer of `syncbot status --json`."""
    return plain(status)  # type: ignore[no-any-return]


def import_json(result: ImportResult) -> dict[str, Any]:
    """The answer of `syncbot import --json`."""
    return plain(result)  # type: ignore[no-any-return]


def when(value: datetime | None) -> str:
    """A time for a table cell."""
    return format_time(value) if value else "-"


def outage_line(outage: Outage | None) -> str:
    """Whether the gateway is held to be down, in one line."""
    if outage is None:
        return "gateway: up (no outage)"
    return (
        f"gateway: DOWN since {when(outage.since)} ({outage.reason}); automatic sends are "
        f"paused until a probe is answered (next probe {when(outage.next_probe_at)}); "
        "retries by hand still send"
    )


def failed_table(records: list[FailedRecord]) -> Any:
    """A rich table of failed records."""
    from rich.table import Table

    table = Table(title=f"Failed records ({len(records)})")
    for name in (
        "source_id",
        "kind",
        "payee",
        "amount",
        "class",
        "latest error",
        "retries",
        "next",
    ):
        table.add_column(name, overflow="fold")
    for r in records:
        nxt = "parked" if r.parked else when(r.next_attempt_at)
        table.add_row(
            r.source_id,
            r.kind,
            r.payee_name,
            f"{r.amount} {r.currency}",
            r.error_class or "-",
            r.last_error or "-",
            str(r.retry_count),
            nxt,
        )
    return table


def retry_table(result: RetryResult, title: str) -> Any:
    """A rich table of one retry's results, record by record."""
    from rich.table import Table

    table = Table(title=title)
    for name in ("source_id", "result", "detail"):
        table.add_column(name, overflow="fold")
    for s in result.succeeded:
        table.add_row(s.source_id, "[green]succeeded[/]", s.accounting_ref)
    for f in result.failed:
        nxt = "parked" if f.parked else f"next automatic retry {when(f.next_attempt_at)}"
        table.add_row(f.source_id, "[red]failed[/]", f"{f.error} (retry {f.retry_count}; {nxt})")
    for k in result.skipped:
        table.add_row(k.source_id, "[yellow]skipped[/]", k.reason)
    return table


def history_table(history: History) -> Any:
    """A rich table of one record's attempts."""
    from rich.table import Table

    title = (
        f"{history.source_id}: {history.state}"
        + (f" ({history.accounting_ref})" if history.accounting_ref else "")
        + f", {history.amount} {history.currency} to {history.payee_name}"
    )
    table = Table(title=title)
    for name in ("at", "trigger", "outcome", "HTTP", "error", "retry event"):
        table.add_column(name, overflow="fold")
    for a in history.attempts:
        table.add_row(
            when(a.at),
            a.trigger,
            a.outcome,
            str(a.http_status or "-"),
            a.error or a.accounting_ref or "-",
            str(a.retry_event_id or "-"),
        )
    return table
