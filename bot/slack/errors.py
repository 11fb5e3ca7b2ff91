"""The one error handler: the engine's refusals become a message, anything else an error id.

Listeners run their work inside `reporting(...)` (through `SlackBot.after_ack`), which hands
any error to the same handler the app registers with `@app.error`. They do not let errors
escape to Bolt because Bolt 1.30, when a listener raises after `ack()`, sets the
acknowledgement back to empty; if that happens within Bolt's 10 ms poll for it, Slack is
answered 404 "unhandled request" after 3 seconds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackClientError

from bot.slack.answers import STALE_BUTTON, crashed, trouble
from bot.slack.list_state import BadListState
from bot.slack.messenger import Respond
from bot.slack.payload import channel_of, user_of
from sync_engine.errors import SyncEngineError

if TYPE_CHECKING:
    from bot.slack.app import SlackBot

log = logging.getLogger(__name__)


def message_for(error: BaseException) -> str:
    """What the person is told: the engine's own words, or an id to quote for our bugs."""
    if isinstance(error, SyncEngineError):
        return trouble(str(error))
    if isinstance(error, BadListState):
        return STALE_BUTTON
    error_id = uuid.uuid4().hex[:8]
    log.error("unexpected error [error id %s]", error_id, exc_info=error)
    return crashed(error_id)


def report(
    bot: SlackBot, error: BaseException, body: dict[str, Any], respond: Respond | None
) -> None:
    """Tell the person who asked what went wrong (ephemeral; a DM from the Home tab)."""
    text = message_for(error)
    user = user_of(body)
    if not user:
        return
    try:
        bot.messenger.tell(user, channel_of(body), text, respond)
    except SlackClientError:
        log.exception("could not tell %s about an error", user)


@contextmanager
def reporting(bot: SlackBot, body: dict[str, Any], respond: Respond | None) -> Iterator[None]:
    """Run a listener's work; any error goes to `report`, never back into Bolt."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - every error is answered; ours get an id
        report(bot, error, body, respond)


def register(bot: SlackBot) -> None:
    """Install the app's error handler, for errors Bolt itself raises (middleware, parsing)."""

    @bot.app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Respond) -> None:
        """Answer the person; log our own bugs with an id."""
        report(bot, error, body, respond)
