"""The Slack scenario's fixtures (stand-in, bot, harness), for the reliability tests too."""

from __future__ import annotations

from tests.scenario.conftest import bot, engine, harness, slack, slack_settings

__all__ = ["bot", "engine", "harness", "slack", "slack_settings"]
