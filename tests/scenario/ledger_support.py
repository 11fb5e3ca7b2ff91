"""The steps the Slack scenarios of every OAuth ledger share (test_slack_quickbooks.py,
test_slack_xero.py): the records of their stories, reading rows, the alerts channel and the
retry event, and the checks their stories make alike. What differs per ledger (the double,
its faults, how its bills are found) stays in each scenario module.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select

from bench.slack_standin.server import Call, SlackStandIn
from bot.slack.app import SlackBot
from bot.slack.blocks import escape
from storage.db import Database
from storage.models import Record, RetryEvent, RetryEventItem, SyncLogEntry
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL
from tests.scenario.harness import Harness
from tests.scenario.test_slack_acceptance import open_list, rows_of

# A payee the ledger does not know yet, named with mrkdwn's control characters.
HOSTILE_PAYEE = "Ben & Jerry <Co-op> *now*"
PRIVATE = {CHANNEL, ALERTS}  # the bot posts nowhere else
PACE: dict[str, object] = {
    "backoff_base_seconds": 3600,  # no automatic retry becomes due while a test runs
    "outage_threshold": 1,  # one failed request (a whole batch) is an outage
}


class Faults(Protocol):
    """A double's planned faults."""

    def add(self, fault: Any) -> Any: ...

    def clear(self) -> Any: ...


def row_of(database: Database, source_id: str) -> SyncLogEntry:
    """The record's sync_log row."""
    with database.session() as session:
        query = (
            select(SyncLogEntry)
            .join(Record, Record.id == SyncLogEntry.record_id)
            .where(Record.source_id == source_id)
        )
        return session.scalars(query).one()


def posted_only_in_private(slack: SlackStandIn) -> None:
    """Every message went to the private finance channel or the alerts channel, none in
    public through a response_url."""
    for call in slack.calls("chat.postMessage") + slack.calls("chat.update"):
        assert call.params["channel"] in PRIVATE, call.params
    for call in slack.calls("response_url"):
        assert call.params.get("response_type") != "in_channel", call.params


def flush(bot: SlackBot) -> int:
    """Post what the alert outbox holds, as the running bot's flush loop does."""
    assert bot.alert_poster is not None
    return bot.alert_poster.flush()


def alerts_posted(slack: SlackStandIn) -> list[Call]:
    """The messages posted in the alerts channel."""
    return [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == ALERTS]


def sync(engine: SyncEngine) -> None:
    """One scheduler tick's sync."""
    engine.sync(requested_by="scheduler", via="scheduler")


def a_payee_is_missing(engine: SyncEngine, database: Database, message: str) -> None:
    """The everyday case's start: RMB-2026-0001 books, HON-2026-0007 (`missing()`, a payee
    the ledger lacks) fails as needs_attention with the admin's `message`."""
    engine.submit([posting(1), missing()])
    sync(engine)
    failed = row_of(database, "HON-2026-0007")
    assert (failed.state, failed.error_class) == ("failed", "needs_attention")
    assert failed.last_error is not None and message in failed.last_error


def missing() -> Posting:
    """The everyday case's record: an honorarium for a payee no ledger knows, named hostilely."""
    return posting(7, kind="honorarium", payee_id="VOL-700", payee_name=HOSTILE_PAYEE)


def the_alert_and_list_show(
    bot: SlackBot, harness: Harness, slack: SlackStandIn, message: str
) -> tuple[dict, list[str]]:
    """The one failure alert and the failed list show the admin's `message`, escaped, for
    HON-2026-0007 alone; the list opened, and what the alert and the list show."""
    assert flush(bot) == 1
    [alert] = alerts_posted(slack)
    listed = open_list(harness, slack)
    assert rows_of(listed) == ["HON-2026-0007"]
    shown = [str(alert.params["blocks"]), str(listed["blocks"])]
    for text in shown:
        assert f":x: `{escape(message)}` (_needs_attention_)" in text
        assert "&amp; Jerry &lt;Co-op&gt;" in text and HOSTILE_PAYEE not in text
    return listed, shown


def known_and_unknown() -> tuple[list[Posting], list[Posting]]:
    """Retry All's records: six the ledger knows the payees of, three it does not."""
    known = [posting(n, kind="honorarium" if n % 2 else "reimbursement") for n in range(1, 7)]
    unknown = [posting(n, payee_id=f"VOL-{n}00") for n in (7, 8, 9)]
    return known, unknown


def missing_payees_then_an_outage(
    engine: SyncEngine,
    bot: SlackBot,
    known: list[Posting],
    unknown: list[Posting],
    faults: Faults,
    fault: object,
) -> None:
    """`unknown` fail as needs_attention (the ledger up, payees missing); then the double's
    `faults` hold `fault` while `known` are sent: they fail transiently, an outage begins."""
    engine.submit(unknown)
    sync(engine)  # the ledger up, payees missing
    flush(bot)
    engine.submit(known)
    faults.add(fault)
    sync(engine)  # then the ledger answers 503
    faults.clear()
    flush(bot)
    assert engine.outage() is not None
    classes = {r.source_id: r.error_class for r in engine.list_failed().items}
    assert classes == {
        **{p.source_id: "transient" for p in known},
        **{p.source_id: "needs_attention" for p in unknown},
    }


def the_retry_event(
    database: Database, kind: str, succeeded: int
) -> tuple[RetryEvent, list[RetryEventItem]]:
    """The one retry event (an admin's, from Slack, of `kind`, `succeeded` records) and its
    items."""
    with database.session() as session:
        [event] = session.scalars(select(RetryEvent)).all()
        items = list(session.scalars(select(RetryEventItem)).all())
    assert (event.kind, event.requested_by, event.via, event.succeeded) == (
        kind,
        ADMIN,
        "slack",
        succeeded,
    )
    return event, items


def each_booked_once(database: Database, references: dict[str, list[str]], event_id: int) -> None:
    """Each record (source id -> the ids of its bills) has one bill, and its row succeeded with
    that bill's id, by the retry event `event_id`."""
    for source_id, found in references.items():
        [reference] = found
        row = row_of(database, source_id)
        assert (row.state, row.accounting_ref, row.retry_event_id) == (
            "succeeded",
            reference,
            event_id,
        )


def updated_in_place(bot: SlackBot, slack: SlackStandIn, posted: Call) -> str:
    """After a flush, the alert `posted` (a stand-in call) is updated in place; its blocks."""
    flush(bot)
    [back] = slack.wait_for("chat.update", lambda c: c.params["channel"] == ALERTS)
    assert back.params["ts"] == posted.answer["ts"]
    return str(back.params["blocks"])
