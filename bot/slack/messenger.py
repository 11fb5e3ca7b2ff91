"""The bot's Slack calls: post, update, ephemeral answers, the Home tab. Nothing else posts."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack.blocks import MAX_FALLBACK_TEXT, answer_blocks, as_dicts, clip, new_nonce

log = logging.getLogger(__name__)

# Slack's answers when the bot may not post in a channel (it is not a member of it).
NOT_MEMBER = frozenset({"not_in_channel", "channel_not_found", "is_archived"})

Respond = Callable[..., Any]


@dataclass(frozen=True)
class Posted:
    """Where a posted message is: its channel id and `ts`."""

    channel: str
    ts: str


class NotInChannel(Exception):
    """The bot cannot post in this channel; the person should invite it."""

    def __init__(self, channel: str) -> None:
        super().__init__(f"not a member of {channel}")
        self.channel = channel


class Messenger:
    """A thin layer over `WebClient` that turns Slack's "not a member" into `NotInChannel`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(
        self, channel: str, text: str, blocks: Sequence[Block], thread_ts: str | None = None
    ) -> Posted:
        """Post a message (in a thread when `thread_ts` is given); where it landed."""
        try:
            answer = self.client.chat_postMessage(
                channel=channel,
                text=clip(text, MAX_FALLBACK_TEXT),
                blocks=as_dicts(blocks),
                thread_ts=thread_ts,
            )
        except SlackApiError as exc:
            if exc.response.get("error") in NOT_MEMBER:
                raise NotInChannel(channel) from exc
            raise
        # Posting to a user id lands in the app's direct message, whose channel id differs.
        return Posted(str(answer.get("channel") or channel), str(answer["ts"]))

    def update(self, channel: str, ts: str, text: str, blocks: Sequence[Block]) -> None:
        """Replace a message's text and blocks in place."""
        self.client.chat_update(
            channel=channel, ts=ts, text=clip(text, MAX_FALLBACK_TEXT), blocks=as_dicts(blocks)
        )

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to a message, or None if Slack will not say."""
        try:
            return str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except SlackApiError as exc:
            log.warning("chat.getPermalink failed: %s", exc)
            return None

    def publish_home(self, user: str, view: View) -> None:
        """Show `view` in the user's App Home tab."""
        self.client.views_publish(user_id=user, view=view.to_dict())

    def tell(
        self, user: str, channel: str | None, text: str, respond: Respond | None = None
    ) -> None:
        """An ephemeral answer for one person; where the bot may not post, via `respond`."""
        text = clip(text, MAX_FALLBACK_TEXT)
        # The answer as verbatim sections too: a bare `text` has every URL in it linked.
        blocks = as_dicts(answer_blocks(text, new_nonce()))
        if channel is None:
            # From the Home tab there is no channel: the app's direct message is the only place.
            self.client.chat_postMessage(channel=user, text=text, blocks=blocks)
            return
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        except SlackApiError as exc:
            # Bolt's `respond` refuses to run when the request held no response_url.
            if exc.response.get("error") not in NOT_MEMBER or respond is None or _no_url(respond):
                raise
            # response_url works in any channel the command was typed in, member or not.
            respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


def _no_url(respond: Respond) -> bool:
    return getattr(respond, "response_url", "") is None
