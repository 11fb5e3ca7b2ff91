"""How `/accounting`'s arguments are read: one parser per subcommand, each giving a Command or
a CommandError that says what is wrong. `bot.slack.listeners.commands.SUBCOMMANDS` puts each
parser beside its subcommand's usage line and handler.

Source ids are words separated by spaces (and, for `retry`, commas). An id with spaces is put in
double quotes, straight or curly (Slack clients often turn `"` into `“ ”`). A quote left open,
a quote inside an unquoted id, or text glued to a closing quote is an error, never a guess.
Words that are not quoted might still be one id with spaces typed without its quotes: the
command carries each such reading (`joined`) so that the listener can refuse it when a record
by that name exists, instead of acting on a different record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.slack.blocks import escape
from bot.slack.ids import COMMAND
from sync_engine import Kind
from sync_engine.records import MAX_SOURCE_ID

MAX_IDS = 100
QUOTES = frozenset('"“”„‟')
FREE_WORD = re.compile(r"\s*(\S+)")


class CommandError(ValueError):
    """The command's text is wrong; the message says how, for the person who typed it."""


@dataclass(frozen=True)
class Command:
    """One parsed subcommand and its arguments."""

    name: str
    source_ids: tuple[str, ...] = ()
    kind: str | None = None
    reason: str = ""
    # Ids that unquoted words would also spell as one id with spaces (see the module's
    # docstring); a check for the listener, not part of what was asked.
    joined: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Word:
    """One source id as typed: its text, whether it was quoted, where it ends in the text."""

    text: str
    quoted: bool
    start: int
    end: int


def shown(typed: str) -> str:
    """Typed text quoted back to its typist: short, with Slack's control characters escaped."""
    return escape(typed[:40].replace("`", "'"))


def next_word(text: str, pos: int, separators: str = "") -> tuple[Word | None, int]:
    """The source id starting at or after `pos` (None at the end), and where the next begins."""
    while pos < len(text) and (text[pos].isspace() or text[pos] in separators):
        pos += 1
    if pos == len(text):
        return None, pos
    if text[pos] in QUOTES:
        close = next((i for i in range(pos + 1, len(text)) if text[i] in QUOTES), -1)
        if close == -1:
            raise CommandError(
                f"A quote is not closed. Put a source id with spaces in double quotes: `{COMMAND} "
                'history "HON 7"`.'
            )
        end = close + 1
        if end < len(text) and not (text[end].isspace() or text[end] in separators):
            raise CommandError("Put a space after the closing quote of a source id.")
        word = Word(text[pos + 1 : close], True, pos, end)
        if not word.text.strip():
            raise CommandError("An empty source id in quotes: put the id between the quotes.")
        return word, end
    end = pos
    while end < len(text) and not (text[end].isspace() or text[end] in separators):
        if text[end] in QUOTES:
            raise CommandError(
                f"A quote inside `{shown(text[pos:end])}…`: put the whole source id in quotes, "
                f'e.g. `{COMMAND} history "HON 7"`.'
            )
        end += 1
    return Word(text[pos:end], False, pos, end), end


def joined_readings(text: str, words: list[Word], *, from_first: bool = False) -> list[str]:
    """Every run of two or more unquoted words with only spaces between them, as one id (no
    longer than a source id can be): the ids a person may have meant, typed without quotes.
    With `from_first`, only the runs that start at the first word."""
    readings: list[str] = []
    for i, first in enumerate(words[:1] if from_first else words):
        if first.quoted:
            continue
        for before, last in zip(words[i:], words[i + 1 :], strict=False):
            if last.quoted or not text[before.end : last.start].isspace():
                break
            reading = text[first.start : last.end]
            if len(reading) > MAX_SOURCE_ID:
                break
            readings.append(reading)
    return list(dict.fromkeys(readings))


def parse_help(_rest: str) -> Command:
    """`help`: anything after it is ignored."""
    return Command("help")


def parse_status(rest: str) -> Command:
    """`status`: no arguments."""
    if rest:
        raise CommandError(f"`status` takes no arguments. Try `{COMMAND} status`.")
    return Command("status")


def parse_failed(rest: str) -> Command:
    """`failed [kind]`."""
    if not rest:
        return Command("failed")
    kind = rest.lower()
    if kind not in tuple(Kind):
        raise CommandError(
            f"Unknown kind `{shown(rest)}`: use `reimbursement` or `honorarium`, or nothing "
            "for both."
        )
    return Command("failed", kind=kind)


def parse_retry(rest: str) -> Command:
    """`retry <source_id>...` (spaces or commas between them), or `retry all`."""
    words: list[Word] = []
    word, pos = next_word(rest, 0, ",")
    while word is not None:
        words.append(word)
        word, pos = next_word(rest, pos, ",")
    if not words:
        raise CommandError(
            f"`retry` needs source ids or `all`: `{COMMAND} retry RMB-2026-0142` "
            f"or `{COMMAND} retry all`."
        )
    if not words[0].quoted and words[0].text.lower() == "all":
        if len(words) > 1:
            raise CommandError(f"`retry all` takes nothing more: `{COMMAND} retry all`.")
        return Command("retry_all")
    ids = tuple(dict.fromkeys(w.text for w in words))
    if len(ids) > MAX_IDS or len(words) > 4 * MAX_IDS:
        raise CommandError(
            f"At most {MAX_IDS} source ids at once; use the failed-records list for more."
        )
    return Command("retry", source_ids=ids, joined=tuple(joined_readings(rest, words)))


def parse_history(rest: str) -> Command:
    """`history <source_id>`."""
    word, pos = next_word(rest, 0)
    extra, _ = next_word(rest, pos) if word is not None else (None, pos)
    if word is None or extra is not None:
        raise CommandError(
            f"`history` needs one source id: `{COMMAND} history RMB-2026-0142` "
            f'(an id with spaces in quotes: `{COMMAND} history "HON 7"`).'
        )
    return Command("history", source_ids=(word.text,))


def parse_resolve(rest: str) -> Command:
    """`resolve <source_id> <reason>`; the reason's first words may be the id's rest."""
    word, pos = next_word(rest, 0)
    reason = rest[pos:].strip()
    if word is None or not reason:
        raise CommandError(
            f"`resolve` needs a source id and a reason: "
            f"`{COMMAND} resolve RMB-2026-0142 booked by hand in the ledger` "
            f'(an id with spaces in quotes: `{COMMAND} resolve "HON 7" booked by hand`).'
        )
    joined: list[str] = []
    if not word.quoted:
        # The reason's first words might be the rest of an id typed without its quotes.
        following: list[Word] = [word]
        at = pos
        while len(rest[word.start : at]) <= MAX_SOURCE_ID:
            after, at = _plain_word(rest, at)
            if after is None:
                break
            following.append(after)
        joined = joined_readings(rest, following, from_first=True)
    return Command("resolve", source_ids=(word.text,), reason=reason, joined=tuple(joined))


def _plain_word(text: str, pos: int) -> tuple[Word | None, int]:
    """The next space-separated word of free text (quotes are the reason's own business)."""
    match = FREE_WORD.match(text, pos)
    if match is None:
        return None, len(text)
    return Word(match.group(1), False, match.start(1), match.end(1)), match.end(1)
