"""`/accounting`: every subcommand, and every wrong use answered clearly with nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from storage.db import Database
from storage.models import Record, RecordChange, RetryEvent, SyncLogEntry
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, CHANNEL, OUTSIDE, STRANGER, fail_first_postings


def ephemeral(slack, user: str = ADMIN) -> str:
    [answer] = slack.wait_for("chat.postEphemeral")
    assert answer.params["user"] == user and answer.params["channel"] == CHANNEL
    return answer.params["text"]


def events(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(RetryEvent)) or 0


@pytest.fixture
def queue(engine, sim):
    """Two failed records and one that succeeded (RMB-2026-0003)."""
    fail_first_postings(engine, sim, 2)
    engine.submit([posting(3)])
    engine.sync(requested_by="tester", via="cli")
    return engine


def answers(slack, count: int) -> str:
    """The text of the `count`-th ephemeral answer, once it is there."""
    return slack.wait_for("chat.postEphemeral", count=count)[count - 1].params["text"]


def test_help_status_and_history_answer_only_the_asker(harness, queue, slack):
    harness.command("help", STRANGER)  # help is for anyone
    text = answers(slack, 1)
    for sub in ("status", "failed", "retry all", "history", "resolve"):
        assert f"/accounting {sub}" in text

    harness.command("status", ADMIN)
    text = answers(slack, 2)
    assert "failed 2" in text and "succeeded 1" in text and "transient 2" in text

    harness.command("history HON-2026-0001", ADMIN)
    text = answers(slack, 3)
    assert "`HON-2026-0001`: failed" in text and "initial → failed" in text and "HTTP 503" in text
    users = [c.params["user"] for c in slack.calls("chat.postEphemeral")]
    assert users == [STRANGER, ADMIN, ADMIN] and slack.calls("chat.postMessage") == []


WRONG_USES = [
    ("refund everything", "Unknown subcommand `refund`"),
    ("retry", "`retry` needs source ids or `all`"),
    ("resolve HON-2026-0001", "needs a source id and a reason"),
    ("failed payroll", "Unknown kind `payroll`"),
    ("retry HON-2026-0001 NOPE-1", "`NOPE-1`: unknown source_id"),
    ("retry RMB-2026-0003 HON-2026-0001", "`RMB-2026-0003`: already succeeded"),
    ("history NOPE-1", "unknown source_id: NOPE-1"),
    ("resolve NOPE-1 booked by hand", "unknown source_id: NOPE-1"),
]


def test_a_refused_retry_is_explained_in_the_words_the_cli_shows(database, harness, queue, slack):
    """Whether a record may be retried is decided once, in the engine: Slack's refusal and the
    reason the CLI prints for a skipped record are the same words."""
    queue.resolve("RMB-2026-0002", "booked by hand", by="tester")
    with database.transaction() as session:  # another retry holds HON-2026-0001 right now
        record_id = session.scalar(select(Record.id).where(Record.source_id == "HON-2026-0001"))
        session.execute(
            update(SyncLogEntry)
            .where(SyncLogEntry.record_id == record_id)
            .values(state="syncing", lease_expires_at=datetime.now(UTC) + timedelta(hours=1))
        )
    reasons = []
    for n, source_id in enumerate(("RMB-2026-0003", "RMB-2026-0002", "HON-2026-0001"), start=1):
        harness.command(f"retry {source_id}", ADMIN)
        said = answers(slack, n)
        result = queue.retry_selected([source_id], requested_by="tester", via="cli")
        [skipped] = result.skipped
        assert said == f"Nothing was retried:\n• `{source_id}`: {skipped.reason}"
        reasons.append(skipped.reason)
    assert reasons == [
        "already succeeded",
        "already resolved by hand",
        "already in flight (another retry holds it)",
    ]


def test_wrong_uses_get_a_clear_answer_and_nothing_is_sent(database, harness, queue, sim, slack):
    before = len(sim.requests())
    for n, (text, says) in enumerate(WRONG_USES, start=1):
        harness.command(text, ADMIN)
        answer = slack.wait_for("chat.postEphemeral", count=n)[-1]
        assert answer.params["user"] == ADMIN
        assert says in answer.params["text"], text
        assert len(sim.requests()) == before, text
        assert events(database) == 0 and queue.count_failed() == 2, text
    assert slack.calls("chat.postMessage") == []


def test_retry_by_id_answers_in_a_thread_under_its_own_message(harness, queue, sim, slack):
    harness.command("retry HON-2026-0001", ADMIN)

    [parent] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.params)
    assert parent.params["channel"] == CHANNEL and "HON-2026-0001" in str(parent.params["blocks"])
    [reply] = slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("thread_ts") == parent.answer["ts"]
    )
    assert "`HON-2026-0001` succeeded: booked as" in str(reply.params["blocks"])
    assert queue.history("HON-2026-0001").sync_log_state == "succeeded"
    assert [r.source_id for r in queue.list_failed().items] == ["RMB-2026-0002"]


def test_retry_all_by_command_is_one_event(database, harness, queue, slack):
    harness.command("retry all", ADMIN)

    [parent] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.params)
    [reply] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert reply.params["thread_ts"] == parent.answer["ts"]
    assert "2 succeeded" in str(reply.params["blocks"])
    with database.session() as session:
        [event] = session.scalars(select(RetryEvent)).all()
    assert (event.kind, event.via, event.requested_by) == ("all", "slack", ADMIN)


def test_retry_all_of_an_empty_queue_makes_no_event(database, harness, engine, sim, slack):
    harness.command("retry all", ADMIN)
    assert "nothing to retry" in ephemeral(slack)
    assert events(database) == 0 and sim.requests() == []


def test_resolve_takes_a_record_out_with_who_and_why(database, harness, queue, slack):
    harness.command("resolve HON-2026-0001 booked by hand, ticket 7", ADMIN)

    assert "resolved by hand: `booked by hand, ticket 7`" in ephemeral(slack)
    assert queue.history("HON-2026-0001").sync_log_state == "resolved"
    with database.session() as session:
        change = session.scalars(select(RecordChange)).one()
    assert (change.action, change.by, change.reason) == (
        "resolved",
        ADMIN,
        "booked by hand, ticket 7",
    )


def test_failed_in_a_channel_without_the_bot_says_to_invite_it(harness, queue, slack):
    harness.command("failed", ADMIN, channel=OUTSIDE)

    [answer] = slack.wait_for("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert "/invite @syncbot" in answer.params["text"]
    assert all(c.error == "not_in_channel" for c in slack.calls("chat.postMessage"))


def test_failed_with_a_kind_lists_only_that_kind(harness, queue, slack):
    harness.command("failed reimbursement", ADMIN)
    [listed] = slack.wait_for("chat.postMessage")
    text = str(listed.params["blocks"])
    assert "RMB-2026-0002" in text and "HON-2026-0001" not in text
