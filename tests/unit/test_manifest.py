"""manifest.yml: what "Create app from manifest" needs, within Slack's limits, scopes used only."""

from __future__ import annotations

from pathlib import Path

import yaml

from bench.slack_standin.methods import ANSWERS
from bot.slack.ids import COMMAND
from bot.slack.listeners.commands import USAGE

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# Every Web API method the bot calls, and the bot scopes it needs (none: no scope needed).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "apps.connections.open": (),  # the app-level token's connections:write, not a bot scope
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.getPermalink": (),
    "views.publish": (),
    "usergroups.users.list": ("usergroups:read",),
    # Whether a command's channel is private: public channels, private ones, DMs, group DMs.
    "conversations.info": ("channels:read", "groups:read", "im:read", "mpim:read"),
}


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_manifest_declares_the_bot_the_command_and_the_home_tab():
    m = manifest()
    assert m["_metadata"]["major_version"] == 1
    assert 1 <= len(m["display_information"]["name"]) <= 35
    assert len(m["display_information"]["description"]) <= 140
    assert 175 <= len(m["display_information"]["long_description"]) <= 4000
    assert m["features"]["bot_user"]["display_name"] == "syncbot"
    assert m["features"]["app_home"]["home_tab_enabled"] is True
    [command] = m["features"]["slash_commands"]
    assert command["command"] == COMMAND and len(command["command"]) <= 32
    assert len(command["usage_hint"]) <= 1000 and command["should_escape"] is False
    assert all(sub.split()[0] in USAGE for sub in command["usage_hint"].split(" | "))


def test_socket_mode_by_default_with_no_request_urls():
    m = manifest()
    settings = m["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    text = MANIFEST.read_text(encoding="utf-8")
    uncommented = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert "request_url" not in uncommented and "url:" not in uncommented
    assert "/slack/events" in text  # the comment on switching to HTTP request URLs


def test_the_bot_scopes_are_exactly_the_ones_used():
    # The stand-in answers every method the bot calls (any other is refused), so this map
    # covers them all.
    assert set(ANSWERS) - {"response_url"} == set(METHOD_SCOPES)
    used = {scope for scopes in METHOD_SCOPES.values() for scope in scopes} | {"commands"}
    assert set(manifest()["oauth_config"]["scopes"]["bot"]) == used
