"""Engine reads turned into ready messages and views: the failed-records list and the Home tab."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.blocks import new_nonce
from bot.slack.failed_list import failed_list, failed_list_text
from bot.slack.home import home_refused, home_view
from bot.slack.list_state import ListState
from sync_engine.engine import SyncEngine
from sync_engine.results import FailedPage


@dataclass(frozen=True)
class Message:
    """A message's fallback text and blocks."""

    text: str
    blocks: list[Block]


class Screens:
    """Renders what the engine says now; every render gets new block ids."""

    def __init__(self, engine: SyncEngine, page_size: int) -> None:
        self.engine = engine
        self.page_size = page_size

    def failed_list(self, state: ListState) -> Message:
        """One page of the failed-records list at `state` (the first page if it emptied)."""
        state = self._locate(state)
        page = self._page(state)
        if not page.items and state.page > 1:
            # Retries emptied this page (or the queue shrank under it): show the start again.
            state = state.first_page()
            page = self._page(state)
        blocks = failed_list(
            page,
            state,
            page_size=self.page_size,
            queue_total=self.engine.count_failed(),
            nonce=new_nonce(),
            ledger=self.engine.ledger_view(),
        )
        return Message(failed_list_text(page, state), blocks)

    def _page(self, state: ListState) -> FailedPage:
        return self.engine.list_failed(
            kind=state.kind, error_class=state.error_class, after=state.after, limit=self.page_size
        )

    def _locate(self, state: ListState) -> ListState:
        """The cursor of a page reached backwards (a Previous click carries only the number)."""
        if state.after is not None or state.page == 1:
            return state
        # The engine pages forwards only (keyset after a record id), so the start of page p is
        # the cursor after the first (p - 1) pages.
        before = self.engine.list_failed(
            kind=state.kind,
            error_class=state.error_class,
            limit=(state.page - 1) * self.page_size,
        )
        if before.next_cursor is None:
            return state.first_page()
        return ListState(state.kind, state.error_class, before.next_cursor, state.page)

    def home(self, *, admin: bool, list_link: str | None = None) -> View:
        """The dashboard for an administrator; a short note, no figures, for anyone else."""
        if not admin:
            return home_refused(new_nonce())
        return home_view(
            self.engine.status(),
            queue_total=self.engine.count_failed(),
            list_link=list_link,
            nonce=new_nonce(),
        )
