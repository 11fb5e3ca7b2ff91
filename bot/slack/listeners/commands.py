"""`/accounting`: ack, parse, authorize, one engine call, answer (ephemeral unless it is a list).

Each subcommand is one `Subcommand` in SUBCOMMANDS: its usage lines, its parser (in
`bot.slack.command_parsing`) and its handler here. The usage text is made from that table.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App

from bot.slack.answers import (
    REFUSED,
    history_text,
    invite_hint,
    not_retryable,
    resolved_text,
    status_text,
)
from bot.slack.blocks import escape, new_nonce
from bot.slack.command_parsing import (
    Command,
    CommandError,
    parse_failed,
    parse_help,
    parse_history,
    parse_resolve,
    parse_retry,
    parse_status,
    shown,
)
from bot.slack.deps import Deps
from bot.slack.ids import COMMAND
from bot.slack.list_state import ListState
from bot.slack.messenger import NotInChannel, Respond
from bot.slack.payload import channel_of, user_of
from bot.slack.retries import RetryOrder
from bot.slack.retry_reply import retry_parent
from sync_engine.errors import UnknownRecord
from sync_engine.records import nameable

log = logging.getLogger(__name__)


class Asked:
    """One slash command being answered: who asked, where, and how to answer them."""

    def __init__(self, deps: Deps, body: dict[str, Any], respond: Respond) -> None:
        self.deps, self.respond = deps, respond
        self.user, self.channel = user_of(body), channel_of(body) or ""

    def tell(self, text: str) -> None:
        """An ephemeral answer to the person who typed the command."""
        self.deps.messenger.tell(self.user, self.channel, text, self.respond)


@dataclass(frozen=True)
class Subcommand:
    """One `/accounting` subcommand: how it is written, how it is read, how it is answered."""

    name: str
    # (syntax after the command, what it does): one line each of the usage text.
    usage: tuple[tuple[str, str], ...]
    parse: Callable[[str], Command]
    handle: Callable[[Asked, Command], None]
    # Its answers carry record data: only where no outsider reads them (see bot.slack.privacy).
    shows_records: bool = False
    admin_only: bool = True


def register(app: App, deps: Deps) -> None:
    """Listen for `/accounting`."""
    app.command(COMMAND)(functools.partial(accounting, deps))


def accounting(
    deps: Deps, ack: Callable[..., None], body: dict[str, Any], respond: Respond
) -> None:
    """Ack at once (an empty 200), then answer on the answer threads."""
    ack()

    def work() -> None:
        asked = Asked(deps, body, respond)
        if not asked.user or not asked.channel:
            # Slack always sends both; without them there is no one to answer, nowhere.
            log.warning("a %s command without a user or a channel was ignored", COMMAND)
            return
        answer(asked, str(body.get("text") or ""))

    deps.after_ack(body, respond, work)


def read(text: str) -> tuple[Subcommand, Command]:
    """The subcommand `text` names and its arguments, checked for missing and extra ones."""
    parts = text.strip().split(maxsplit=1)
    head = parts[0] if parts else ""
    rest = parts[1] if len(parts) > 1 else ""
    subcommand = BY_NAME.get(head.lower() or "help")
    if subcommand is None:
        raise CommandError(f"Unknown subcommand `{shown(head)}`.\n\n{USAGE}")
    return subcommand, subcommand.parse(rest)


def parse(text: str) -> Command:
    """The command `text` asks for (a CommandError says what is wrong with it)."""
    return read(text)[1]


def answer(asked: Asked, text: str) -> None:
    """Run one subcommand for an administrator; help and usage errors are for anyone."""
    try:
        subcommand, command = read(text)
    except CommandError as exc:
        asked.tell(str(exc))
        return
    if subcommand.admin_only and not asked.deps.is_admin(asked.user):
        asked.tell(REFUSED)
        return
    if subcommand.shows_records:
        refused = asked.deps.privacy.refused(command.name, asked.channel)
        if refused is not None:
            asked.tell(refused)
            return
    ambiguous = spelled_together(asked, command)
    if ambiguous is not None:
        asked.tell(ambiguous)
        return
    subcommand.handle(asked, command)


def spelled_together(asked: Asked, command: Command) -> str | None:
    """A refusal if unquoted words also spell a record's id with spaces: which one was meant?"""
    if not command.joined:
        return None
    found = asked.deps.engine.known(command.joined)
    if not found:
        return None
    # The longest reading is the likeliest id the person meant.
    meant = max(found, key=len)
    typed = escape(meant.replace("`", "'"))
    return (
        f"`{typed}` is also a record's source id. Put a source id with spaces in double quotes "
        f'so that I act on the record you mean, e.g. `{COMMAND} {command.name} "{typed}" ...`. '
        "Nothing was done."
    )


def _help(asked: Asked, _command: Command) -> None:
    asked.tell(USAGE)


def _status(asked: Asked, _command: Command) -> None:
    asked.tell(status_text(asked.deps.engine.status()))


def _failed(asked: Asked, command: Command) -> None:
    listed = asked.deps.screens.failed_list(ListState(kind=command.kind))
    try:
        asked.deps.messenger.post(asked.channel, listed.text, listed.blocks)
    except NotInChannel:
        asked.tell(invite_hint(asked.channel))


def _history(asked: Asked, command: Command) -> None:
    asked.tell(history_text(asked.deps.engine.history(known(command.source_ids[0]))))


def _resolve(asked: Asked, command: Command) -> None:
    source_id = known(command.source_ids[0])
    result = asked.deps.engine.resolve(source_id, command.reason, by=asked.user)
    asked.tell(resolved_text(result, command.reason))


def known(source_id: str) -> str:
    """`source_id`, unless it cannot name a record (then UnknownRecord, as the engine says it)."""
    if not nameable(source_id):
        raise UnknownRecord([source_id])
    return source_id


def _retry(asked: Asked, command: Command) -> None:
    asked.deps.engine.refuse_while_paused()  # the ledger's pause, in the engine's words
    if command.name == "retry_all":
        _retry_all(asked)
        return
    # The engine decides what may be retried, in the words the CLI shows for a skipped record.
    problems = asked.deps.engine.retry_problems(command.source_ids)
    if problems:
        asked.tell(not_retryable(problems))
        return
    start_retry(asked, command.source_ids, len(command.source_ids))


def _retry_all(asked: Asked) -> None:
    count = asked.deps.engine.count_failed()
    if not count:
        asked.tell("The failed queue is empty: nothing to retry.")
        return
    start_retry(asked, None, count)


def start_retry(asked: Asked, source_ids: tuple[str, ...] | None, count: int) -> None:
    """Post the message the results will thread under, then hand the retry to the executor."""
    blocks = retry_parent(asked.user, source_ids, count, new_nonce())
    try:
        parent = asked.deps.messenger.post(asked.channel, "Retrying accounting syncs", blocks)
    except NotInChannel:
        asked.tell(invite_hint(asked.channel) + " Nothing was retried.")
        return
    order = RetryOrder(asked.user, parent.channel, parent.ts, source_ids, count)
    asked.deps.retrier.submit(order)


ID = "&lt;source_id&gt;"
SUBCOMMANDS = (
    Subcommand(
        "status",
        (("status", "counts by state and error class, last success, the gateway's last answer"),),
        parse_status,
        _status,
    ),
    Subcommand(
        "failed",
        (("failed [reimbursement|honorarium]", "post the failed-records list here"),),
        parse_failed,
        _failed,
        shows_records=True,
    ),
    Subcommand(
        "retry",
        (
            (f"retry {ID} [{ID}...]", "retry these records now"),
            ("retry all", "retry the whole failed queue now, as one retry event"),
        ),
        parse_retry,
        _retry,
        shows_records=True,
    ),
    Subcommand(
        "history",
        ((f"history {ID}", "attempts, errors, retry events, who did what"),),
        parse_history,
        _history,
        shows_records=True,
    ),
    Subcommand(
        "resolve",
        ((f"resolve {ID} &lt;reason&gt;", "booked by hand elsewhere: leave the queue unsent"),),
        parse_resolve,
        _resolve,
    ),
    Subcommand("help", (("help", "this list"),), parse_help, _help, admin_only=False),
)
BY_NAME = {subcommand.name: subcommand for subcommand in SUBCOMMANDS}


def usage() -> str:
    """The help text: every subcommand's lines, the quoting rule, where record data may go."""
    lines = [f"*{COMMAND}* subcommands:"]
    lines += [f"• `{COMMAND} {syntax}`: {what}" for s in SUBCOMMANDS for syntax, what in s.usage]
    private = [f"`{s.name}`" for s in SUBCOMMANDS if s.shows_records]
    lines += [
        "Put a source id with spaces in double quotes: "
        f'`{COMMAND} resolve "HON 7" booked by hand`.',
        f"{', '.join(private[:-1])} and {private[-1]} show record data: use them in a private "
        "channel or a direct message with the bot.",
    ]
    return "\n".join(lines)


USAGE = usage()
