"""Events: the App Home tab, published every time it is opened."""

from __future__ import annotations

import functools
from typing import Any

from slack_bolt import App

from bot.slack.deps import Deps
from bot.slack.payload import user_of


def register(app: App, deps: Deps) -> None:
    """Listen for `app_home_opened`."""
    app.event("app_home_opened")(functools.partial(home_opened, deps))


def home_opened(deps: Deps, event: dict[str, Any], body: dict[str, Any]) -> None:
    """Publish the opener's Home tab (Bolt acknowledges events by itself)."""
    # The Messages tab sends this event too; only the Home tab has a dashboard.
    user = user_of(body)
    if event.get("tab", "home") != "home" or not user:
        return
    deps.after_ack(body, None, lambda: deps.home.publish(user))
