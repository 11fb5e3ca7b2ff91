"""The Bolt app and everything its listeners share, built once at start-up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack.alert_poster import AlertPoster
from bot.slack.auth import Authorizer, lookup_client
from bot.slack.errors import reporting
from bot.slack.messenger import Messenger, Respond
from bot.slack.privacy import ChannelPrivacy
from bot.slack.retries import Retrier
from bot.slack.screens import Screens
from bot.slack.settings import SlackSettings
from sync_engine.engine import SyncEngine

log = logging.getLogger(__name__)

# Bolt's own default pool size; owned here so that shutting down waits for running listeners.
LISTENER_WORKERS = 5
# Listeners only acknowledge on Bolt's threads and leave their work (and its Slack calls) to
# these: a Slack call may wait here, out a 429's Retry-After or the client's retries, without
# keeping Bolt from acknowledging the next requests within Slack's 3 seconds.
ANSWER_WORKERS = 4
RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2


def make_client(settings: SlackSettings) -> WebClient:
    """A Web API client on SLACK_API_URL that retries 429 (after Retry-After) and 5xx a little."""
    return WebClient(
        token=settings.bot_token,
        base_url=settings.api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ],
    )


@dataclass
class SlackBot:
    """The Bolt app with the engine, the Slack client, authorization, retries and alerts."""

    settings: SlackSettings
    engine: SyncEngine
    app: App
    authorizer: Authorizer
    messenger: Messenger
    screens: Screens
    listener_executor: ThreadPoolExecutor
    retrier: Retrier = field(init=False)
    alert_poster: AlertPoster | None = field(init=False)
    privacy: ChannelPrivacy = field(init=False)
    answer_executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.answer_executor = ThreadPoolExecutor(
            ANSWER_WORKERS, thread_name_prefix="syncbot-slack-answer"
        )
        self.retrier = Retrier(
            self.engine, self.messenger, self.screens, self.engine.background, self.publish_home
        )
        self.privacy = ChannelPrivacy(
            self.messenger.client, allow_public=self.settings.allow_public_channels
        )
        channel = self.settings.alert_channel
        self.alert_poster = (
            AlertPoster(self.engine.alerts, self.messenger, channel) if channel else None
        )

    def is_admin(self, user: str) -> bool:
        """Whether `user` may view records, retry and resolve."""
        return self.authorizer.is_admin(user)

    def publish_home(self, user: str, list_link: str | None = None) -> None:
        """Show `user` the dashboard (or, to a non-admin, the short note) in the Home tab."""
        self.messenger.publish_home(
            user, self.screens.home(admin=self.is_admin(user), list_link=list_link)
        )

    def after_ack(
        self, body: dict[str, Any], respond: Respond | None, work: Callable[[], None]
    ) -> None:
        """Run a listener's work on the answer threads; any error is told to whoever asked."""

        def run() -> None:
            with reporting(self, body, respond):
                work()

        self.answer_executor.submit(run)

    def close(self) -> None:
        """Let running listeners, then their answers, then running retries finish."""
        self.listener_executor.shutdown(wait=True)
        self.answer_executor.shutdown(wait=True)
        self.retrier.wait()


def build_bot(settings: SlackSettings, engine: SyncEngine) -> SlackBot:
    """The Bolt app with every listener registered, calling `engine` in process."""
    from bot.slack import errors
    from bot.slack.listeners import actions, commands, events

    client = make_client(settings)
    listener_executor = ThreadPoolExecutor(
        LISTENER_WORKERS, thread_name_prefix="syncbot-slack-listener"
    )
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        # Socket Mode connections are authenticated by Slack; there is nothing to sign.
        request_verification_enabled=not settings.socket_mode,
        # auth.test is called on the first request instead, so start-up never waits on Slack.
        token_verification_enabled=False,
        process_before_response=False,
        listener_executor=listener_executor,
        name="syncbot",
    )
    messenger = Messenger(client)
    screens = Screens(engine, settings.page_size)
    # Its own client, without retry handlers: an admin check never sleeps out Slack's retries.
    authorizer = Authorizer(
        settings.admins,
        settings.admin_usergroup,
        lookup_client(settings.bot_token, settings.api_url),
    )
    bot = SlackBot(settings, engine, app, authorizer, messenger, screens, listener_executor)
    if not settings.admins and not settings.admin_usergroup:
        log.warning("no SYNCBOT_ADMIN_USERS or SYNCBOT_ADMIN_USERGROUP: nobody may act")
    for module in (commands, actions, events, errors):
        module.register(bot)
    return bot
