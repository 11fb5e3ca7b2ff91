"""The failure alert posted in the alerts channel: a burst's count, its first records, buttons.

Pure: the draft comes from the engine's outbox (`sync_engine.alerts`), the nonce from the
caller. Every update of the same alert is rendered whole again, with new block ids.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, HeaderBlock

from bot.ledger_names import capital, the_ledger
from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    block_id,
    context,
    data,
    escape,
    money,
    mrkdwn_section,
    next_retry,
    plain,
    slack_date,
)
from bot.slack.failed_list import view_and_retry_buttons
from bot.slack.ids import Ids
from sync_engine import AlertKind
from sync_engine.alerts import AlertDraft, AlertRecord, OutageDraft
from sync_engine.results import LedgerView

ALERT_VALUE = "alert"


def alert_blocks(draft: AlertDraft, nonce: str, ledger: LedgerView | None = None) -> list[Block]:
    """The whole alert: headline, when, the first few records, how many more, the buttons
    (whose Retry All names `ledger`, the gateway when None)."""
    blocks: list[Block] = [
        HeaderBlock(text=headline(draft), block_id=block_id(Ids.ALERT_HEAD, nonce)),
        context([since_line(draft)], block_id(Ids.ALERT_SUMMARY, nonce)),
    ]
    blocks += [row(r, block_id(Ids.ALERT_ROW, nonce, i)) for i, r in enumerate(draft.shown)]
    if draft.more:
        more = f"…and {draft.more} more: *View Failed Records* lists every one."
        blocks.append(context([more], block_id(Ids.ALERT_MORE, nonce)))
    buttons = view_and_retry_buttons(draft.queue_total, ALERT_VALUE, "alert", ledger)
    blocks.append(ActionsBlock(elements=buttons, block_id=block_id(Ids.ALERT_ACTIONS, nonce)))
    return blocks


def headline(draft: AlertDraft) -> str:
    """How many failed (and how many were parked) in this burst."""
    parts = []
    if draft.failed:
        parts.append(f"{draft.failed} record{_s(draft.failed)} failed to sync")
    if draft.parked:
        parts.append(f"{draft.parked} parked")
    return ":warning: " + ", ".join(parts)


def alert_text(draft: AlertDraft, ledger: LedgerView | None = None) -> str:
    """The notification fallback beside the blocks (naming the gateway when `ledger` is None)."""
    return f"{headline(draft).removeprefix(':warning: ')} to {the_ledger(ledger, accounting=True)}"


def since_line(draft: AlertDraft) -> str:
    """When the burst began, and the size of the whole failed queue now."""
    return (
        f"First failure {slack_date(draft.opened_at)} · *{draft.queue_total}* in the failed "
        "queue at the last update · this alert updates itself for a minute"
    )


def row(record: AlertRecord, bid: str) -> Block:
    """One record: id, kind, payee, amount, error, and its next automatic retry."""
    text = (
        f"{data(record.source_id)} · {record.kind} · "
        f"{data(record.payee_name, MAX_NAME_CHARS)} ({data(record.payee_id, MAX_NAME_CHARS)}) · "
        f"*{money(record.amount, record.currency)}*\n"
        f":x: {data(record.error, MAX_ERROR_CHARS)} (_{record.error_class}_)\n"
        f"next automatic retry: {next_retry(record.parked, record.next_attempt_at)}"
    )
    return mrkdwn_section(text, bid)


def outage_blocks(
    draft: OutageDraft, queue_total: int, nonce: str, ledger: LedgerView | None = None
) -> list[Block]:
    """The ledger is down (since when, why), or, updated in place, back again; `ledger` is
    the ledger's connection now (an outage it must be reconnected for never ends by itself),
    and names it (the gateway when None)."""
    the = capital(the_ledger(ledger, accounting=True))  # a header is plain text: no escaping
    if draft.kind != AlertKind.RECOVERED and ledger is not None and ledger.reconnect_required:
        head, body = _reconnect_words(draft, ledger)
    elif draft.kind == AlertKind.RECOVERED:
        head = f":white_check_mark: {the} is back"
        body = (
            f"It was down from {slack_date(draft.since)} to {slack_date(draft.until)}: "
            f"{data(draft.reason, MAX_ERROR_CHARS)}\nAutomatic retries have resumed."
        )
        if draft.returned:
            body += f" {draft.returned} record{_s(draft.returned)} parked by the auth failure "
            body += "are back in the queue."
    else:
        head = f":rotating_light: {the} is down"
        body = (
            f"Since {slack_date(draft.since)}: {data(draft.reason, MAX_ERROR_CHARS)}\n"
            "Automatic retries and first syncs are paused; they resume by themselves when "
            f"{escape(the_ledger(ledger))} answers again. Manual retries still work, but will "
            "likely fail until then."
        )
    buttons = view_and_retry_buttons(queue_total, ALERT_VALUE, "alert", ledger)
    return [
        HeaderBlock(text=head, block_id=block_id(Ids.ALERT_HEAD, nonce)),
        mrkdwn_section(body, block_id(Ids.ALERT_SUMMARY, nonce)),
        ActionsBlock(elements=buttons, block_id=block_id(Ids.ALERT_ACTIONS, nonce)),
    ]


def _reconnect_words(draft: OutageDraft, ledger: LedgerView) -> tuple[str, str]:
    """The headline and body of an outage that lasts until someone connects the ledger again."""
    head = f":rotating_light: The {ledger.name} connection must be reconnected"
    body = (
        f"Since {slack_date(draft.since)}: {data(draft.reason, MAX_ERROR_CHARS)}\n"
        f"Automatic sends are paused until an administrator runs `{ledger.connect_command}` on "
        "the server; the records parked meanwhile then return to the queue by themselves. "
        "Manual retries will fail until then."
    )
    return head, body


def outage_text(draft: OutageDraft, ledger: LedgerView | None = None) -> str:
    """The notification fallback of the outage message."""
    the = capital(plain(the_ledger(ledger, accounting=True), MAX_NAME_CHARS))
    if draft.kind == AlertKind.RECOVERED:
        return f"{the} is back; automatic retries have resumed"
    if ledger is not None and ledger.reconnect_required:
        return (
            f"The {ledger.name} connection must be reconnected: run `{ledger.connect_command}`"
            f" on the server ({plain(draft.reason, MAX_ERROR_CHARS)})"
        )
    # The fallback is shown in notifications as it is: escaped like every text from outside.
    return f"{the} is down: {plain(draft.reason, MAX_ERROR_CHARS)}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
