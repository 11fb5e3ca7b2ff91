"""The one error handler: the engine's refusals become a message, anything else an error id.

Listeners run their work inside `reporting(...)` (through `AnswerThreads`), which hands
any error to the same handler the app registers with `@app.error`. They do not let errors
escape to Bolt because Bolt 1.30, when a listener raises after `ack()`, sets the
acknowledgement back to empty; if that happens within Bolt's 10 ms poll for it, Slack is
answered 404 "unhandled request" after 3 seconds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackClientError

from bot.logs import log_with_id
from bot.slack.answers import STALE_BUTTON, crashed, trouble
from bot.slack.deps import Deps
from bot.slack.list_state import BadListState
from bot.slack.messenger import Messenger, Respond
from bot.slack.payload import channel_of, user_of
from sync_engine.errors import SyncEngineError

log = logging.getLogger(__name__)


def message_for(error: BaseException) -> str:
    """What the person is told: the engine's own words, or an id to quote for our bugs."""
    if isinstance(error, SyncEngineError):
        return trouble(str(error))
    if isinstance(error, BadListState):
        return STALE_BUTTON
    return crashed(log_with_id(log, "unexpected error", error=error))


def report(
    messenger: Messenger, error: BaseException, body: dict[str, Any], respond: Respond | None
) -> None:
    """Tell the person who asked what went wrong (ephemeral; a DM from the Home tab)."""
    text = message_for(error)
    user = user_of(body)
    if not user:
        return
    try:
        messenger.tell(user, channel_of(body), text, respond)
    except SlackClientError:
        log.exception("could not tell %s about an error", user)


@contextmanager
def reporting(
    messenger: Messenger, body: dict[str, Any], respond: Respond | None
) -> Iterator[None]:
    """Run a listener's work; any error goes to `report`, never back into Bolt."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - every error is answered; ours get an id
        report(messenger, error, body, respond)


class AnswerThreads:
    """The after-ack runner: a listener's work on the answer threads, its errors reported."""

    def __init__(self, executor: Executor, messenger: Messenger) -> None:
        self.executor, self.messenger = executor, messenger

    def __call__(
        self, body: dict[str, Any], respond: Respond | None, work: Callable[[], None]
    ) -> None:
        """Queue `work`; any error it raises is told to whoever asked."""

        def run() -> None:
            with reporting(self.messenger, body, respond):
                work()

        self.executor.submit(run)


def on_error(deps: Deps, error: Exception, body: dict[str, Any], respond: Respond) -> None:
    """Answer the person; log our own bugs with an id."""
    report(deps.messenger, error, body, respond)


def register(app: App, deps: Deps) -> None:
    """Install the app's error handler, for errors Bolt itself raises (middleware, parsing)."""
    app.error(functools.partial(on_error, deps))
