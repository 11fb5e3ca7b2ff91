"""Buttons, filters and checkboxes: ack at once, authorize, then one engine call or a retry."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.slack.answers import NOTHING_TICKED, REFUSED, STALE_BUTTON, invite_hint
from bot.slack.blocks import new_nonce
from bot.slack.deps import Deps
from bot.slack.ids import Ids
from bot.slack.list_state import BadListState, ListState
from bot.slack.messenger import NotInChannel, Posted, Respond
from bot.slack.payload import action_value, channel_of, from_home, message_ts_of, ticked, user_of
from bot.slack.retries import RetryOrder
from bot.slack.retry_reply import retry_parent
from sync_engine.errors import UnknownRecord
from sync_engine.records import nameable

Ack = Callable[..., None]


class Clicked:
    """One interaction being answered: who clicked what, on which message or Home tab."""

    def __init__(self, deps: Deps, body: dict[str, Any], respond: Respond) -> None:
        self.deps, self.body, self.respond = deps, body, respond
        self.user = user_of(body)
        self.channel = channel_of(body)
        self.message_ts = message_ts_of(body)
        self.action: dict[str, Any] = (body.get("actions") or [{}])[0]

    def tell(self, text: str) -> None:
        """An ephemeral answer to the person who clicked."""
        self.deps.messenger.tell(self.user, self.channel, text, self.respond)

    def allowed(self) -> bool:
        """Whether the clicker is an administrator; tells them no if not."""
        if self.deps.is_admin(self.user):
            return True
        self.tell(REFUSED)
        return False

    def list_state(self) -> ListState | None:
        """The list state the clicked element holds; None (and a hint) if it holds none."""
        try:
            return ListState.decode(action_value(self.action))
        except BadListState:
            self.tell(STALE_BUTTON)
            return None

    def answer_channel(self) -> str:
        """Where a list or a retry's answer goes: this channel, else the alerts channel or a DM."""
        return self.channel or self.deps.settings.alert_channel or self.user


def register(app: App, deps: Deps) -> None:
    """Listen for every interactive element the bot's messages and Home tab hold."""
    for action_id, handler in HANDLERS.items():
        app.action(action_id)(functools.partial(on_click, deps, handler))
    app.action(Ids.ROW_CHECK)(tick)


def on_click(
    deps: Deps,
    handler: Callable[[Clicked], None],
    ack: Ack,
    body: dict[str, Any],
    respond: Respond,
) -> None:
    """Ack at once, then authorize and run the handler on the answer threads."""
    ack()

    def work() -> None:
        clicked = Clicked(deps, body, respond)
        # Slack always says who clicked; without a user there is no one to answer.
        if clicked.user and clicked.allowed():
            handler(clicked)

    deps.after_ack(body, respond, work)


def tick(ack: Ack) -> None:
    """Acknowledge a ticked or unticked row."""
    # Ticking a box only changes the message's state, read when Retry Selected is clicked.
    ack()


def view_failed(clicked: Clicked) -> None:
    """Post the first page of the list: here, or from the Home tab in the alerts channel."""
    shown = clicked.deps.screens.failed_list(ListState())
    try:
        posted = clicked.deps.messenger.post(clicked.answer_channel(), shown.text, shown.blocks)
    except NotInChannel as exc:
        clicked.tell(invite_hint(exc.channel))
        return
    if from_home(clicked.body):
        link = clicked.deps.messenger.permalink(posted.channel, posted.ts)
        where = f"<#{posted.channel}>" if posted.channel.startswith("C") else "your messages"
        shown_link = f"<{link}|open it> in {where}" if link else f"in {where}"
        clicked.deps.home.publish(clicked.user, list_link=shown_link)


def show_page(clicked: Clicked) -> None:
    """Previous, next, or a new filter: the same list message, updated in place."""
    state = clicked.list_state()
    if state is None or clicked.channel is None or clicked.message_ts is None:
        return
    shown = clicked.deps.screens.failed_list(state)
    clicked.deps.messenger.update(clicked.channel, clicked.message_ts, shown.text, shown.blocks)


def retry_selected(clicked: Clicked) -> None:
    """Retry exactly the ticked rows; answer in the list's thread and update the list."""
    state = clicked.list_state()
    if state is None or clicked.channel is None or clicked.message_ts is None:
        return
    source_ids = tuple(ticked(clicked.body))
    if not source_ids:
        clicked.tell(NOTHING_TICKED)
        return
    if unknown := [s for s in source_ids if not nameable(s)]:
        raise UnknownRecord(unknown)  # forged ticks: told to the clicker like any unknown id
    clicked.deps.engine.refuse_while_paused()  # the ledger's pause, told to the clicker
    order = RetryOrder(
        clicked.user, clicked.channel, clicked.message_ts, source_ids, len(source_ids), state
    )
    clicked.deps.retrier.submit(order)


def retry_all(clicked: Clicked) -> None:
    """Retry the whole failed queue as one event, answering under the clicked message."""
    clicked.deps.engine.refuse_while_paused()  # the ledger's pause, told to the clicker
    count = clicked.deps.engine.count_failed()
    if not count:
        clicked.tell("The failed queue is empty: nothing to retry.")
        return
    where = _retry_thread(clicked, count)
    if where is None:
        return
    state = None
    if not from_home(clicked.body):
        # A list's button holds the list's state; an alert's does not (its message is no list).
        try:
            state = ListState.decode(action_value(clicked.action))
        except BadListState:
            state = None
    order = RetryOrder(clicked.user, where.channel, where.ts, None, count, state)
    clicked.deps.retrier.submit(order)


def _retry_thread(clicked: Clicked, count: int) -> Posted | None:
    """The message the results thread under: the clicked one, or from Home a new one."""
    if clicked.channel is not None and clicked.message_ts is not None:
        return Posted(clicked.channel, clicked.message_ts)
    blocks = retry_parent(clicked.user, None, count, new_nonce())
    try:
        return clicked.deps.messenger.post(
            clicked.answer_channel(), "Retrying accounting syncs", blocks
        )
    except NotInChannel as exc:
        clicked.tell(invite_hint(exc.channel) + " Nothing was retried.")
        return None


HANDLERS: dict[Ids, Callable[[Clicked], None]] = {
    Ids.VIEW_FAILED: view_failed,
    Ids.RETRY_SELECTED: retry_selected,
    Ids.RETRY_ALL: retry_all,
    Ids.PAGE_PREV: show_page,
    Ids.PAGE_NEXT: show_page,
    Ids.FILTER_KIND: show_page,
    Ids.FILTER_CLASS: show_page,
}
