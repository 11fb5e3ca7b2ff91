"""A pause the ledger imposes (its daily budget spent), as Slack shows it.

Pure: the alert posted once in the alerts channel when a sync first sees the pause, and the
line the status answer and the Home tab show while it lasts. The reason comes from the
ledger's adapter: it is escaped and bounded like any text from outside.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.slack.blocks import block_id, data, mrkdwn_section, plain, slack_date
from bot.slack.ids import Ids
from sync_engine import LedgerPause, PauseDraft

MAX_REASON_CHARS = 300
HEADLINE = ":double_vertical_bar: Sending to the ledger is paused"


def pause_blocks(draft: PauseDraft, nonce: str) -> list[Block]:
    """The pause alert: why, until when, and what waits meanwhile."""
    body = (
        f"{data(draft.reason, MAX_REASON_CHARS)}\n"
        f"Automatic sends and retries wait until {slack_date(draft.until)} and resume by "
        "themselves. Manual retries are refused until then."
    )
    return [
        HeaderBlock(text=HEADLINE, block_id=block_id(Ids.ALERT_HEAD, nonce)),
        mrkdwn_section(body, block_id(Ids.ALERT_SUMMARY, nonce)),
    ]


def pause_text(draft: PauseDraft) -> str:
    """The notification fallback of the pause alert (escaped like every text from outside)."""
    return f"Sending to the ledger is paused: {plain(draft.reason, MAX_REASON_CHARS)}"


def pause_words(pause: LedgerPause | None) -> str | None:
    """The pause in force, for the status answer or the Home tab; None when there is none."""
    if pause is None:
        return None
    return (
        f":double_vertical_bar: *Sending paused* until {slack_date(pause.until)}: "
        f"{data(pause.reason, MAX_REASON_CHARS)}. Manual retries are refused until then."
    )
