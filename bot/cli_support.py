"""What every `syncbot` command shares: exit codes, settings, the engine or a reader for one
command, the asking user and a progress bar. Only click is imported here at start-up.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from pydantic import ValidationError

    from bot.slack.settings import SlackSettings
    from sync_engine.database import Reader
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print a one-line reason on stderr and exit."""
    from bot.render import say

    say(f"syncbot: {message}", err=True)
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
def reader() -> Iterator[Reader]:
    """Read-only answers for a query command, engine errors as for `engine()`.

    A query needs the database alone: the engine's gateway client, sending threads and
    metrics would cost more to import and set up than the query takes (docs/performance.md).
    """
    from sync_engine.database import reader as open_reader

    settings = load_settings()
    with engine_errors(), open_reader(settings) as reads:
        yield reads


@contextmanager
def engine() -> Iterator[SyncEngine]:
    """The engine for one command; engine errors become one-line messages and exit codes."""
    from sync_engine.build import build_engine

    settings = load_settings()
    with engine_errors(), build_engine(settings) as eng:
        yield eng


@contextmanager
def engine_errors() -> Iterator[None]:
    """The engine's refusals as one line on stderr: exit 2 for bad input, 1 for the rest."""
    from sync_engine.errors import BadInput, SyncEngineError

    try:
        yield
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
