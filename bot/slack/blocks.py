"""Block Kit primitives shared by the builders: untrusted text, safe clipping, budgets, dates.

Everything here is pure; the builders in `failed_list`, `retry_reply`, `home`, `alert_message`
and `answers` compose these into messages and views with `slack_sdk.models.blocks`, whose
`to_dict()` checks most of Slack's per-element limits before anything is sent.

Text from outside (a record, the gateway, a person) reaches mrkdwn only through `data`: escaped
(`&`, `<`, `>`), on one line, clipped, inside an inline-code span, where Slack applies no bold,
italics, strike-through, emoji or links; a backtick of its own, which would end the span, is
shown as a look-alike. Every mrkdwn object the bot sends is `verbatim`, so Slack links no bare
URL, channel name or `@here` inside it, while the bot's own `<@U…>` and `<!date…>` still work.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.ledger_names import capital, ledger_name
from bot.slack.ids import Ids
from sync_engine import LedgerLink
from sync_engine.contract import format_time
from sync_engine.results import LedgerView, Outage

# Slack's own limits (the stand-in in bench/slack_standin/limits.py checks them all); the
# builders stay inside them by construction.
MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FALLBACK_TEXT = 4000
# What a message's builder lets its text blocks hold: Slack's ~12,000 less a margin for labels,
# buttons and the imprecision of "about".
BLOCK_TEXT_BUDGET = 11_000
# What one section holds at most, a little under Slack's 3,000 for the line that joins it.
SECTION_BUDGET = 2900

# The longest piece of any one field we put into a row, so a page of rows stays well inside
# the ~12,000 characters Slack accepts per message however long the gateway's errors are.
MAX_ERROR_CHARS = 200
MAX_NAME_CHARS = 60
MAX_ID_CHARS = 128

# Shown instead of a backtick inside data: a backtick would end the inline-code span early.
BACKTICK_LOOKALIKE = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")


def new_nonce() -> str:
    """A short random suffix that makes a render's block ids new (Slack asks for that)."""
    return secrets.token_hex(4)


def block_id(prefix: Ids, nonce: str, index: int | None = None) -> str:
    """A block id unique within one render: prefix, optional row index, the render's nonce."""
    middle = "" if index is None else f".{index}"
    return f"{prefix}{middle}.{nonce}"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, never inside a `<...>` token, an
    `&...;` entity or an inline-code span (a half span would expose its data to formatting)."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    while True:
        if cut.rfind("<") > cut.rfind(">"):
            cut = cut[: cut.rfind("<")]
        elif cut.rfind("&") > cut.rfind(";"):
            cut = cut[: cut.rfind("&")]
        elif cut.count("`") % 2:
            cut = cut[: cut.rfind("`")]
        else:
            return cut + "…"


def plain(text: str, limit: int) -> str:
    """Untrusted text escaped for Slack, on one line, at most `limit` long: for notification
    fallbacks and words of the engine's own; record and gateway data in mrkdwn use `data`."""
    return clip(escape(" ".join(text.split())), limit)


def data(text: str | None, limit: int = MAX_ID_CHARS) -> str:
    """Text from a record, the gateway or a person, as mrkdwn that shows it literally."""
    shown = plain(text or "", limit).replace("`", BACKTICK_LOOKALIKE)
    return f"`{shown}`" if shown else "-"


def slack_date(when: datetime | None, empty: str = "-") -> str:
    """A time Slack shows in the reader's own time zone, with UTC as the fallback text."""
    if when is None:
        return empty
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{format_time(when)}>"


def outage_words(outage: Outage | None, ledger: LedgerView | None = None) -> str:
    """Whether the ledger (the gateway unless `ledger` says otherwise) is held to be down, for
    a dashboard or a reply."""
    name = escape(capital(ledger_name(ledger)))
    if outage is None:
        return f":large_green_circle: {name} reachable: automatic retries are running."
    return (
        f":red_circle: *{name} down* since {slack_date(outage.since)}: "
        f"{data(outage.reason, MAX_ERROR_CHARS)}. Automatic retries are paused until it answers "
        f"again (next check {slack_date(outage.next_probe_at)})."
    )


def ledger_words(view: LedgerView | None) -> str:
    """The ledger syncbot posts to, its company, and whether it must be reconnected."""
    if view is None or view.connection == LedgerLink.NOT_NEEDED:
        return f"*Ledger:* {escape(view.name if view else 'gateway')}"
    company = data(view.company_name, 100) if view.company_name else "company"
    where = f"{escape(view.name)}, {company} ({data(view.company_id, 40)})"
    where = where if view.company_id else escape(view.name)
    if view.reconnect_required:
        return (
            f":red_circle: *Ledger:* {where}: *reconnect required*. Automatic sends are paused;"
            f" an administrator runs `{view.connect_command}` on the server."
        )
    if view.connection != LedgerLink.CONNECTED:
        return f":red_circle: *Ledger:* {where}: not connected; run `{view.connect_command}`."
    return f"*Ledger:* {where}: connected"


def next_retry(parked: bool, at: datetime | None) -> str:
    """When the next automatic retry is due, or why there is none."""
    if parked:
        return "parked: no automatic retry until someone acts"
    if at is None:
        return "none: waits for a person"
    return slack_date(at)


def money(amount: Decimal, currency: str) -> str:
    """An amount as the engine keeps it (exact decimal string) with its currency."""
    return f"{amount} {escape(currency)}"


def user(user_id: str) -> str:
    """A mention of a Slack user; anything that is no Slack user id is shown as data."""
    return f"<@{user_id}>" if SLACK_USER_ID.fullmatch(user_id) else data(user_id, 64)


def fit(lines: Sequence[str], budget: int) -> tuple[list[str], int]:
    """The leading `lines` whose length (one separator each) stays within `budget`, and how
    many were left out; whole lines only, so no token is ever cut."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return kept, len(lines) - len(kept)


def listed(names: Sequence[str], room: int, total: int | None = None) -> str:
    """`names` (each already made safe) joined by commas, as many as `room` characters hold,
    then how many more of `total` (all the names by default) there are."""
    total = len(names) if total is None else total
    kept, _ = fit([n + "," for n in names], room - len(f" and {total} more"))
    more = total - len(kept)
    if not kept:
        return f"{total} record(s)"
    return " ".join(kept).rstrip(",") + (f" and {more} more" if more > 0 else "")


def shares(needs: Sequence[int], total: int) -> list[int]:
    """`total` shared among parts needing `needs`: each its need if it fits, else an even
    share, what a smaller part leaves over going to the larger ones."""
    given = [0] * len(needs)
    left, waiting = total, sorted(range(len(needs)), key=lambda i: needs[i])
    while waiting:
        even = left // len(waiting)
        i = waiting.pop(0)
        given[i] = min(needs[i], even)
        left -= given[i]
    return given


def mrkdwn(text: str) -> MarkdownTextObject:
    """A verbatim mrkdwn text object: Slack formats it but links nothing by itself."""
    return MarkdownTextObject(text=text, verbatim=True)


def mrkdwn_section(text: str, bid: str | None, **extra: Any) -> SectionBlock:
    """A section with verbatim mrkdwn text clipped to Slack's section limit."""
    return SectionBlock(text=mrkdwn(clip(text, MAX_SECTION_TEXT)), block_id=bid, **extra)


def context(texts: Sequence[str], bid: str) -> ContextBlock:
    """A context block of verbatim mrkdwn elements."""
    return ContextBlock(elements=[mrkdwn(clip(t, MAX_SECTION_TEXT)) for t in texts], block_id=bid)


def answer_blocks(text: str, nonce: str) -> list[Block]:
    """A short answer as verbatim sections, split between lines to fit Slack's section limit."""
    sections: list[str] = []
    for line in text.split("\n"):
        line = clip(line, MAX_SECTION_TEXT)
        if sections and len(sections[-1]) + 1 + len(line) <= MAX_SECTION_TEXT:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    # Slack refuses an empty text object: blank lines only join others.
    sections = [s for s in sections if s.strip()]
    blocks: list[Block] = [
        mrkdwn_section(s, block_id(Ids.ANSWER, nonce, i)) for i, s in enumerate(sections)
    ]
    return blocks[:MAX_MESSAGE_BLOCKS]


def as_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """The blocks as Slack's JSON (validated by slack_sdk on the way)."""
    return [b.to_dict() for b in blocks]
