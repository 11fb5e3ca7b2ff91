"""The Block Kit Builder links in docs/slack-messages.md: made by the bot's builders, inside
Slack's limits, and found there rather than in the README."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from bench.slack_standin.limits import problems
from bot.slack.blocks import as_dicts
from bot.slack.examples import (
    BUILDER,
    SLACK_MESSAGES_DOC,
    alert_example,
    home_example,
    link_lines,
    list_example,
    result_example,
)

ROOT = Path(__file__).parents[2]


def test_the_slack_messages_page_holds_the_links_the_builders_make_now():
    text = (ROOT / SLACK_MESSAGES_DOC).read_text()
    for line in link_lines():
        assert line in text, (
            f"{SLACK_MESSAGES_DOC} is behind the builders: "
            f"run python -m bot.slack.examples ({line[:40]})"
        )


def test_the_readme_points_to_the_page_and_holds_no_builder_link():
    readme = (ROOT / "README.md").read_text()
    assert f"]({SLACK_MESSAGES_DOC})" in readme
    assert BUILDER not in readme


def test_each_example_is_within_slack_limits_and_opens_in_the_builder():
    for blocks, surface in (
        (alert_example(), "message"),
        (list_example(), "message"),
        (result_example(), "message"),
        (home_example(), "home"),
    ):
        assert problems(as_dicts(blocks), surface=surface) == []
    link = link_lines()[0].split("(", 1)[1].rstrip(")")
    assert link.startswith(BUILDER)
    body = json.loads(unquote(link.removeprefix(BUILDER)))
    assert body["blocks"][0]["text"]["text"] == ":warning: 3 records failed to sync"
