"""200 failed records: paged within Slack's limits, filters, and a long Retry All's one reply."""

from __future__ import annotations

import pytest

from bot.slack.ids import Ids
from sync_engine.gateway_sim import Fault
from tests.scenario.conftest import ADMIN, fail_first_postings
from tests.scenario.test_slack_acceptance import rows_of


@pytest.fixture
def many(engine, sim):
    """200 failed records, oldest first: odd numbers honorariums, even reimbursements."""
    return fail_first_postings(engine, sim, 200)


def page_after(harness, slack, listed, action_id: str, n: int, **click):
    harness.click(listed, action_id, ADMIN, **click)
    slack.wait_for("chat.update", count=n)
    return slack.message(listed["channel"], listed["ts"])


def summary(message) -> str:
    return message["blocks"][1]["elements"][0]["text"]


def test_two_hundred_records_page_through_within_slacks_limits(harness, many, slack):
    harness.command("failed", ADMIN)
    slack.wait_for("chat.postMessage")
    listed = harness.posted_list()
    seen, updates = list(rows_of(listed)), 0
    assert "*200* failed record(s) · page 1 of 20" in summary(listed)
    while any(
        e.get("action_id") == Ids.PAGE_NEXT
        for b in listed["blocks"]
        for e in b.get("elements") or []
    ):
        updates += 1
        listed = page_after(harness, slack, listed, Ids.PAGE_NEXT, updates)
        seen += rows_of(listed)
    assert seen == many and updates == 19
    assert "page 20 of 20" in summary(listed)

    updates += 1
    back = page_after(harness, slack, listed, Ids.PAGE_PREV, updates)
    assert rows_of(back) == many[180:190] and "page 19 of 20" in summary(back)
    assert slack.refused() == []
    block_ids = [b["block_id"] for b in back["blocks"]]
    assert not set(block_ids) & {b["block_id"] for b in listed["blocks"]}


def test_filters_narrow_the_list_and_keep_each_other(harness, many, engine, sim, slack):
    harness.command("failed", ADMIN)
    slack.wait_for("chat.postMessage")
    listed = harness.posted_list()
    honoraria = page_after(harness, slack, listed, Ids.FILTER_KIND, 1, option="honorarium")
    assert rows_of(honoraria) == many[0:20:2] and "*100* failed record(s) (honorarium)" in summary(
        honoraria
    )

    ahead = page_after(harness, slack, honoraria, Ids.PAGE_NEXT, 2)
    assert rows_of(ahead) == many[20:40:2]
    none = page_after(harness, slack, ahead, Ids.FILTER_CLASS, 3, option="auth")
    assert rows_of(none) == [] and "(honorarium, auth)" in summary(none)
    assert slack.refused() == []


def test_a_long_retry_all_posts_one_progress_reply_then_the_summary(harness, many, sim, slack):
    harness.command("failed", ADMIN)
    slack.wait_for("chat.postMessage")
    listed = harness.posted_list()
    sim.faults.add(Fault(kind="validation", source_ids=tuple(many[:30]), detail="Payee unknown"))
    harness.click(listed, Ids.RETRY_ALL, ADMIN)

    slack.wait_for("chat.update", lambda c: c.params["ts"] == listed["ts"], timeout=30)
    [reply] = slack.thread(listed["channel"], listed["ts"])
    text = str(reply["blocks"])
    assert "170 succeeded, 30 failed again, 0 skipped" in text
    assert text.count("Payee unknown") == 20 and "10 more failed again" in text
    posted = [c for c in slack.calls("chat.postMessage") if c.params.get("thread_ts")]
    assert len(posted) == 1 and "of 200 record(s) done" in str(posted[0].params["blocks"])
    assert rows_of(slack.message(listed["channel"], listed["ts"])) == many[:10]
    assert slack.refused() == []
