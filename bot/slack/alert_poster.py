"""Posting the engine's alert outbox to the alerts channel, from whichever process holds the lease.

A new burst of failures is posted with `chat.postMessage`; more failures within its minute
update the same message with `chat.update` at the `ts` the database keeps. Slack being slow or
down (429 or 5xx after the client's own retries, `ok: false` with an error Slack calls passing,
or no connection) leaves the outbox rows for the next flush; Slack refusing the message for
good (the bot is not in the channel, the channel is gone, the token is revoked) drops it with a
log line, so one bad alert never blocks the ones after it.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import Block

from bot.logs import log_with_id
from bot.slack.alert_message import alert_blocks, alert_text, outage_blocks, outage_text
from bot.slack.blocks import new_nonce
from bot.slack.messenger import Messenger, NotInChannel
from bot.slack.pause_message import pause_blocks, pause_text
from sync_engine.alerts import AlertDraft, Alerts, OutageDraft, PauseDraft
from sync_engine.results import LedgerView

log = logging.getLogger(__name__)

LEASE_SECONDS = 30.0
# Enough drafts per flush to post a long backlog's bursts, few enough to renew the lease.
DRAFTS_PER_FLUSH = 20


class SlackUnavailable(Exception):
    """Slack could not take the message now; the outbox keeps it for the next flush."""


# What Slack answers `ok: false` with (HTTP 200) when the fault is its own and passing: "try
# again later". (`internal_error` may come after the message was in fact posted: posting the
# alert twice is better than losing it.)
TRANSIENT_ERRORS = frozenset({"ratelimited", "internal_error", "service_unavailable"})


def _transient(exc: SlackClientError) -> bool:
    """Whether Slack may take the message later (rate limited, its own error, no connection)."""
    if not isinstance(exc, SlackApiError):
        return True
    status = exc.response.status_code
    return status == 429 or status >= 500 or exc.response.get("error") in TRANSIENT_ERRORS


class AlertPoster:
    """Turns the outbox into alerts in one channel; `flush` runs on the scheduler."""

    def __init__(
        self,
        alerts: Alerts,
        messenger: Messenger,
        channel: str,
        ledger: Callable[[], LedgerView] | None = None,
    ) -> None:
        self.alerts, self.messenger, self.channel = alerts, messenger, channel
        self.ledger = ledger  # the ledger's connection, read when an outage is drawn
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def flush(self) -> int:
        """Post or update the alerts the outbox holds; how many were sent (0 without the lease)."""
        if not self.alerts.take_turn(self.owner, LEASE_SECONDS):
            return 0
        sent = 0
        try:
            # Outage messages first: one replaces the per-record alerts just before it.
            while sent < DRAFTS_PER_FLUSH and (
                outage := self.alerts.next_outage_draft(self.channel)
            ):
                self.alerts.posted_outage(outage, self._send_outage(outage))
                sent += 1
            while sent < DRAFTS_PER_FLUSH and (pause := self.alerts.next_pause_draft(self.channel)):
                self.alerts.posted_pause(pause, self._send_pause(pause))
                sent += 1
            while sent < DRAFTS_PER_FLUSH and (draft := self.alerts.next_draft(self.channel)):
                self.alerts.posted(draft, self._send(draft))
                sent += 1
        except SlackUnavailable as exc:
            log.warning("alert not posted, kept for the next try: %s", exc)
        return sent

    def run(self) -> None:
        """The scheduler's job: flush, logging (never raising) whatever goes wrong."""
        try:
            self.flush()
        except Exception:
            log_with_id(log, "posting alerts failed")

    def stop(self) -> None:
        """Hand the lease back so another replica flushes without waiting for it to expire."""
        try:
            self.alerts.give_up_turn(self.owner)
        except Exception:
            log.exception("could not hand back the alert lease")

    def _send(self, draft: AlertDraft) -> str | None:
        """The alert's ts once Slack has it; None if Slack refused it for good (dropped)."""
        ledger = self.ledger() if self.ledger is not None else None  # named by Retry All
        blocks = alert_blocks(draft, new_nonce(), ledger)
        return self._post_or_update(draft.ts, alert_text(draft, ledger), blocks)

    def _send_outage(self, draft: OutageDraft) -> str | None:
        """The outage message's ts: posted, or for a recovery updated in place."""
        # Read for a recovery too: it names the ledger ("QuickBooks is back").
        ledger = self.ledger() if self.ledger is not None else None
        blocks = outage_blocks(draft, self.alerts.queue_total(), new_nonce(), ledger)
        return self._post_or_update(draft.ts, outage_text(draft, ledger), blocks)

    def _send_pause(self, draft: PauseDraft) -> str | None:
        """The pause message's ts once Slack has it (it is posted once, never updated)."""
        return self._post_or_update(None, pause_text(draft), pause_blocks(draft, new_nonce()))

    def _post_or_update(self, ts: str | None, text: str, blocks: list[Block]) -> str | None:
        if ts is not None:
            try:
                self.messenger.update(self.channel, ts, text, blocks)
                return ts
            except SlackClientError as exc:
                if _transient(exc):
                    raise SlackUnavailable(str(exc)) from exc
                # The message was deleted or can no longer be edited: post it anew.
                log.warning("alert %s could not be updated (%s); posting it anew", ts, exc)
        try:
            return self.messenger.post(self.channel, text, blocks).ts
        except NotInChannel:
            log.error(
                "alert dropped: the bot is not a member of %s; invite it to the alerts channel",
                self.channel,
            )
        except SlackClientError as exc:
            if _transient(exc):
                raise SlackUnavailable(str(exc)) from exc
            log.error("alert dropped: Slack refused it in %s: %s", self.channel, exc)
        return None
