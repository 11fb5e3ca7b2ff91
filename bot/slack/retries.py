"""Retries asked for in Slack: run on the bot's background threads, answered in one reply.

The engine records every outcome before Slack hears of it, so a Slack call that fails here
(after the client's own retries of 429 and 5xx) loses a message, never a result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass

from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import Block

from bot.logs import log_with_id
from bot.slack.blocks import new_nonce
from bot.slack.list_state import ListState
from bot.slack.messenger import Messenger, NotInChannel
from bot.slack.retry_reply import (
    DETAIL_LIMIT,
    progress_reply,
    progress_text,
    retry_reply,
    retry_reply_text,
    trouble_reply,
    trouble_text,
)
from bot.slack.screens import Screens
from sync_engine import RetryKind, Via
from sync_engine.engine import SyncEngine
from sync_engine.errors import SyncEngineError
from sync_engine.results import LedgerView, Outage, RetryResult

log = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 3.0


@dataclass(frozen=True)
class RetryOrder:
    """One retry event asked for in Slack, and where its answer goes."""

    requested_by: str
    channel: str
    thread_ts: str
    source_ids: tuple[str, ...] | None  # None: the whole failed queue
    expected: int
    list_state: ListState | None = None  # the list message (at thread_ts) to update afterwards

    @property
    def kind(self) -> RetryKind:
        """`selected` or `all`, as the engine names retry events."""
        return RetryKind.ALL if self.source_ids is None else RetryKind.SELECTED


class ThreadReply:
    """The retry's one reply: posted at the end, or for a long retry a progress reply first."""

    def __init__(
        self,
        messenger: Messenger,
        order: RetryOrder,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.messenger, self.order, self.clock = messenger, order, clock
        self.ts: str | None = None
        self._last = float("-inf")
        self._lock = threading.Lock()

    def start(self) -> None:
        """Post the progress reply now when the retry is too long to wait for in silence."""
        if self.order.expected > DETAIL_LIMIT:
            self._show(0, self.order.expected)

    def progress(self, done: int, total: int | None) -> None:
        """The engine's progress callback: update the reply at most every 3 seconds."""
        with self._lock:
            if self.ts is None or self.clock() - self._last < PROGRESS_EVERY_SECONDS:
                return
            self._show(done, total or self.order.expected)

    def _show(self, done: int, total: int) -> None:
        o = self.order
        blocks = progress_reply(done, total, o.requested_by, o.kind, new_nonce())
        self._send(progress_text(done, total), blocks)
        self._last = self.clock()

    def finish(
        self, result: RetryResult, outage: Outage | None = None, ledger: LedgerView | None = None
    ) -> None:
        """Each record's result, or the summary, in place of the progress reply if there was one;
        with a warning while the ledger (named by `ledger`) is held to be down."""
        o = self.order
        blocks = retry_reply(
            result,
            requested_by=o.requested_by,
            kind=o.kind,
            nonce=new_nonce(),
            outage=outage,
            ledger=ledger,
        )
        self._send(retry_reply_text(result, o.kind), blocks)

    def trouble(self, message: str) -> None:
        """Say in the thread that the retry could not run or finish."""
        self._send(trouble_text(message), trouble_reply(message, new_nonce()))

    def _send(self, text: str, blocks: Sequence[Block]) -> None:
        o = self.order
        try:
            if self.ts is None:
                self.ts = self.messenger.post(o.channel, text, blocks, thread_ts=o.thread_ts).ts
            else:
                self.messenger.update(o.channel, self.ts, text, blocks)
        except (SlackClientError, NotInChannel):
            log.exception("could not post a retry reply in %s/%s", o.channel, o.thread_ts)


class Retrier:
    """Runs retry orders in the background, then answers in the thread and refreshes views."""

    def __init__(
        self,
        engine: SyncEngine,
        messenger: Messenger,
        screens: Screens,
        executor: Executor,
        publish_home: Callable[[str], None],
    ) -> None:
        self.engine, self.messenger, self.screens = engine, messenger, screens
        self.executor = executor
        self.publish_home = publish_home
        self._lock = threading.Lock()
        self._running: set[Future[None]] = set()

    def submit(self, order: RetryOrder) -> Future[None]:
        """Queue the retry; the listener returns at once (Slack was acknowledged already)."""
        future = self.executor.submit(self.run, order)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def wait(self) -> None:
        """Wait for the retries submitted so far (on shutdown)."""
        with self._lock:
            running = list(self._running)
        wait(running)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)

    def run(self, order: RetryOrder) -> None:
        """Retry, answer in the thread, update the list in place, refresh the asker's Home tab."""
        reply = ThreadReply(self.messenger, order)
        reply.start()
        try:
            result = self._retry(order, reply.progress)
        except SyncEngineError as exc:
            reply.trouble(str(exc))
            return
        except Exception:
            error_id = log_with_id(log, "retry for %s failed", order.requested_by)
            reply.trouble(f"The retry stopped on an error inside syncbot (error id {error_id}).")
            return
        outage = self._outage()
        reply.finish(result, outage, self.engine.ledger_view() if outage is not None else None)
        self._refresh(order)

    def _retry(self, order: RetryOrder, progress: Callable[[int, int | None], None]) -> RetryResult:
        if order.source_ids is None:
            return self.engine.retry_all(
                requested_by=order.requested_by, via=Via.SLACK, progress=progress
            )
        return self.engine.retry_selected(
            list(order.source_ids),
            requested_by=order.requested_by,
            via=Via.SLACK,
            progress=progress,
        )

    def _outage(self) -> Outage | None:
        try:
            return self.engine.outage()
        except SyncEngineError:
            return None

    def _refresh(self, order: RetryOrder) -> None:
        # Each view is refreshed on its own: Slack refusing one must not cost the other.
        if order.list_state is not None:
            try:
                shown = self.screens.failed_list(order.list_state)
                self.messenger.update(order.channel, order.thread_ts, shown.text, shown.blocks)
            except (SlackClientError, SyncEngineError):
                log.exception("could not update the failed-records list after a retry")
        try:
            self.publish_home(order.requested_by)
        except (SlackClientError, SyncEngineError):
            log.exception("could not refresh %s's Home tab after a retry", order.requested_by)
