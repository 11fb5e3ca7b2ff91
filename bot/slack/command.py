"""`/accounting` text parsed into one command, or a CommandError that says what is wrong."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.slack.ids import COMMAND
from bot.slack.list_state import KINDS

MAX_IDS = 100

USAGE = f"""*{COMMAND}* subcommands:
• `{COMMAND} status`: counts by state and error class, last success, the gateway's last answer
• `{COMMAND} failed [reimbursement|honorarium]`: post the failed-records list here
• `{COMMAND} retry <source_id> [<source_id>...]`: retry these records now
• `{COMMAND} retry all`: retry the whole failed queue now, as one retry event
• `{COMMAND} history <source_id>`: attempts, errors, retry events, who did what
• `{COMMAND} resolve <source_id> <reason>`: booked by hand elsewhere: leave the queue unsent
• `{COMMAND} help`: this list"""


class CommandError(ValueError):
    """The command's text is wrong; the message says how, for the person who typed it."""


@dataclass(frozen=True)
class Command:
    """One parsed subcommand and its arguments."""

    name: str
    source_ids: tuple[str, ...] = ()
    kind: str | None = None
    reason: str = ""


def parse(text: str) -> Command:
    """The subcommand in `text`, checked for missing and extra arguments."""
    head, _, rest = text.strip().partition(" ")
    name, rest = head.lower(), rest.strip()
    if name in ("", "help"):
        return Command("help")
    parser = PARSERS.get(name)
    if parser is None:
        raise CommandError(f"Unknown subcommand `{head[:40]}`. Try `{COMMAND} help`.")
    return parser(rest)


def _status(rest: str) -> Command:
    if rest:
        raise CommandError(f"`status` takes no arguments. Try `{COMMAND} status`.")
    return Command("status")


def _failed(rest: str) -> Command:
    if not rest:
        return Command("failed")
    kind = rest.lower()
    if kind not in KINDS:
        raise CommandError(
            f"Unknown kind `{rest[:40]}`: use `reimbursement` or `honorarium`, or nothing for both."
        )
    return Command("failed", kind=kind)


def _retry(rest: str) -> Command:
    ids = tuple(dict.fromkeys(s for s in re.split(r"[\s,]+", rest) if s))
    if not ids:
        raise CommandError(
            f"`retry` needs source ids or `all`: `{COMMAND} retry RMB-2026-0142` "
            f"or `{COMMAND} retry all`."
        )
    if ids[0].lower() == "all":
        if len(ids) > 1:
            raise CommandError(f"`retry all` takes nothing more: `{COMMAND} retry all`.")
        return Command("retry_all")
    if len(ids) > MAX_IDS:
        raise CommandError(
            f"At most {MAX_IDS} source ids at once; use the failed-records list for more."
        )
    return Command("retry", source_ids=ids)


def _history(rest: str) -> Command:
    parts = rest.split()
    if len(parts) != 1:
        raise CommandError(f"`history` needs one source id: `{COMMAND} history RMB-2026-0142`.")
    return Command("history", source_ids=(parts[0],))


def _resolve(rest: str) -> Command:
    source_id, _, reason = rest.partition(" ")
    if not source_id or not reason.strip():
        raise CommandError(
            f"`resolve` needs a source id and a reason: "
            f"`{COMMAND} resolve RMB-2026-0142 booked by hand in the ledger`."
        )
    return Command("resolve", source_ids=(source_id,), reason=reason.strip())


PARSERS = {
    "status": _status,
    "failed": _failed,
    "retry": _retry,
    "history": _history,
    "resolve": _resolve,
}
