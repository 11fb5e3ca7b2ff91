"""`/accounting`: ack, parse, authorize, one engine call, answer (ephemeral unless it is a list)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.slack.answers import (
    REFUSED,
    history_text,
    invite_hint,
    not_retryable,
    resolved_text,
    status_text,
)
from bot.slack.blocks import escape, new_nonce
from bot.slack.command import USAGE, Command, CommandError, parse
from bot.slack.ids import COMMAND
from bot.slack.list_state import ListState
from bot.slack.messenger import NotInChannel, Respond
from bot.slack.payload import channel_of, user_of
from bot.slack.retries import RetryOrder
from bot.slack.retry_reply import retry_parent
from sync_engine.errors import UnknownRecord
from sync_engine.records import nameable

if TYPE_CHECKING:
    from bot.slack.app import SlackBot

log = logging.getLogger(__name__)

RETRYABLE = ("failed", "pending")
WHY_NOT = {
    "succeeded": "already synced",
    "resolved": "already resolved by hand",
    "syncing": "being sent right now (another retry holds it)",
}


class Asked:
    """One slash command being answered: who asked, where, and how to answer them."""

    def __init__(self, bot: SlackBot, body: dict[str, Any], respond: Respond) -> None:
        self.bot, self.respond = bot, respond
        self.user, self.channel = user_of(body), channel_of(body) or ""

    def tell(self, text: str) -> None:
        """An ephemeral answer to the person who typed the command."""
        self.bot.messenger.tell(self.user, self.channel, text, self.respond)


def register(bot: SlackBot) -> None:
    """Listen for `/accounting`."""

    @bot.app.command(COMMAND)
    def accounting(ack: Callable[..., None], body: dict[str, Any], respond: Respond) -> None:
        """Ack at once (an empty 200), then answer on the answer threads."""
        ack()

        def work() -> None:
            asked = Asked(bot, body, respond)
            if not asked.user or not asked.channel:
                # Slack always sends both; without them there is no one to answer, nowhere.
                log.warning("a %s command without a user or a channel was ignored", COMMAND)
                return
            answer(asked, str(body.get("text") or ""))

        bot.after_ack(body, respond, work)


def answer(asked: Asked, text: str) -> None:
    """Run one subcommand for an administrator; help and usage errors are for anyone."""
    try:
        command = parse(text)
    except CommandError as exc:
        asked.tell(str(exc))
        return
    if command.name == "help":
        asked.tell(USAGE)
        return
    if not asked.bot.is_admin(asked.user):
        asked.tell(REFUSED)
        return
    refused = asked.bot.privacy.refused(command.name, asked.channel)
    if refused is not None:
        asked.tell(refused)
        return
    ambiguous = spelled_together(asked, command)
    if ambiguous is not None:
        asked.tell(ambiguous)
        return
    HANDLERS[command.name](asked, command)


def spelled_together(asked: Asked, command: Command) -> str | None:
    """A refusal if unquoted words also spell a record's id with spaces: which one was meant?"""
    if not command.joined:
        return None
    found = asked.bot.engine.known(command.joined)
    if not found:
        return None
    # The longest reading is the likeliest id the person meant.
    meant = max(found, key=len)
    shown = escape(meant.replace("`", "'"))
    return (
        f"`{shown}` is also a record's source id. Put a source id with spaces in double quotes "
        f'so that I act on the record you mean, e.g. `{COMMAND} {command.name} "{shown}" ...`. '
        "Nothing was done."
    )


def _status(asked: Asked, _command: Command) -> None:
    asked.tell(status_text(asked.bot.engine.status()))


def _failed(asked: Asked, command: Command) -> None:
    shown = asked.bot.screens.failed_list(ListState(kind=command.kind))
    try:
        asked.bot.messenger.post(asked.channel, shown.text, shown.blocks)
    except NotInChannel:
        asked.tell(invite_hint(asked.channel))


def _history(asked: Asked, command: Command) -> None:
    asked.tell(history_text(asked.bot.engine.history(known(command.source_ids[0]))))


def _resolve(asked: Asked, command: Command) -> None:
    source_id = known(command.source_ids[0])
    result = asked.bot.engine.resolve(source_id, command.reason, by=asked.user)
    asked.tell(resolved_text(result, command.reason))


def known(source_id: str) -> str:
    """`source_id`, unless it cannot name a record (then UnknownRecord, as the engine says it)."""
    if not nameable(source_id):
        raise UnknownRecord([source_id])
    return source_id


def problems_with(asked: Asked, source_ids: tuple[str, ...]) -> dict[str, str]:
    """What stops each id from being retried: unknown, already synced, resolved, in flight."""
    problems: dict[str, str] = {}
    for source_id in source_ids:
        try:
            state = asked.bot.engine.history(known(source_id)).sync_log_state
        except UnknownRecord:
            problems[source_id] = "unknown source_id"
            continue
        if state not in RETRYABLE:
            problems[source_id] = WHY_NOT.get(state, f"in state {state}")
    return problems


def _retry(asked: Asked, command: Command) -> None:
    problems = problems_with(asked, command.source_ids)
    if problems:
        asked.tell(not_retryable(problems))
        return
    start_retry(asked, command.source_ids, len(command.source_ids))


def _retry_all(asked: Asked, _command: Command) -> None:
    count = asked.bot.engine.count_failed()
    if not count:
        asked.tell("The failed queue is empty: nothing to retry.")
        return
    start_retry(asked, None, count)


def start_retry(asked: Asked, source_ids: tuple[str, ...] | None, count: int) -> None:
    """Post the message the results will thread under, then hand the retry to the executor."""
    blocks = retry_parent(asked.user, source_ids, count, new_nonce())
    try:
        parent = asked.bot.messenger.post(asked.channel, "Retrying accounting syncs", blocks)
    except NotInChannel:
        asked.tell(invite_hint(asked.channel) + " Nothing was retried.")
        return
    order = RetryOrder(asked.user, parent.channel, parent.ts, source_ids, count)
    asked.bot.retrier.submit(order)


HANDLERS: dict[str, Callable[[Asked, Command], None]] = {
    "status": _status,
    "failed": _failed,
    "retry": _retry,
    "retry_all": _retry_all,
    "history": _history,
    "resolve": _resolve,
}
