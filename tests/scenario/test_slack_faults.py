"""Slack answering 429 or 500 while results are posted: the client retries, nothing is lost."""

from __future__ import annotations

from bot.slack.ids import Ids
from sync_engine.gateway_sim import Fault
from tests.scenario.conftest import ADMIN, fail_first_postings
from tests.scenario.test_slack_acceptance import reply_text, rows_of


def open_list(harness, slack):
    harness.command("failed", ADMIN)
    slack.wait_for("chat.postMessage")
    return harness.posted_list()


def test_a_429_and_a_500_while_results_are_posted_are_retried(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    listed = open_list(harness, slack)
    slack.fail_next("chat.postMessage", 1, status=429, retry_after=1)
    slack.fail_next("chat.update", 1, status=500)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})

    assert "`HON-2026-0001` succeeded" in reply_text(slack, listed)
    slack.wait_for("chat.update")
    assert [c.status for c in slack.calls("chat.postMessage")] == [200, 429, 200]
    assert [c.status for c in slack.calls("chat.update")] == [500, 200]
    assert rows_of(slack.message(listed["channel"], listed["ts"])) == ["RMB-2026-0002"]
    assert engine.history("HON-2026-0001").sync_log_state == "succeeded"


def test_when_slack_stays_down_the_outcome_is_still_recorded(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    listed = open_list(harness, slack)
    slack.fail_next("chat.postMessage", 10, status=500)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})

    # The thread reply is given up after the client's bounded retries (1 + 2 calls); the list
    # update and the Home tab, which come after it, still get through.
    slack.wait_for("views.publish", timeout=20)
    assert [c.status for c in slack.calls("chat.postMessage")] == [200, 500, 500, 500]
    assert rows_of(slack.message(listed["channel"], listed["ts"])) == ["RMB-2026-0002"]
    # The retry's result is in the database all the same.
    history = engine.history("HON-2026-0001")
    assert history.sync_log_state == "succeeded" and history.sync_log_retry_event_id
    assert engine.count_failed() == 1


def test_a_gateway_outage_during_a_retry_is_reported_record_by_record(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    listed = open_list(harness, slack)
    sim.faults.add(Fault(kind="unavailable"))
    harness.click(listed, Ids.RETRY_ALL, ADMIN)

    text = reply_text(slack, listed)
    assert "0 succeeded, 2 failed again" in text
    assert text.count("503") == 2 and "_transient_" in text and "retry count 1" in text
    assert engine.count_failed() == 2
    assert all(r.retry_count == 1 for r in engine.list_failed().items)
