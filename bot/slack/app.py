"""The Bolt app and everything its listeners share, built once at start-up.

The listener modules know only `Deps`; this module builds it and calls each one's
`register(app, deps)`, so nothing imports back into here.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack import errors
from bot.slack.alert_poster import AlertPoster
from bot.slack.auth import Authorizer, lookup_client
from bot.slack.deps import Deps, HomeTab
from bot.slack.errors import AnswerThreads
from bot.slack.listeners import actions, commands, events
from bot.slack.messenger import Messenger
from bot.slack.privacy import ChannelPrivacy
from bot.slack.retries import Retrier
from bot.slack.screens import Screens
from bot.slack.settings import SlackSettings
from sync_engine import SyncEngine

log = logging.getLogger(__name__)

# Bolt's own default pool size; owned here so that shutting down waits for running listeners.
LISTENER_WORKERS = 5
# Listeners only acknowledge on Bolt's threads and leave their work (and its Slack calls) to
# these: a Slack call may wait here, out a 429's Retry-After or the client's retries, without
# keeping Bolt from acknowledging the next requests within Slack's 3 seconds.
ANSWER_WORKERS = 4
# Retries asked for in Slack run here, not on a listener: threads of their own, so that a
# retry never waits behind the engine's sending threads it fans out to.
BACKGROUND_WORKERS = 4
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
    """The Bolt app, what its listeners share, and the threads and alert poster it owns."""

    app: App
    deps: Deps
    listener_executor: ThreadPoolExecutor
    answer_executor: ThreadPoolExecutor
    alert_poster: AlertPoster | None
    background: ThreadPoolExecutor

    @property
    def settings(self) -> SlackSettings:
        """The Slack settings the bot was built with."""
        return self.deps.settings

    @property
    def engine(self) -> SyncEngine:
        """The engine the listeners call in process."""
        return self.deps.engine

    @property
    def messenger(self) -> Messenger:
        """The Slack client the listeners answer through."""
        return self.deps.messenger

    @property
    def retrier(self) -> Retrier:
        """Runs retries in the background and answers in their threads."""
        return self.deps.retrier

    def is_admin(self, user: str) -> bool:
        """Whether `user` may view records, retry and resolve."""
        return self.deps.is_admin(user)

    def close(self) -> None:
        """Let running listeners, then their answers, then running retries finish."""
        self.listener_executor.shutdown(wait=True)
        self.answer_executor.shutdown(wait=True)
        self.deps.retrier.wait()
        self.background.shutdown(wait=True)


def build_bot(settings: SlackSettings, engine: SyncEngine) -> SlackBot:
    """The Bolt app with every listener registered, calling `engine` in process."""
    client = make_client(settings)
    listener_executor = ThreadPoolExecutor(
        LISTENER_WORKERS, thread_name_prefix="syncbot-slack-listener"
    )
    answer_executor = ThreadPoolExecutor(ANSWER_WORKERS, thread_name_prefix="syncbot-slack-answer")
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
    background = ThreadPoolExecutor(BACKGROUND_WORKERS, thread_name_prefix="syncbot-work")
    deps = make_deps(settings, engine, Messenger(client), answer_executor, background)
    if not settings.admins and not settings.admin_usergroup:
        log.warning("no SYNCBOT_ADMIN_USERS or SYNCBOT_ADMIN_USERGROUP: nobody may act")
    for module in (commands, actions, events, errors):
        module.register(app, deps)
    channel = settings.alert_channel
    poster = (
        AlertPoster(engine.alert_outbox(), deps.messenger, channel, engine.ledger_view)
        if channel
        else None
    )
    return SlackBot(app, deps, listener_executor, answer_executor, poster, background)


def make_deps(
    settings: SlackSettings,
    engine: SyncEngine,
    messenger: Messenger,
    answers: Executor,
    background: Executor,
) -> Deps:
    """What the listeners share: Slack-side services over `engine` and `messenger`."""
    screens = Screens(engine, settings.page_size)
    # Its own client, without retry handlers: an admin check never sleeps out Slack's retries.
    authorizer = Authorizer(
        settings.admins,
        settings.admin_usergroup,
        lookup_client(settings.bot_token, settings.api_url),
    )
    home = HomeTab(messenger, screens, authorizer)
    return Deps(
        settings=settings,
        engine=engine,
        messenger=messenger,
        screens=screens,
        authorizer=authorizer,
        privacy=ChannelPrivacy(messenger.client, allow_public=settings.allow_public_channels),
        retrier=Retrier(engine, messenger, screens, background, home.publish),
        home=home,
        after_ack=AnswerThreads(answers, messenger),
    )
