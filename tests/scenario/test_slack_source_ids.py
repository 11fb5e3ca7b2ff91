"""Source ids with spaces, addressed from Slack: quoted they act on that record; unquoted they
never act on a different one (here a record "HON" beside "HON 7")."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.slack.listeners.commands import USAGE
from storage.db import Database
from storage.models import RecordChange, RetryEvent
from sync_engine.gateway_sim import Fault
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, CHANNEL

SPACED, SHORT = "HON 7", "HON"


@pytest.fixture
def spaced(engine, sim):
    """Two failed records: "HON 7" and "HON"."""
    engine.submit([posting(7, source_id=SPACED), posting(8, source_id=SHORT)])
    sim.faults.add(Fault(kind="unavailable"))
    engine.sync(requested_by="tester", via="cli")
    sim.faults.clear()
    assert engine.count_failed() == 2
    return engine


def answer(slack, n: int) -> str:
    return slack.wait_for("chat.postEphemeral", count=n)[n - 1].params["text"]


def states(engine) -> dict[str, str]:
    return {s: engine.history(s).sync_log_state for s in (SPACED, SHORT)}


def changes(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(RecordChange)) or 0


def test_an_unquoted_id_never_resolves_a_different_record(database, harness, spaced, sim, slack):
    sent = len(sim.requests())
    harness.command("resolve HON 7 booked by hand", ADMIN)
    said = answer(slack, 1)
    assert f"`{SPACED}` is also a record's source id" in said and "Nothing was done" in said
    assert states(spaced) == {SPACED: "failed", SHORT: "failed"} and changes(database) == 0
    assert len(sim.requests()) == sent  # resolve asks the gateway first: it was not asked


def test_a_quoted_id_with_spaces_is_resolved(database, harness, spaced, slack):
    harness.command("resolve “HON 7” booked by hand", ADMIN)  # Slack's curly quotes
    assert "resolved" in answer(slack, 1)
    assert states(spaced) == {SPACED: "resolved", SHORT: "failed"} and changes(database) == 1


def test_retry_and_history_take_quoted_ids(database, harness, spaced, slack):
    harness.command('history "HON 7"', ADMIN)
    assert f"`{SPACED}`: failed" in answer(slack, 1)

    harness.command("retry HON 7", ADMIN)  # unquoted: refused, nothing retried
    assert f"`{SPACED}` is also a record's source id" in answer(slack, 2)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(RetryEvent)) == 0

    harness.command('retry "HON 7"', ADMIN)
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert states(spaced) == {SPACED: "succeeded", SHORT: "failed"}


def test_an_unclosed_quote_is_a_clear_error_and_nothing_happens(
    database, harness, spaced, sim, slack
):
    harness.command('resolve "HON 7 booked by hand', ADMIN)
    assert "A quote is not closed" in answer(slack, 1)
    assert states(spaced) == {SPACED: "failed", SHORT: "failed"} and changes(database) == 0


def test_an_unknown_subcommand_answers_with_the_usage(harness, spaced, slack):
    harness.command("refund everything", ADMIN)
    said = answer(slack, 1)
    assert "Unknown subcommand `refund`" in said and USAGE in said
    assert slack.calls("chat.postEphemeral")[0].params["channel"] == CHANNEL
    harness.command("", ADMIN)  # nothing typed: the usage list too
    assert USAGE in answer(slack, 2)
