"""The user's acceptance criteria 1-5, driven through Slack: signed requests into the running bot,
the gateway simulator behind the engine, the Slack stand-in recording what Slack would show."""

from __future__ import annotations

from sqlalchemy import select

from bot.slack.ids import Ids
from storage.db import Database
from storage.models import Record, RetryEvent
from sync_engine.gateway_sim import Fault
from tests.scenario.conftest import ADMIN, CHANNEL, fail_first_postings


def sent_keys(sim, since: int) -> list[str]:
    """Idempotency keys the gateway received in postings (single or batch) since `since`."""
    return [k for r in sim.requests()[since:] if r.method == "POST" for k in r.idempotency_keys]


def key_of(database: Database, source_id: str) -> str:
    with database.session() as session:
        query = select(Record.idempotency_key).where(Record.source_id == source_id)
        return session.scalars(query).one()


def rows_of(message) -> list[str]:
    """The source_ids listed in a failed-records list message, top to bottom."""
    return [
        b["accessory"]["options"][0]["value"]
        for b in message["blocks"]
        if b["block_id"].startswith(Ids.LIST_ROW)
    ]


def reply_text(slack, message) -> str:
    """The text of the (one) reply in the list's thread, once it holds the final result."""
    slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == message["ts"])
    [reply] = slack.thread(message["channel"], message["ts"])
    return "\n".join(b["text"]["text"] for b in reply["blocks"] if "text" in b)


def open_list(harness, slack):
    harness.command("failed", ADMIN)
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.params)
    return harness.posted_list()


def list_updated(slack, message, times: int = 1):
    slack.wait_for("chat.update", lambda c: c.params["ts"] == message["ts"], count=times)
    return slack.message(message["channel"], message["ts"])


def test_1_failed_records_are_listed_with_their_errors_and_details(harness, engine, sim, slack):
    ids = fail_first_postings(engine, sim, 3)
    listed = open_list(harness, slack)

    assert listed["channel"] == CHANNEL
    assert rows_of(listed) == ids
    row = next(b for b in listed["blocks"] if b["block_id"].startswith(Ids.LIST_ROW))
    text = row["text"]["text"]
    assert "honorarium" in text and "Volunteer VOL-1" in text and "1.25 USD" in text
    assert "503" in text and "offline" in text and "_transient_" in text
    assert "retries: 0" in text and "next automatic retry: <!date^" in text
    assert slack.refused() == []


def test_2_retry_selected_sends_exactly_the_ticked_records(database, harness, engine, sim, slack):
    fail_first_postings(engine, sim, 5)
    listed = open_list(harness, slack)
    before = len(sim.requests())
    # Nothing ticked: a hint for the clicker, nothing sent, the list untouched.
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN)
    [hint] = slack.wait_for("chat.postEphemeral")
    assert hint.params["user"] == ADMIN and "Tick at least one" in hint.params["text"]
    assert sim.requests()[before:] == [] and slack.calls("chat.update") == []
    # Ticking a box sends its own block_actions: acknowledged, and nothing else happens.
    calls = len(slack.calls())
    harness.click(listed, Ids.ROW_CHECK, ADMIN, option="Select", tick={"HON-2026-0001"})
    assert len(slack.calls()) == calls and sim.requests()[before:] == []
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"RMB-2026-0002", "HON-2026-0005"})

    text = reply_text(slack, listed)
    assert sorted(sent_keys(sim, before)) == sorted(
        [key_of(database, "RMB-2026-0002"), key_of(database, "HON-2026-0005")]
    )
    assert "2 succeeded, 0 failed again, 0 skipped" in text
    updated = list_updated(slack, listed)
    assert rows_of(updated) == ["HON-2026-0001", "HON-2026-0003", "RMB-2026-0004"]
    with database.session() as session:
        event = session.scalars(select(RetryEvent).where(RetryEvent.kind == "selected")).one()
    assert (event.requested_by, event.via, event.succeeded) == (ADMIN, "slack", 2)


def test_3_retry_all_is_one_retry_event_for_the_whole_queue(database, harness, engine, sim, slack):
    fail_first_postings(engine, sim, 12)
    listed = open_list(harness, slack)
    before = len(sim.requests())
    harness.click(listed, Ids.RETRY_ALL, ADMIN)

    text = reply_text(slack, listed)
    assert "12 succeeded" in text and "Retry All Failed" in text
    assert len(sent_keys(sim, before)) == 12
    with database.session() as session:
        events = session.scalars(select(RetryEvent).where(RetryEvent.kind == "all")).all()
    assert [(e.requested_by, e.via, e.succeeded) for e in events] == [(ADMIN, "slack", 12)]
    assert rows_of(list_updated(slack, listed)) == []
    assert engine.count_failed() == 0


def test_4_a_retry_that_succeeds_leaves_the_list_and_names_the_ledger_ref(
    database, harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 2)
    listed = open_list(harness, slack)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})

    text = reply_text(slack, listed)
    booking = sim.bookings()[key_of(database, "HON-2026-0001")]
    assert f"`HON-2026-0001` succeeded: booked as `{booking.id}`" in text
    history = engine.history("HON-2026-0001")
    assert (history.sync_log_state, history.accounting_ref) == ("succeeded", booking.id)
    assert history.sync_log_retry_event_id is not None
    assert f"retry event {history.sync_log_retry_event_id}" in text
    assert rows_of(list_updated(slack, listed)) == ["RMB-2026-0002"]
    # /accounting history shows who retried it, and how.
    harness.command("history HON-2026-0001", ADMIN)
    [answer] = slack.wait_for("chat.postEphemeral")
    assert f"selected by <@{ADMIN}> via slack" in answer.params["text"]


def test_5_a_retry_that_fails_again_appends_the_error_and_counts_it(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 1)
    first_error = engine.list_failed().items[0].last_error
    listed = open_list(harness, slack)
    sim.faults.add(Fault(kind="validation", detail="Accounting period 2026-10 is closed"))
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0001"})

    text = reply_text(slack, listed)
    assert "`HON-2026-0001` failed again" in text and "2026-10 is closed" in text
    assert "retry count 1" in text and "needs_attention" in text
    row = engine.list_failed().items[0]
    assert row.retry_count == 1 and row.errors[0] == first_error and "closed" in row.errors[1]
    updated = list_updated(slack, listed)
    assert rows_of(updated) == ["HON-2026-0001"]
    assert "2026-10 is closed" in str(updated["blocks"]) and "retries: 1" in str(updated["blocks"])


def test_1_view_failed_records_from_a_channel_message_posts_the_list_there(
    harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 2)
    # A message with the button, as the alerts will carry it (alerts come with another issue).
    alert = {
        "channel": CHANNEL,
        "ts": "1700000000.000100",
        "text": "2 records failed",
        "blocks": [
            {
                "type": "actions",
                "block_id": "alert_actions.x",
                "elements": [
                    {
                        "type": "button",
                        "action_id": Ids.VIEW_FAILED,
                        "text": {"type": "plain_text", "text": "View Failed Records"},
                        "value": "alert",
                    }
                ],
            }
        ],
    }
    harness.click(alert, Ids.VIEW_FAILED, ADMIN)
    assert rows_of(harness.posted_list()) == ["HON-2026-0001", "RMB-2026-0002"]
