"""The App Home tab: the dashboard, View Failed Records into the alerts channel, Retry All."""

from __future__ import annotations

from bot.slack.ids import Ids
from tests.scenario.conftest import ADMIN, ALERTS, fail_first_postings


def dashboard(slack, count: int = 1) -> dict:
    published = slack.wait_for("views.publish", count=count)
    assert published[-1].params["user_id"] == ADMIN
    return published[-1].params["view"]


def test_opening_home_publishes_the_dashboard(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 3)
    harness.open_home(ADMIN, tab="messages")  # the Messages tab has no dashboard
    harness.open_home(ADMIN)

    view = dashboard(slack)
    text = str(view["blocks"])
    assert view["type"] == "home"
    assert "*failed*\\n3" in text and "*transient*\\n3" in text
    assert "503" in text and "Last successful sync:* never" in text
    assert len(slack.calls("views.publish")) == 1
    assert {Ids.VIEW_FAILED, Ids.RETRY_ALL} <= {
        e["action_id"] for b in view["blocks"] for e in b.get("elements") or [] if "action_id" in e
    }


def test_view_failed_records_from_home_posts_in_the_alerts_channel_and_links_it(
    harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 3)
    harness.open_home(ADMIN)
    harness.click_home(dashboard(slack), Ids.VIEW_FAILED, ADMIN)

    listed = harness.posted_list(ALERTS)
    assert "*3* failed record(s)" in str(listed["blocks"])
    view = dashboard(slack, count=2)
    link = view["blocks"][-1]["elements"][0]["text"]
    assert f"/archives/{ALERTS}/p{listed['ts'].replace('.', '')}" in link and f"<#{ALERTS}>" in link


def test_retry_all_from_home_answers_in_the_alerts_channel_and_refreshes_home(
    harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 3)
    harness.open_home(ADMIN)
    harness.click_home(dashboard(slack), Ids.RETRY_ALL, ADMIN)

    [parent] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.params)
    assert parent.params["channel"] == ALERTS
    [reply] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert reply.params["thread_ts"] == parent.answer["ts"]
    assert "3 succeeded" in str(reply.params["blocks"])
    view = dashboard(slack, count=2)
    assert "*failed*\\n0" in str(view["blocks"]) and "*succeeded*\\n3" in str(view["blocks"])
    assert engine.count_failed() == 0
