"""Xero as Slack sees it (issue 13, Deliver 5): signed Slack requests into the real Bolt app,
the engine on `ACCOUNTING_LEDGER=xero` against the Xero double and its identity endpoints over
loopback HTTP, the organisation connected by the real headless path
(`connect_with_refresh_token`, a refresh token from the double's grant), on SQLite and
PostgreSQL.

Outcomes are read where they land: rows in the database, requests and bills in the double
(bills per InvoiceNumber), and the calls the Slack stand-in received. The helpers are the
QuickBooks scenarios' (tests/scenario/test_slack_quickbooks.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot
from bot.slack.blocks import escape
from bot.slack.ids import Ids
from storage.db import Database
from storage.models import RetryEvent, RetryEventItem
from sync_engine.build import build_engine
from sync_engine.connecting import Connected, connect_with_refresh_token
from sync_engine.engine import SyncEngine
from sync_engine.ledger import make_ledger
from sync_engine.send_log import SendLog
from sync_engine.settings import Settings
from sync_engine.xero.messages import contact_missing
from sync_engine.xero_sim import Invoice, XeroFault, XeroSimulator
from tests.conftest import FakeClock, posting
from tests.integration.xero_harness import SkipTime, xero_settings
from tests.scenario.conftest import ADMIN, ALERTS
from tests.scenario.harness import Harness
from tests.scenario.test_slack_acceptance import list_updated, open_list, reply_text, rows_of
from tests.scenario.test_slack_quickbooks import (
    HOSTILE_PAYEE,
    alerts_posted,
    flush,
    posted_only_in_private,
    row_of,
)

ORGANISATION = "Demo Company (US)"  # the double's first organisation


@pytest.fixture
def books() -> Iterator[XeroSimulator]:
    """The Xero double: expense account 6100 and contacts for payees VOL-1..VOL-9."""
    with XeroSimulator() as sim:
        org = sim.org()
        org.add_account("6100", "Volunteer expenses")
        for n in range(1, 10):
            org.add_contact(f"Volunteer VOL-{n}", account_number=f"VOL-{n}")
        yield sim


@pytest.fixture
def settings(database_url: str, books: XeroSimulator) -> Settings:
    """ACCOUNTING_LEDGER=xero on the double; uncertain writes are looked up at once."""
    return xero_settings(
        database_url,
        books.url,
        books.tenant_id,
        xero_settle_seconds=0,
        backoff_base_seconds=3600,  # no automatic retry becomes due while a test runs
        outage_threshold=1,  # one failed request (a whole batch) is an outage
    )


@pytest.fixture
def connected(settings: Settings, books: XeroSimulator, clock: FakeClock) -> Connected:
    """`syncbot connect xero --refresh-token` before the bot starts."""
    granted = books.grant()
    result = connect_with_refresh_token(
        settings, "xero", granted.refresh_token, books.tenant_id, clock=clock
    )
    assert result.company_name == ORGANISATION
    return result


@pytest.fixture
def engine(
    settings: Settings,
    connected: Connected,
    database: Database,
    books: XeroSimulator,
    clock: FakeClock,
) -> Iterator[SyncEngine]:
    """The engine the bot calls, built as `syncbot serve` builds it (replaces the gateway's),
    but for its adapter's pacing clock, which skips the waits (`xero_harness.SkipTime`): a
    503 is resent after 1, 2 and 3 s."""
    skip = SkipTime(books)
    send_log = SendLog(database, clock)
    ledger = make_ledger(settings, send_log=send_log, monotonic=skip.monotonic, sleep=skip.sleep)
    with build_engine(settings, ledger=ledger, clock=clock, rng=random.Random(7)) as built:
        yield built


def bills(books: XeroSimulator, source_id: str) -> list[Invoice]:
    """The double's bills numbered with the record's source id (a valid InvoiceNumber)."""
    return books.bills_by_number().get(source_id, [])


def writes(books: XeroSimulator) -> int:
    """Invoice writes the double has answered (one bill or many: one endpoint)."""
    routes = books.requests_by_route()
    return routes.get("PUT Invoices", 0) + routes.get("POST Invoices", 0)


def names_xero_not_the_gateway(shown: str) -> None:
    """A text speaks of Xero, never of the gateway."""
    assert "Xero" in shown and "gateway" not in shown.lower(), shown


def test_the_everyday_case_a_missing_contact_is_added_then_retry_selected_books_one_bill(
    database: Database,
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: XeroSimulator,
    slack: SlackStandIn,
) -> None:
    missing = posting(7, kind="honorarium", payee_id="VOL-700", payee_name=HOSTILE_PAYEE)
    engine.submit([posting(1), missing])
    engine.sync(requested_by="scheduler", via="scheduler")
    message = contact_missing(missing)
    assert "account number 'VOL-700'" in message
    failed = row_of(database, "HON-2026-0007")
    assert (failed.state, failed.error_class) == ("failed", "needs_attention")
    assert failed.last_error is not None and message in failed.last_error
    assert bills(books, "HON-2026-0007") == [] and len(bills(books, "RMB-2026-0001")) == 1

    # The failure alert and the failed list show the admin's message, escaped.
    assert flush(bot) == 1
    [alert] = alerts_posted(slack)
    listed = open_list(harness, slack)
    assert rows_of(listed) == ["HON-2026-0007"]
    for shown in (str(alert.params["blocks"]), str(listed["blocks"])):
        assert f":x: `{escape(message)}` (_needs_attention_)" in shown
        assert "&amp; Jerry &lt;Co-op&gt;" in shown and HOSTILE_PAYEE not in shown
        names_xero_not_the_gateway(shown)

    # The bookkeeper adds the contact in Xero; an admin ticks the record, clicks Retry Selected.
    contact = books.org().add_contact(HOSTILE_PAYEE, account_number="VOL-700")
    before = writes(books)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0007"})
    text = reply_text(slack, listed)

    [bill] = bills(books, "HON-2026-0007")
    assert bill.contact.contact_id == contact.contact_id and writes(books) - before == 1
    assert books.stats()["contacts_created"] == 0  # the adapter never creates one
    booked = row_of(database, "HON-2026-0007")
    assert (booked.state, booked.accounting_ref) == ("succeeded", bill.invoice_id)
    with database.session() as session:
        event = session.scalars(select(RetryEvent)).one()
    assert (event.kind, event.requested_by, event.via, event.succeeded) == (
        "selected",
        ADMIN,
        "slack",
        1,
    )
    assert booked.retry_event_id == event.id
    assert f"`HON-2026-0007` succeeded: booked as `{bill.invoice_id}`" in text
    assert f"retry event {event.id}" in text and "gateway" not in text.lower()
    assert rows_of(list_updated(slack, listed)) == []
    posted_only_in_private(slack)


def test_retry_all_after_missing_contacts_and_an_outage_is_one_event_one_bill_each(
    database: Database,
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: XeroSimulator,
    slack: SlackStandIn,
) -> None:
    known = [posting(n, kind="honorarium" if n % 2 else "reimbursement") for n in range(1, 7)]
    unknown = [posting(n, payee_id=f"VOL-{n}00") for n in (7, 8, 9)]
    engine.submit(unknown)
    engine.sync(requested_by="scheduler", via="scheduler")  # Xero up, contacts missing
    flush(bot)
    engine.submit(known)
    books.faults.add(XeroFault(kind="offline"))
    engine.sync(requested_by="scheduler", via="scheduler")  # then Xero answers 503
    books.faults.clear()
    flush(bot)
    assert engine.outage() is not None and books.bills() == []
    classes = {r.source_id: r.error_class for r in engine.list_failed().items}
    assert classes == {
        **{p.source_id: "transient" for p in known},
        **{p.source_id: "needs_attention" for p in unknown},
    }
    failures, down = alerts_posted(slack)
    assert "3 records failed to sync" in str(failures.params["blocks"])
    assert "Xero has no active contact with account number 'VOL-700'" in str(
        failures.params["blocks"]
    )
    assert "503" in str(down.params["blocks"]) and "Xero is down" in str(down.params["blocks"])
    names_xero_not_the_gateway(str(down.params["blocks"]) + down.params["text"])

    for record in unknown:  # the bookkeeper adds the missing contacts
        books.org().add_contact(record.payee_name, account_number=record.payee_id)
    listed = open_list(harness, slack)
    names_xero_not_the_gateway(str(listed["blocks"]))  # "sent to Xero as one retry event"
    before = writes(books)
    harness.click(listed, Ids.RETRY_ALL, ADMIN)
    text = reply_text(slack, listed)

    sources = [p.source_id for p in known + unknown]
    assert writes(books) - before == 1  # one batch: the 503 ones looked up, then sent anew
    assert "9 succeeded" in text and "Retry All Failed" in text
    assert "gateway" not in text.lower()
    assert books.number_counts() == dict.fromkeys(sources, 1)
    assert books.stats()["contacts_created"] == 0
    with database.session() as session:
        [event] = session.scalars(select(RetryEvent)).all()
        items = session.scalars(select(RetryEventItem)).all()
    assert (event.kind, event.requested_by, event.via, event.succeeded) == (
        "all",
        ADMIN,
        "slack",
        9,
    )
    assert len(items) == 9 and {i.retry_event_id for i in items} == {event.id}
    for source_id in sources:
        [bill] = bills(books, source_id)
        row = row_of(database, source_id)
        assert (row.state, row.accounting_ref, row.retry_event_id) == (
            "succeeded",
            bill.invoice_id,
            event.id,
        )
    assert rows_of(list_updated(slack, listed)) == [] and engine.outage() is None
    flush(bot)  # the outage message says Xero is back, in place
    [back] = slack.wait_for("chat.update", lambda c: c.params["channel"] == ALERTS)
    assert back.params["ts"] == down.answer["ts"] and "Xero is back" in str(back.params["blocks"])
    assert len(alerts_posted(slack)) == 2
    posted_only_in_private(slack)


def test_status_and_the_home_tab_name_xero_never_the_gateway(
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: XeroSimulator,
    slack: SlackStandIn,
) -> None:
    engine.submit([posting(1)])
    engine.sync(requested_by="scheduler", via="scheduler")
    assert books.number_counts() == {"RMB-2026-0001": 1}
    harness.command("status", ADMIN)
    [answer] = slack.wait_for("chat.postEphemeral")
    names_xero_not_the_gateway(answer.params["text"])
    assert "Xero's last answer:" in answer.params["text"]
    harness.open_home(ADMIN)
    [home] = slack.wait_for("views.publish")
    shown = str(home.params["view"]["blocks"])
    assert "Xero" in shown and "gateway" not in shown.lower().replace("home_gateway", "")
