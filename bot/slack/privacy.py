"""Where record data may be posted: private channels and direct messages, not public channels
and not channels shared with another organisation (Slack Connect).

Payee names, amounts and errors are financial data. `/accounting failed`, `retry` and
`history` check the channel they were typed in with `conversations.info` (cached briefly) and,
in a public or shared channel, only answer the person that they work elsewhere.
SYNCBOT_ALLOW_PUBLIC_CHANNELS=true turns the check off.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.ids import COMMAND

log = logging.getLogger(__name__)

# A channel made public (or shared) is noticed within this long; a command typed there meanwhile
# was typed by an administrator in a channel that was private a minute ago.
CACHE_SECONDS = 60.0
# Channel ids come from requests: bound what they can make the cache hold.
CACHE_SIZE = 1000
NOT_VISIBLE = frozenset({"channel_not_found"})


class PrivacyUnknown(Exception):
    """Slack did not say whether the channel is private; the message says what to do."""


def exposure(channel: dict[str, Any]) -> str | None:
    """Who else can read `channel` (conversations.info's `channel`): None if only its members."""
    if channel.get("is_ext_shared") or channel.get("is_pending_ext_shared"):
        return "shared with another organisation (Slack Connect)"
    if channel.get("is_im") or channel.get("is_private"):
        return None
    return "a public channel"


def refusal(subcommand: str, why: str) -> str:
    """The answer to a private-only subcommand typed in an exposed channel."""
    shown = subcommand.replace("_", " ")
    return (
        f":lock: `{COMMAND} {shown}` shows payee names, amounts and errors, so it works only "
        f"in a private channel or a direct message with me. This channel is {why}. "
        "Nothing was posted."
    )


def unknown_text(error: str) -> str:
    """The answer when Slack would not say whether the channel is private (fail closed)."""
    if error in NOT_VISIBLE:
        return (
            ":lock: I can't see this channel, so I can't check that it is private. Invite me "
            "with `/invite @syncbot` (or use a direct message with me), then try again. "
            "Nothing was posted."
        )
    return (
        f":lock: I couldn't check whether this channel is private (Slack answered `{error}`), "
        "so nothing was posted. Try again in a moment, or in a direct message with me."
    )


class ChannelPrivacy:
    """Answers "who else can read this channel?", from conversations.info, cached briefly."""

    def __init__(
        self,
        client: WebClient,
        *,
        allow_public: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.allow_public = allow_public
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, str | None]] = {}

    def refused(self, subcommand: str, channel: str) -> str | None:
        """What to tell the person instead of answering `subcommand`, which shows record data,
        in `channel`; None to go on."""
        if self.allow_public:
            return None
        try:
            why = self.exposure_of(channel)
        except PrivacyUnknown as exc:
            return str(exc)
        return refusal(subcommand, why) if why is not None else None

    def exposure_of(self, channel: str) -> str | None:
        """Who else can read `channel` (None: its members only); PrivacyUnknown if unknown."""
        now = self.clock()
        with self._lock:
            cached = self._cache.get(channel)
            if cached is not None and now < cached[0]:
                return cached[1]
        try:
            answer = self.client.conversations_info(channel=channel)
            info = answer.get("channel")
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            log.warning("conversations.info failed for a command's channel: %s", error)
            raise PrivacyUnknown(unknown_text(error[:60])) from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            log.warning("conversations.info failed for a command's channel: %s", type(exc).__name__)
            raise PrivacyUnknown(unknown_text("no answer")) from exc
        if not isinstance(info, dict):
            raise PrivacyUnknown(unknown_text("no channel"))
        why = exposure(info)
        self._remember(channel, now + CACHE_SECONDS, why)
        return why

    def _remember(self, channel: str, until: float, why: str | None) -> None:
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                now = self.clock()
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                while len(self._cache) >= CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
            self._cache[channel] = (until, why)


def warn_if_alert_channel_exposed(channel: str | None, client: WebClient) -> None:
    """`serve` start-up: log a WARNING if SYNCBOT_ALERT_CHANNEL is public or shared."""
    if channel is None:
        return
    try:
        why = ChannelPrivacy(client).exposure_of(channel)
    except PrivacyUnknown:
        log.warning(
            "could not check that SYNCBOT_ALERT_CHANNEL %s is private: alerts show payee "
            "names, amounts and errors to everyone who can read it",
            channel,
        )
        return
    if why is not None:
        log.warning(
            "SYNCBOT_ALERT_CHANNEL %s is %s: alerts (payee names, amounts, errors) and the "
            "lists asked for in the Home tab are readable by everyone there; use a private "
            "channel of the administrators",
            channel,
            why,
        )
