"""Events: the App Home tab, published every time it is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.slack.payload import user_of

if TYPE_CHECKING:
    from bot.slack.app import SlackBot


def register(bot: SlackBot) -> None:
    """Listen for `app_home_opened`."""

    @bot.app.event("app_home_opened")
    def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        """Publish the opener's Home tab (Bolt acknowledges events by itself)."""
        # The Messages tab sends this event too; only the Home tab has a dashboard.
        user = user_of(body)
        if event.get("tab", "home") != "home" or not user:
            return
        bot.after_ack(body, None, lambda: bot.publish_home(user))
