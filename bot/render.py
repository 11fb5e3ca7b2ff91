"""Engine results as JSON-ready dicts and rich tables, for the command line.

Record and gateway text is data, never markup: every such cell is a rich `Text` (rich reads
no `[...]` tags or `:emoji:` codes in it), and control characters are shown escaped, so no
payee name or error can restyle, rewrite or hide what the terminal shows.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from bot.ledger_names import ledger_name, the_ledger
from sync_engine import LedgerLink, LedgerPause
from sync_engine.contract import format_time
from sync_engine.results import (
    Failed,
    FailedRecord,
    History,
    ImportResult,
    LedgerView,
    Outage,
    RetryResult,
    Status,
)

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

FULL_ROWS = 50  # up to this many results a retry's every row is printed; above, a summary
FIRST_FAILURES = 20  # the failures a summary shows
WRITE_CHUNK = 1 << 16  # a streamed answer is written in pieces of about this many characters
REST_COMMAND = "syncbot failed"  # lists the whole failed queue, with --json for scripts
# C0 and C1 control characters (and DEL) as visible escapes: a terminal would obey them.
_SCALAR = json.JSONEncoder(ensure_ascii=False).encode
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}


def visible(text: object) -> str:
    """`text` for a terminal: control characters escaped, so that it can only be read."""
    return str(text).translate(_CONTROLS)


def cell(text: object, style: str = "") -> Text:
    """A table cell of data: shown as it is, never read as rich markup or emoji codes."""
    from rich.text import Text

    return Text(visible(text), style=style)


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


def outage_line(outage: Outage | None, ledger: LedgerView | None = None) -> str:
    """Whether the ledger (the gateway unless `ledger` says otherwise) is held to be down, in
    one line."""
    name = ledger_name(ledger)
    if outage is None:
        return f"{name}: up (no outage)"
    return (
        f"{name}: DOWN since {when(outage.since)} ({visible(outage.reason)}); automatic sends are "
        f"paused until a probe is answered (next probe {when(outage.next_probe_at)}); "
        "retries by hand still send"
    )


def pause_line(pause: LedgerPause) -> str:
    """The pause the ledger imposes (its daily budget spent), in one line."""
    return (
        f"sending PAUSED until {when(pause.until)}: {visible(pause.reason)}; automatic sends "
        "wait until then and manual retries are refused"
    )


def ledger_line(view: LedgerView | None) -> str:
    """The ledger syncbot posts to, its company, and whether it must be reconnected."""
    if view is None or view.connection == LedgerLink.NOT_NEEDED:
        return f"ledger: {view.name if view else 'gateway'}"
    company = visible(view.company_name) if view.company_name else "company"
    where = f"{view.name}, {company} ({visible(view.company_id)})" if view.company_id else view.name
    if view.reconnect_required:
        return f"ledger: {where}: RECONNECT REQUIRED: run `{view.connect_command}`"
    if view.connection != LedgerLink.CONNECTED:
        return f"ledger: {where}: not connected: run `{view.connect_command}`"
    return f"ledger: {where}: connected"


class Streamed:
    """A JSON array written item by item as `json_chunks` reaches it, never held as a whole."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def json_chunks(value: Any, depth: int = 0) -> Iterator[str]:
    """`value` as JSON text in pieces, as `json.dumps(plain(value), indent=2)` would write it.

    A `Streamed` array's items are converted one at a time, so an answer of 100,000 records
    never exists as one string or one list of dicts.
    """
    pad = "\n" + "  " * (depth + 1)
    if isinstance(value, dict) and value:
        opener = "{"
        for key, item in value.items():
            yield f"{opener}{pad}{json.dumps(key, ensure_ascii=False)}: "
            yield from json_chunks(item, depth + 1)
            opener = ","
        yield "\n" + "  " * depth + "}"
    elif isinstance(value, Streamed):
        opener = "["
        for item in value.items:
            yield opener + pad
            yield from json_chunks(item, depth + 1)
            opener = ","
        yield "[]" if opener == "[" else "\n" + "  " * depth + "]"
    else:
        converted = plain(value)
        yield _flat_object(converted, depth) or _indented(converted, depth)


def _indented(value: Any, depth: int) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return text.replace("\n", "\n" + "  " * depth) if depth else text


def _flat_object(value: Any, depth: int) -> str | None:
    # An object of plain values (one record's result) in the same layout, by the C encoder:
    # with `indent`, json.dumps uses its Python encoder, three times slower on 100,000 items.
    if not isinstance(value, dict) or not value:
        return None
    if not all(isinstance(v, str | int | float | bool | None) for v in value.values()):
        return None
    pad = "\n" + "  " * (depth + 1)
    fields = ",".join(f"{pad}{_SCALAR(k)}: {_SCALAR(v)}" for k, v in value.items())
    return "{" + fields + "\n" + "  " * depth + "}"


def emit(data: Any) -> None:
    """Write a JSON answer to stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def emit_stream(data: Any) -> None:
    """Write a JSON answer to stdout as it is converted (its `Streamed` arrays item by item)."""
    out = sys.stdout
    pending: list[str] = []
    size = 0
    for chunk in json_chunks(data):
        pending.append(chunk)
        size += len(chunk)
        if size >= WRITE_CHUNK:
            out.write("".join(pending))
            pending, size = [], 0
    out.write("".join(pending) + "\n")
    out.flush()


def show(*renderables: RenderableType) -> None:
    """Print rich renderables to stdout; plain strings are not read as markup either."""
    from rich.console import Console

    console = Console(markup=False, emoji=False, highlight=False)
    for renderable in renderables:
        console.print(renderable)


def say(text: str, err: bool = False) -> None:
    """Print one line that may hold record, gateway or personal text, control codes escaped."""
    click.echo(visible(text), err=err)


def retry_stream(result: RetryResult) -> dict[str, Any]:
    """The answer of `syncbot retry --json`, its lists to be streamed by `json_chunks`."""
    return {
        "retry_event_id": result.retry_event_id,
        "succeeded": Streamed(result.succeeded),
        "failed": Streamed(result.failed),
        "skipped": Streamed(result.skipped),
    }


def failed_table(records: list[FailedRecord]) -> Table:
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
            cell(r.source_id),
            cell(r.kind),
            cell(r.payee_name),
            cell(f"{r.amount} {r.currency}"),
            cell(r.error_class or "-"),
            cell(r.last_error or "-"),
            cell(r.retry_count),
            cell(nxt),
        )
    return table


def result_count(result: RetryResult) -> int:
    """How many rows a retry's result has: records sent, and records skipped."""
    return len(result.succeeded) + len(result.failed) + len(result.skipped)


def retry_report(result: RetryResult, title: str) -> RenderableType:
    """A retry's result: every row up to `FULL_ROWS` results, a summary above that."""
    if result_count(result) <= FULL_ROWS:
        return retry_table(result, title)
    return retry_summary(result, title)


def retry_table(result: RetryResult, title: str) -> Table:
    """A rich table of one retry's results, record by record."""
    from rich.table import Table

    table = Table(title=cell(title))
    for name in ("source_id", "result", "detail"):
        table.add_column(name, overflow="fold")
    for s in result.succeeded:
        table.add_row(cell(s.source_id), cell("succeeded", "green"), cell(s.accounting_ref))
    for f in result.failed:
        table.add_row(cell(f.source_id), cell("failed", "red"), cell(failure_detail(f)))
    for k in result.skipped:
        table.add_row(cell(k.source_id), cell("skipped", "yellow"), cell(k.reason))
    return table


def failure_detail(failed: Failed) -> str:
    """A failed record's error, retry count and what happens next."""
    nxt = "parked" if failed.parked else f"next automatic retry {when(failed.next_attempt_at)}"
    return f"{failed.error} (retry {failed.retry_count}; {nxt})"


def retry_summary(result: RetryResult, title: str) -> RenderableType:
    """Counts by outcome and error class, the first failures, and where to see the rest."""
    from rich.console import Group
    from rich.table import Table

    failed = result.failed
    lines: list[RenderableType] = [
        cell(title, "bold"),
        cell(
            f"{result_count(result):,} results: {len(result.succeeded):,} succeeded, "
            f"{len(failed):,} failed, {len(result.skipped):,} skipped"
        ),
    ]
    if failed:
        by_class = Counter(f.error_class for f in failed)
        lines.append(cell("failed by error class: " + counted(by_class)))
        table = Table(title=cell(f"The first {min(len(failed), FIRST_FAILURES)} failures"))
        for name in ("source_id", "class", "detail"):
            table.add_column(name, overflow="fold")
        for f in failed[:FIRST_FAILURES]:
            table.add_row(cell(f.source_id), cell(f.error_class, "red"), cell(failure_detail(f)))
        lines.append(table)
    if result.skipped:
        lines.append(cell("skipped: " + counted(Counter(k.reason for k in result.skipped))))
    if len(failed) > FIRST_FAILURES:
        lines.append(
            cell(
                f"{len(failed) - FIRST_FAILURES:,} more failures: `{REST_COMMAND}` lists every "
                f"record in the failed queue (`{REST_COMMAND} --error-class CLASS` by class)"
            )
        )
    return Group(*lines)


def counted(counts: Counter[str]) -> str:
    """`a 3, b 1`, the most common first."""
    return ", ".join(f"{name} {n:,}" for name, n in counts.most_common())


def held_back_line(
    held_back: int, ledger: LedgerView | None = None, pause: LedgerPause | None = None
) -> str:
    """What a sync did not send because the ledger (the gateway unless `ledger` says
    otherwise) is held to be down, or imposes a pause."""
    if pause is not None:
        return f"held back {held_back:,} record(s) until {when(pause.until)}: nothing was sent"
    return (
        f"held back {held_back:,} record(s) until {the_ledger(ledger)} answers a probe: nothing "
        "was sent "
        "(`syncbot retry --all` sends the failed ones by hand)"
    )


def history_table(history: History) -> Table:
    """A rich table of one record's attempts."""
    from rich.table import Table

    title = (
        f"{history.source_id}: {history.state}"
        + (f" ({history.accounting_ref})" if history.accounting_ref else "")
        + f", {history.amount} {history.currency} to {history.payee_name}"
    )
    table = Table(title=cell(title))
    for name in ("at", "trigger", "outcome", "HTTP", "error", "retry event"):
        table.add_column(name, overflow="fold")
    for a in history.attempts:
        table.add_row(
            cell(when(a.at)),
            cell(a.trigger),
            cell(a.outcome),
            cell(a.http_status or "-"),
            cell(a.error or a.accounting_ref or "-"),
            cell(a.retry_event_id or "-"),
        )
    return table
