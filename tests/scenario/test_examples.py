"""The README's Block Kit Builder links: made by the bot's builders, inside Slack's limits."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from bot.slack.blocks import as_dicts
from bot.slack.examples import (
    BUILDER,
    alert_example,
    home_example,
    list_example,
    readme_lines,
    result_example,
)
from tests.scenario.slack_limits import problems

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_holds_the_links_the_builders_make_now():
    text = README.read_text()
    for line in readme_lines():
        assert line in text, (
            f"README is behind the builders: run python -m bot.slack.examples ({line[:40]})"
        )


def test_each_example_is_within_slack_limits_and_opens_in_the_builder():
    for blocks, surface in (
        (alert_example(), "message"),
        (list_example(), "message"),
        (result_example(), "message"),
        (home_example(), "home"),
    ):
        assert problems(as_dicts(blocks), surface=surface) == []
    link = readme_lines()[0].split("(", 1)[1].rstrip(")")
    assert link.startswith(BUILDER)
    body = json.loads(unquote(link.removeprefix(BUILDER)))
    assert body["blocks"][0]["text"]["text"] == ":warning: 3 records failed to sync"
