"""The `syncbot` command line: the engine's operations from a terminal, with `--json` for scripts.

Heavy imports happen inside each command, and each command imports only what it uses (a query
reads the database without the engine's gateway client), so `syncbot --help` starts quickly
and `syncbot status` answers quickly. What comes from records, the gateway or a person is
printed as data, never as markup (bot/render.py), and long answers stream.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.cli_connect import connect
from bot.cli_sims import gateway_sim, ledger_sim
from bot.cli_support import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    engine,
    fail,
    load_settings,
    load_slack_settings,
    progress_bar,
    reader,
    who,
)
from sync_engine import ErrorClass, Kind, State, Via

if TYPE_CHECKING:
    from sync_engine.database import Reader
    from sync_engine.results import FailedRecord, RetryResult

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "main", "tune_threads"]
json_option = click.option("--json", "as_json", is_flag=True, help="Answer in JSON for scripts.")
FAILED_PAGE = 500  # `syncbot failed` reads the queue this many rows at a time


@contextmanager
def one_line_usage_errors() -> Iterator[None]:
    """A bad option or a missing argument is bad input too: one line on stderr, exit 2."""
    try:
        yield
    except getattr(click.exceptions, "NoArgsIsHelpError", ()):
        raise  # `syncbot` or `syncbot db` alone: click shows the help
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        fail(f"{exc.format_message()}{hint}")


class OneLineUsageGroup(click.Group):
    """The top-level group: usage errors of any command become `fail`'s one-line reason."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        with one_line_usage_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_usage_errors():
            return super().invoke(ctx)


@click.group(cls=OneLineUsageGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """syncbot: get failed accounting syncs back into the ledger."""
    tune_threads()
    for stream in (sys.stdout, sys.stderr):
        # A lone surrogate in a gateway's answer is printed as an escape, not a crash (and
        # stays valid JSON: `\udc80` is JSON's own escape).
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def tune_threads() -> None:
    """Hand the interpreter lock over every millisecond instead of every five.

    The engine's sending threads spend their time waiting on sockets; when one wakes, it
    should not wait up to 5 ms behind a busy thread to read its answer. Measured on Retry All:
    about 10% more records a second (docs/performance.md).
    """
    sys.setswitchinterval(0.001)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to SYNCBOT_DATABASE_URL."""
    from sync_engine.database import upgrade_database

    click.echo(f"database is at revision {upgrade_database(load_settings())}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--update", is_flag=True, help="Correct known records refused as needs_attention.")
@json_option
def import_(file: str, update: bool, as_json: bool) -> None:
    """Import approved records from FILE (JSON array, JSON lines or CSV)."""
    from bot.render import emit, import_json, plain, say
    from sync_engine.errors import ImportRejected

    with engine() as eng:
        try:
            result = eng.import_file(file, update=update, by=who())
        except ImportRejected as exc:
            if as_json:
                emit({"imported": 0, "problems": plain(exc.problems)})
            for p in exc.problems:
                where = f"line {p.line}" + (f", {p.field}" if p.field else "")
                say(f"  {where}: {p.message}", err=True)
            fail(f"{file}: {exc}")
    if as_json:
        emit(import_json(result))
        return
    click.echo(f"imported {result.imported} record(s)")
    for label, names in (
        ("skipped as duplicates", result.duplicates),
        ("corrected", result.corrected),
        ("unchanged", result.unchanged),
    ):
        if names:
            say(f"{label} ({len(names)}): {', '.join(names[:20])}")


def finish_retry(result: RetryResult, as_json: bool, title: str) -> NoReturn:
    """Print a retry's result and exit 0 if every attempted record succeeded, else 1."""
    from bot.render import emit_stream, retry_report, retry_stream, show

    if as_json:
        emit_stream(retry_stream(result))
    else:
        show(retry_report(result, title))
    sys.exit(EXIT_FAILED if result.failed else EXIT_OK)


@main.command()
@json_option
def sync(as_json: bool) -> None:
    """Send pending records, then retry the failed ones whose backoff is due."""
    from bot.render import (
        emit_stream,
        held_back_line,
        outage_line,
        pause_line,
        result_count,
        retry_report,
        retry_stream,
        say,
        show,
    )

    with engine() as eng, progress_bar("syncing", not as_json) as progress:
        result = eng.sync(requested_by=who(), via=Via.CLI, progress=progress)
        # Read only when a line below names it ("QuickBooks: DOWN since ...").
        paused = result.outage is not None or result.held_back > 0
        ledger = eng.ledger_view() if paused and not as_json else None
    failed = result.initial.failed or result.retries.failed
    if as_json:
        emit_stream(
            {
                "initial": retry_stream(result.initial),
                "retries": retry_stream(result.retries),
                "recovered_leases": result.recovered_leases,
                "outage": result.outage,
                "held_back": result.held_back,
                "paused": result.paused,
            }
        )
    else:
        if result.outage is not None:
            say(outage_line(result.outage, ledger))
        if result.paused is not None:
            say(pause_line(result.paused))
        if result.held_back:
            say(held_back_line(result.held_back, ledger, result.paused))
        # While records are held back, an empty table of first postings would say nothing.
        if result_count(result.initial) or not result.held_back:
            show(retry_report(result.initial, "First postings"))
        if result.retries.retry_event_id is not None:
            event = result.retries.retry_event_id
            show(retry_report(result.retries, f"Automatic retries (event {event})"))
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


@main.command()
# Values, not members: click matches an Enum choice by its member's name.
@click.option("--kind", type=click.Choice([k.value for k in Kind]))
@click.option("--error-class", type=click.Choice([c.value for c in ErrorClass]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@json_option
def failed(kind: str | None, error_class: str | None, limit: int | None, as_json: bool) -> None:
    """List the failed queue, oldest first."""
    from bot.render import Streamed, emit_stream, failed_table, show

    with reader() as reads:
        rows = failed_rows(reads, kind, error_class, limit)
        if as_json:
            emit_stream(Streamed(rows))
        else:
            show(failed_table(list(rows)))


def failed_rows(
    reads: Reader, kind: str | None, error_class: str | None, limit: int | None
) -> Iterable[FailedRecord]:
    """The failed queue, oldest first, read a page at a time as the caller goes along."""
    cursor, left = None, limit
    while left is None or left > 0:
        size = FAILED_PAGE if left is None else min(FAILED_PAGE, left)
        page = reads.failed_page(kind, error_class, cursor, size)
        yield from page.items
        left = None if left is None else left - len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


@main.command()
@click.argument("source_ids", nargs=-1)
@click.option("--all", "retry_all", is_flag=True, help="Retry the whole failed queue.")
@json_option
def retry(source_ids: tuple[str, ...], retry_all: bool, as_json: bool) -> None:
    """Retry SOURCE_IDS now (or --all of the failed queue), whatever their backoff says."""
    if retry_all == bool(source_ids):
        fail("give either SOURCE_ID... or --all")
    with engine() as eng, progress_bar("retrying", not as_json) as progress:
        if retry_all:
            result = eng.retry_all(requested_by=who(), via=Via.CLI, progress=progress)
        else:
            result = eng.retry_selected(
                list(source_ids), requested_by=who(), via=Via.CLI, progress=progress
            )
        outage = eng.outage()
        ledger = eng.ledger_view() if outage is not None else None
    if outage is not None:
        from bot.render import outage_line, say

        # On stderr, so that --json output stays one document.
        say(f"warning: {outage_line(outage, ledger)}", err=True)
    finish_retry(result, as_json, f"Retry event {result.retry_event_id}")


@main.command()
@click.argument("source_id")
@click.option(
    "--reason", required=True, help="Why it leaves the queue (for example: booked by hand)."
)
@json_option
def resolve(source_id: str, reason: str, as_json: bool) -> None:
    """Take SOURCE_ID out of the failed queue without sending it (the gateway is asked first)."""
    from bot.render import emit, plain, say

    with engine() as eng:
        result = eng.resolve(source_id, reason, by=who())
    if as_json:
        emit(plain(result))
    elif result.state == State.SUCCEEDED:
        say(f"{source_id} was already booked as {result.accounting_ref}: marked succeeded")
    else:
        say(f"{source_id} resolved by hand: {reason}")


@main.command()
@click.argument("source_id")
@json_option
def history(source_id: str, as_json: bool) -> None:
    """Show every attempt, error, retry event and change of SOURCE_ID."""
    from bot.render import emit, history_json, history_table, say, show

    with reader() as reads:
        result = reads.history(source_id)
    if as_json:
        emit(history_json(result))
        return
    show(history_table(result))
    for event in result.retry_events:
        say(f"retry event {event.id}: {event.kind} by {event.requested_by} via {event.via}")
    for change in result.changes:
        say(f"{change.action} by {change.by}: {change.reason or ''}")


@main.command()
@json_option
def status(as_json: bool) -> None:
    """Counts by state and error class, last success, the gateway's last answer."""
    from bot.ledger_names import ledger_name
    from bot.render import emit, ledger_line, outage_line, pause_line, say, status_json, when

    with reader() as reads:
        result = reads.status()
    if as_json:
        emit(status_json(result))
        return
    say("records: " + ", ".join(f"{k} {v}" for k, v in result.by_state.items()))
    say("failed by class: " + ", ".join(f"{k} {v}" for k, v in result.by_error_class.items()))
    say(f"parked: {result.parked}")
    say(f"last success: {when(result.last_success_at)}")
    answer = result.last_gateway_answer or "none yet"
    name = ledger_name(result.ledger)
    say(f"{name}'s last answer: {answer} at {when(result.last_gateway_answer_at)}")
    say(outage_line(result.outage, result.ledger))
    if result.paused is not None:
        say(pause_line(result.paused))
    say(ledger_line(result.ledger))


@main.command()
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the demo database here.")
@click.option(
    "--ledger",
    type=click.Choice(["gateway", "quickbooks", "xero"]),
    default="gateway",
    show_default=True,
    help="The ledger double to post to: the gateway simulator, the QuickBooks or Xero double.",
)
def demo(keep: str | None, ledger: str) -> None:
    """Run the whole loop offline: SQLite, a ledger double, failures and retries."""
    if ledger == "quickbooks":
        from bot.demo_quickbooks import run_quickbooks_demo

        run_quickbooks_demo(keep)
        return
    if ledger == "xero":
        from bot.demo_xero import run_xero_demo

        run_xero_demo(keep)
        return
    from bot.demo import run_demo

    run_demo(keep)


@main.command()
def serve() -> None:
    """Run the Slack bot: Socket Mode with SLACK_APP_TOKEN, else HTTP on SYNCBOT_HTTP_PORT."""
    from bot.slack.server import serve_bot

    serve_bot(load_settings(), load_slack_settings())


# Commands kept in their own modules (bot/cli.py stays one screenful of commands per noun).
main.add_command(connect)
main.add_command(gateway_sim)
main.add_command(ledger_sim)
