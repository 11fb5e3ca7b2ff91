"""The `syncbot` command line: the engine's operations from a terminal, with `--json` for scripts.

Heavy imports happen inside each command, so `syncbot --help` starts quickly.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from pydantic import ValidationError

    from bot.slack.settings import SlackSettings
    from sync_engine.engine import SyncEngine
    from sync_engine.results import FailedRecord, RetryResult
    from sync_engine.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
json_option = click.option("--json", "as_json", is_flag=True, help="Answer in JSON for scripts.")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line reason on stderr and exit."""
    click.echo(f"syncbot: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    """Read the settings once; a bad value is bad input that names the variable."""
    from pydantic import ValidationError

    from sync_engine.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        fail(f"bad setting: {setting_problems(exc)}")


def setting_problems(exc: ValidationError) -> str:
    """A settings validation error as one line that names each variable."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
    )


def load_slack_settings() -> SlackSettings:
    """Read the Slack bot's settings once; a bad or missing value names the variable."""
    from pydantic import ValidationError

    from bot.slack.settings import SlackSettings

    try:
        return SlackSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        fail(f"bad setting: {setting_problems(exc)}")


@contextmanager
def engine() -> Iterator[SyncEngine]:
    """The engine for one command; engine errors become one-line messages and exit codes."""
    from sync_engine.engine import SyncEngine
    from sync_engine.errors import BadInput, SyncEngineError

    settings = load_settings()
    try:
        with SyncEngine(settings) as eng:
            yield eng
    except BadInput as exc:
        fail(str(exc))
    except SyncEngineError as exc:
        fail(str(exc), EXIT_FAILED)


def who() -> str:
    """The OS user, who asked for a CLI retry."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def emit(data: Any) -> None:
    """Write a JSON answer to stdout."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def show(renderable: Any) -> None:
    """Print a rich renderable to stdout."""
    from rich.console import Console

    Console().print(renderable)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr for long work, fed by the engine's progress callback."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


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
    from storage.db import make_engine
    from storage.migrate import head_revision, upgrade

    settings = load_settings()
    upgrade(make_engine(settings.database_url))
    click.echo(f"database is at revision {head_revision()}")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--update", is_flag=True, help="Correct known records refused as needs_attention.")
@json_option
def import_(file: str, update: bool, as_json: bool) -> None:
    """Import approved records from FILE (JSON array, JSON lines or CSV)."""
    from bot.render import import_json, plain
    from sync_engine.errors import ImportRejected

    with engine() as eng:
        try:
            result = eng.import_file(file, update=update, by=who())
        except ImportRejected as exc:
            if as_json:
                emit({"imported": 0, "problems": plain(exc.problems)})
            for p in exc.problems:
                where = f"line {p.line}" + (f", {p.field}" if p.field else "")
                click.echo(f"  {where}: {p.message}", err=True)
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
            click.echo(f"{label} ({len(names)}): {', '.join(names[:20])}")


def finish_retry(result: RetryResult, as_json: bool, title: str) -> NoReturn:
    """Print a retry's result and exit 0 if every attempted record succeeded, else 1."""
    from bot.render import retry_json, retry_table

    if as_json:
        emit(retry_json(result))
    else:
        show(retry_table(result, title))
    sys.exit(EXIT_FAILED if result.failed else EXIT_OK)


@main.command()
@json_option
def sync(as_json: bool) -> None:
    """Send pending records, then retry the failed ones whose backoff is due."""
    from bot.render import outage_line, plain, retry_json, retry_table

    with engine() as eng, progress_bar("syncing", not as_json) as progress:
        result = eng.sync(requested_by=who(), via="cli", progress=progress)
    failed = result.initial.failed or result.retries.failed
    if as_json:
        emit(
            {
                "initial": retry_json(result.initial),
                "retries": retry_json(result.retries),
                "recovered_leases": plain(result.recovered_leases),
                "outage": plain(result.outage),
            }
        )
    else:
        if result.outage is not None:
            click.echo(outage_line(result.outage))
        show(retry_table(result.initial, "First postings"))
        if result.retries.retry_event_id is not None:
            show(
                retry_table(
                    result.retries, f"Automatic retries (event {result.retries.retry_event_id})"
                )
            )
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


@main.command()
@click.option("--kind", type=click.Choice(["reimbursement", "honorarium"]))
@click.option(
    "--error-class", type=click.Choice(["transient", "needs_attention", "auth"]), default=None
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@json_option
def failed(kind: str | None, error_class: str | None, limit: int | None, as_json: bool) -> None:
    """List the failed queue, oldest first."""
    from bot.render import failed_json, failed_table

    rows: list[FailedRecord] = []
    with engine() as eng:
        cursor = None
        while limit is None or len(rows) < limit:
            size = 500 if limit is None else min(500, limit - len(rows))
            page = eng.list_failed(kind=kind, error_class=error_class, after=cursor, limit=size)
            rows += page.items
            cursor = page.next_cursor
            if cursor is None:
                break
    if as_json:
        emit([failed_json(r) for r in rows])
    else:
        show(failed_table(rows))


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
            result = eng.retry_all(requested_by=who(), via="cli", progress=progress)
        else:
            result = eng.retry_selected(
                list(source_ids), requested_by=who(), via="cli", progress=progress
            )
        outage = eng.outage()
    if outage is not None:
        from bot.render import outage_line

        # On stderr, so that --json output stays one document.
        click.echo(f"warning: {outage_line(outage)}", err=True)
    finish_retry(result, as_json, f"Retry event {result.retry_event_id}")


@main.command()
@click.argument("source_id")
@click.option(
    "--reason", required=True, help="Why it leaves the queue (for example: booked by hand)."
)
@json_option
def resolve(source_id: str, reason: str, as_json: bool) -> None:
    """Take SOURCE_ID out of the failed queue without sending it (the gateway is asked first)."""
    from bot.render import plain

    with engine() as eng:
        result = eng.resolve(source_id, reason, by=who())
    if as_json:
        emit(plain(result))
    elif result.state == "succeeded":
        click.echo(f"{source_id} was already booked as {result.accounting_ref}: marked succeeded")
    else:
        click.echo(f"{source_id} resolved by hand: {reason}")


@main.command()
@click.argument("source_id")
@json_option
def history(source_id: str, as_json: bool) -> None:
    """Show every attempt, error, retry event and change of SOURCE_ID."""
    from bot.render import history_json, history_table

    with engine() as eng:
        result = eng.history(source_id)
    if as_json:
        emit(history_json(result))
        return
    show(history_table(result))
    for event in result.retry_events:
        click.echo(f"retry event {event.id}: {event.kind} by {event.requested_by} via {event.via}")
    for change in result.changes:
        click.echo(f"{change.action} by {change.by}: {change.reason or ''}")


@main.command()
@json_option
def status(as_json: bool) -> None:
    """Counts by state and error class, last success, the gateway's last answer."""
    from bot.render import outage_line, status_json, when

    with engine() as eng:
        result = eng.status()
    if as_json:
        emit(status_json(result))
        return
    click.echo("records: " + ", ".join(f"{k} {v}" for k, v in result.by_state.items()))
    click.echo(
        "failed by class: " + ", ".join(f"{k} {v}" for k, v in result.by_error_class.items())
    )
    click.echo(f"parked: {result.parked}")
    click.echo(f"last success: {when(result.last_success_at)}")
    answer = result.last_gateway_answer or "none yet"
    click.echo(f"gateway's last answer: {answer} at {when(result.last_gateway_answer_at)}")
    click.echo(outage_line(result.outage))


@main.command("gateway-sim")
@click.option("--port", type=click.IntRange(0, 65535), default=8900, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--latency-ms", type=click.FloatRange(min=0), default=0.0, help="Added to every answer."
)
@click.option("--rate-per-minute", type=click.IntRange(min=0), default=0, help="0 = no limit.")
@click.option("--concurrency", type=click.IntRange(min=0), default=0, help="0 = no limit.")
@click.option("--token", default=None, help="Require this bearer token.")
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of faults.",
)
def gateway_sim(
    port: int,
    host: str,
    latency_ms: float,
    rate_per_minute: int,
    concurrency: int,
    token: str | None,
    faults_file: str | None,
) -> None:
    """Run the accounting gateway simulator (the contract's other side) on PORT."""
    from sync_engine.gateway_sim import FaultPlan, SimConfig, serve_forever

    faults = FaultPlan()
    if faults_file:
        try:
            with open(faults_file, encoding="utf-8") as handle:
                faults = FaultPlan.from_json(json.load(handle))
        except ValueError as exc:
            fail(f"{faults_file}: {exc}")
    config = SimConfig(
        latency_seconds=latency_ms / 1000,
        rate_per_minute=rate_per_minute,
        concurrency=concurrency,
        token=token,
    )
    click.echo(f"gateway simulator on http://{host}:{port} (Ctrl-C stops it)", err=True)
    serve_forever(config, faults, host, port)


@main.command()
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the demo database here.")
def demo(keep: str | None) -> None:
    """Run the whole loop offline: SQLite, the gateway simulator, failures and retries."""
    from bot.demo import run_demo

    run_demo(keep)


@main.command()
def serve() -> None:
    """Run the Slack bot: Socket Mode with SLACK_APP_TOKEN, else HTTP on SYNCBOT_HTTP_PORT."""
    from bot.slack.server import serve_bot

    serve_bot(load_settings(), load_slack_settings())
