"""The failed-records list message: one page of rows with checkboxes, filters, paging, retries.

Pure: the page comes from the engine, the state and the nonce from the caller. One row is one
section whose accessory is a one-option checkbox group, so the 10-option cap of a checkbox
group never limits the page, and a page of 15 rows (the most allowed) takes 23 blocks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    DividerBlock,
    HeaderBlock,
    Option,
    PlainTextObject,
    StaticSelectElement,
)

from bot.ledger_names import the_ledger
from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    block_id,
    context,
    data,
    money,
    mrkdwn_section,
    next_retry,
)
from bot.slack.ids import Ids
from bot.slack.list_state import ListState
from sync_engine import ErrorClass, Kind
from sync_engine.results import FailedPage, FailedRecord, LedgerView


def failed_list(
    page: FailedPage,
    state: ListState,
    *,
    page_size: int,
    queue_total: int,
    nonce: str,
    ledger: LedgerView | None = None,
) -> list[Block]:
    """The whole list message for one page; `queue_total` is the unfiltered failed count,
    `ledger` the ledger Retry All names (the gateway when None)."""
    blocks: list[Block] = [
        HeaderBlock(text="Failed accounting syncs", block_id=block_id(Ids.LIST_HEADER, nonce)),
        context([summary_line(page, state, page_size)], block_id(Ids.LIST_SUMMARY, nonce)),
        filters(state, nonce),
        DividerBlock(block_id=block_id(Ids.LIST_DIVIDER, nonce, 0)),
    ]
    if page.items:
        blocks += [row(r, block_id(Ids.LIST_ROW, nonce, i)) for i, r in enumerate(page.items)]
    else:
        blocks.append(
            mrkdwn_section(empty_line(state, queue_total), block_id(Ids.LIST_EMPTY, nonce))
        )
    blocks.append(DividerBlock(block_id=block_id(Ids.LIST_DIVIDER, nonce, 1)))
    buttons = actions(page, state, queue_total, ledger)
    if buttons:
        blocks.append(ActionsBlock(elements=buttons, block_id=block_id(Ids.LIST_ACTIONS, nonce)))
    hint = "Tick records, then *Retry Selected*. Results are posted in this message's thread."
    blocks.append(context([hint], block_id(Ids.LIST_FOOT, nonce)))
    return blocks


def failed_list_text(page: FailedPage, state: ListState) -> str:
    """The notification fallback beside the blocks (short: Slack caps it at 4,000)."""
    return f"{page.total} failed accounting sync(s){filter_words(state)}"


def summary_line(page: FailedPage, state: ListState, page_size: int) -> str:
    """How many failed, with which filters, and which page this is."""
    pages = max(1, math.ceil(page.total / page_size))
    return f"*{page.total}* failed record(s){filter_words(state)} · page {state.page} of {pages}"


def filter_words(state: ListState) -> str:
    """The active filters in words, or nothing."""
    words = [w for w in (state.kind, state.error_class) if w]
    return f" ({', '.join(words)})" if words else ""


def empty_line(state: ListState, queue_total: int) -> str:
    """What an empty page says."""
    if queue_total == 0:
        return ":tada: The failed queue is empty."
    if state.kind or state.error_class:
        return f"No failed records match{filter_words(state)}; {queue_total} in the whole queue."
    return "No more failed records on this page."


def row(record: FailedRecord, bid: str) -> Block:
    """One failed record with its checkbox; every field from the record shown as data."""
    due = next_retry(record.parked, record.next_attempt_at)
    text = (
        f"{data(record.source_id)} · {record.kind} · "
        f"{data(record.payee_name, MAX_NAME_CHARS)} ({data(record.payee_id, MAX_NAME_CHARS)}) · "
        f"*{money(record.amount, record.currency)}*\n"
        f":x: {data(record.last_error or 'no error recorded', MAX_ERROR_CHARS)} "
        f"(_{record.error_class or 'unknown'}_)\n"
        f"retries: {record.retry_count} · next automatic retry: {due}"
    )
    box = CheckboxesElement(
        action_id=Ids.ROW_CHECK, options=[Option(value=record.source_id, label="Select")]
    )
    return mrkdwn_section(text, bid, accessory=box)


def filters(state: ListState, nonce: str) -> ActionsBlock:
    """Two selects, by kind and by error class; each option holds the state it leads to."""
    by_kind = select(
        Ids.FILTER_KIND,
        "Any kind",
        tuple(Kind),
        state.kind,
        lambda k: state.filtered(kind=k, error_class=state.error_class),
    )
    by_class = select(
        Ids.FILTER_CLASS,
        "Any error class",
        tuple(ErrorClass),
        state.error_class,
        lambda c: state.filtered(kind=state.kind, error_class=c),
    )
    return ActionsBlock(block_id=block_id(Ids.LIST_FILTERS, nonce), elements=[by_kind, by_class])


def select(
    action_id: Ids,
    any_label: str,
    values: tuple[str, ...],
    current: str | None,
    leads_to: Callable[[str | None], ListState],
) -> StaticSelectElement:
    """A filter select: "any" then each value, the current one shown as chosen."""
    options = [Option(value=leads_to(None).encode(), label=any_label)]
    options += [Option(value=leads_to(v).encode(), label=v) for v in values]
    chosen = options[1 + values.index(current)] if current in values else options[0]
    return StaticSelectElement(
        placeholder=any_label, action_id=action_id, options=options, initial_option=chosen
    )


def actions(
    page: FailedPage, state: ListState, queue_total: int, ledger: LedgerView | None = None
) -> list[ButtonElement]:
    """Retry Selected, Retry All Failed (confirmed, with the count), previous and next page."""
    buttons: list[ButtonElement] = []
    if page.items:
        buttons.append(
            ButtonElement(
                text="Retry Selected",
                action_id=Ids.RETRY_SELECTED,
                value=state.encode(),
                style="primary",
            )
        )
    if queue_total:
        buttons.append(retry_all_button(queue_total, state.encode(), "list", ledger))
    if state.page > 1:
        back = ListState(state.kind, state.error_class, None, state.page - 1)
        buttons.append(
            ButtonElement(text="◀ Previous", action_id=Ids.PAGE_PREV, value=back.encode())
        )
    if page.next_cursor is not None:
        ahead = ListState(state.kind, state.error_class, page.next_cursor, state.page + 1)
        buttons.append(ButtonElement(text="Next ▶", action_id=Ids.PAGE_NEXT, value=ahead.encode()))
    return buttons


def view_and_retry_buttons(
    queue_total: int, value: str, drawn: str, ledger: LedgerView | None = None
) -> list[ButtonElement]:
    """View Failed Records, and Retry All Failed while anything failed (Home tab, alerts);
    `drawn` names the surface for the confirm dialog ("alert", "dashboard"), `ledger` the
    ledger it names (the gateway when None)."""
    buttons = [
        ButtonElement(
            text="View Failed Records", action_id=Ids.VIEW_FAILED, value=value, style="primary"
        )
    ]
    if queue_total:
        buttons.append(retry_all_button(queue_total, value, drawn, ledger))
    return buttons


def retry_all_button(
    queue_total: int, value: str, drawn: str, ledger: LedgerView | None = None
) -> ButtonElement:
    """Retry All Failed, behind a confirm dialog that promises no count the click cannot keep.

    The click retries the queue as it is when Slack delivers it, which may have grown or shrunk
    since this `drawn` surface ("list", "alert", "dashboard") was rendered: the dialog says how
    many were in the queue then, as a figure of that moment, and its button no number.
    """
    were = "1 record was" if queue_total == 1 else f"{queue_total} records were"
    return ButtonElement(
        text="Retry All Failed",
        action_id=Ids.RETRY_ALL,
        value=value,
        style="danger",
        confirm=ConfirmObject(
            title="Retry all failed records?",
            text=PlainTextObject(
                text=(
                    "Every record in the failed queue at the moment you confirm is sent to "
                    f"{the_ledger(ledger, accounting=True)} as one retry event, whatever its "
                    "backoff says. "
                    f"{were} in the queue when this {drawn} was drawn."
                )
            ),
            confirm="Retry all",
            deny="Cancel",
        ),
    )
