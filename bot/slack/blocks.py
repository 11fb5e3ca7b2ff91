"""Block Kit primitives shared by the builders: escaped text, clipped text, dates, block ids.

Everything here is pure; the builders in `failed_list`, `retry_reply`, `home` and `answers`
compose these into messages and views with `slack_sdk.models.blocks`, whose `to_dict()`
checks most of Slack's per-element limits before anything is sent.
"""

from __future__ import annotations

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

from bot.slack.ids import Ids
from sync_engine.contract import format_time
from sync_engine.results import Outage

# Slack's own limits (slack-notes.md); the builders stay inside them by construction.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_BLOCK_TEXT = 12_000
MAX_FALLBACK_TEXT = 4000
MAX_CONFIRM_TEXT = 300

# The longest piece of any one field we put into a row, so a page of rows stays well inside
# the ~12,000 characters Slack accepts per message however long the gateway's errors are.
MAX_ERROR_CHARS = 200
MAX_NAME_CHARS = 60


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
    """`text` cut to `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int) -> str:
    """Untrusted text (payee names, gateway errors) made safe for mrkdwn, at most `limit` long."""
    escaped = escape(" ".join(text.split()))
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    # Escaping lengthens text, so it is clipped afterwards; never leave half an entity behind.
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def slack_date(when: datetime | None, empty: str = "-") -> str:
    """A time Slack shows in the reader's own time zone, with UTC as the fallback text."""
    if when is None:
        return empty
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{format_time(when)}>"


def outage_words(outage: Outage | None) -> str:
    """Whether the gateway is held to be down, for a dashboard or a reply."""
    if outage is None:
        return ":large_green_circle: Gateway reachable: automatic retries are running."
    return (
        f":red_circle: *Gateway down* since {slack_date(outage.since)}: "
        f"{plain(outage.reason, MAX_ERROR_CHARS)}. Automatic retries are paused until it answers "
        f"again (next check {slack_date(outage.next_probe_at)})."
    )


def money(amount: Decimal, currency: str) -> str:
    """An amount as the engine keeps it (exact decimal string) with its currency."""
    return f"{amount} {currency}"


def user(user_id: str) -> str:
    """A mention of a Slack user."""
    return f"<@{user_id}>"


def mrkdwn_section(text: str, bid: str, **extra: Any) -> SectionBlock:
    """A section with mrkdwn text clipped to Slack's section limit."""
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text, MAX_SECTION_TEXT)), block_id=bid, **extra
    )


def context(texts: Sequence[str], bid: str) -> ContextBlock:
    """A context block of mrkdwn elements."""
    return ContextBlock(elements=[MarkdownTextObject(text=t) for t in texts], block_id=bid)


def as_dicts(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """The blocks as Slack's JSON (validated by slack_sdk on the way)."""
    return [b.to_dict() for b in blocks]
