"""Hostile Slack input: what the property tests (`test_hostile_slack.py`) found, kept as plain
tests. Signed bodies Slack would never send get 400; a command without a user or a channel is
ignored; a button or a source_id no column can hold is answered, not a crash.

The case tables are in `hostile_cases`; sending and the checks in `hostile_driver`. Every test
runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from bench.slack_standin import payloads
from bot.slack.answers import STALE_BUTTON
from tests.reliability.hostile_cases import (
    ADMIN_CLICK,
    HUGE_BUTTON_VALUES,
    LISTED,
    UNREADABLE,
    button_click,
    interactive,
)
from tests.reliability.hostile_driver import (
    assert_no_effect,
    failed_world,
    our_bug,
    settle,
    signed_post,
)
from tests.scenario.conftest import ADMIN, CHANNEL, fail_first_postings
from tests.scenario.harness import FORM

__all__ = ["failed_world"]  # a fixture


def test_signed_bodies_that_slack_would_never_send_get_400_and_do_nothing(
    database, harness, engine, sim, slack, failed_world
):
    for body, content_type in UNREADABLE:
        assert signed_post(harness, body, content_type).status_code == 400, body[:80]
    # Bytes that are not UTF-8 cannot even be checked against the signature: 401.
    assert signed_post(harness, b"\xff\xfe", FORM).status_code == 401
    assert_no_effect(database, sim, slack, failed_world)
    # The same click, well formed, is served.
    assert signed_post(harness, interactive(ADMIN_CLICK), FORM).status_code == 200
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)


def test_a_command_without_a_user_or_a_channel_is_ignored(harness, bot, engine, sim, slack, caplog):
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    for missing in ("user_id", "channel_id"):
        fields = payloads.slash_command("retry all", ADMIN, CHANNEL, slack.response_url())
        del fields[missing]
        assert signed_post(harness, urlencode(fields).encode(), FORM).status_code == 200
    settle(bot)
    assert {c.method for c in slack.calls()} <= {"auth.test"}  # Bolt's, on its first request
    assert len(sim.requests()) == requests
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bot.")] == [
        "a /accounting command without a user or a channel was ignored"
    ] * 2


@pytest.mark.parametrize("value", HUGE_BUTTON_VALUES.values(), ids=HUGE_BUTTON_VALUES.keys())
def test_a_list_button_holding_a_huge_number_is_stale_not_a_crash(
    harness, engine, sim, slack, caplog, value
):
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    for action_id in ("page_next", "retry_selected"):
        tick = {"b": {"row_check": {"type": "checkboxes", "selected_options": [{"value": "x"}]}}}
        click = button_click(action_id, value)
        body = interactive(payloads.message_action(ADMIN, LISTED, click, tick, ""))
        assert harness.http.send(body).status_code == 200
    answers = slack.wait_for("chat.postEphemeral", count=2)
    assert [a.params["text"] for a in answers] == [STALE_BUTTON] * 2
    assert len(sim.requests()) == requests
    assert not [bug for r in caplog.records if (bug := our_bug(r))]


def test_a_source_id_no_database_can_hold_is_unknown_not_a_crash(
    harness, engine, sim, slack, caplog
):
    """NUL made PostgreSQL raise DataError; a lone surrogate cannot be encoded by any driver."""
    fail_first_postings(engine, sim, 2)
    requests = len(sim.requests())
    nul, long = "HON-2026-0001\x00", "H" * 129
    for text in (f"retry {nul}", f"history {nul}", f"resolve {nul} by hand", f"retry {long}"):
        harness.command(text, ADMIN)
    for forged in (nul, "HON-2026-0001\ud800"):
        ticks = [{"value": "RMB-2026-0002"}, {"value": forged}]
        tick = {"b": {"row_check": {"type": "checkboxes", "selected_options": ticks}}}
        click = button_click("retry_selected")
        body = interactive(payloads.message_action(ADMIN, LISTED, click, tick, ""))
        assert harness.http.send(body).status_code == 200
    answers = [a.params["text"] for a in slack.wait_for("chat.postEphemeral", count=6)]
    assert all("unknown source_id" in a for a in answers), answers
    assert len(sim.requests()) == requests
    assert engine.count_failed() == 2
    assert not [bug for r in caplog.records if (bug := our_bug(r))]
