"""What the listeners need, handed to each listener module's `register(app, deps)`.

Built once by `bot.slack.app.build_bot`; it imports no listener module, so the listeners can
import it without importing the app that registers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.slack.auth import Authorizer
from bot.slack.messenger import Messenger, Respond
from bot.slack.privacy import ChannelPrivacy
from bot.slack.retries import Retrier
from bot.slack.screens import Screens
from bot.slack.settings import SlackSettings
from sync_engine.engine import SyncEngine


class AfterAck(Protocol):
    """Runs a listener's work after its `ack()`; any error is told to whoever asked."""

    def __call__(
        self, body: dict[str, Any], respond: Respond | None, work: Callable[[], None]
    ) -> None: ...


@dataclass(frozen=True)
class HomeTab:
    """Publishes a person's Home tab: the dashboard to an administrator, a short note otherwise."""

    messenger: Messenger
    screens: Screens
    authorizer: Authorizer

    def publish(self, user: str, list_link: str | None = None) -> None:
        """Show `user` their Home tab, with a link to a list just posted elsewhere if any."""
        admin = self.authorizer.is_admin(user)
        self.messenger.publish_home(user, self.screens.home(admin=admin, list_link=list_link))


@dataclass(frozen=True)
class Deps:
    """The engine and the Slack-side services every listener may use."""

    settings: SlackSettings
    engine: SyncEngine
    messenger: Messenger
    screens: Screens
    authorizer: Authorizer
    privacy: ChannelPrivacy
    retrier: Retrier
    home: HomeTab
    after_ack: AfterAck

    def is_admin(self, user: str) -> bool:
        """Whether `user` may view records, retry and resolve."""
        return self.authorizer.is_admin(user)
