"""Xero as Slack sees it (issue 13, Deliver 5): signed Slack requests into the real Bolt app,
the engine on `ACCOUNTING_LEDGER=xero` against the Xero double and its identity endpoints over
loopback HTTP, the organisation connected by the real headless path
(`connect_with_refresh_token`, a refresh token from the double's grant), on SQLite and
PostgreSQL.

Outcomes are read where they land: rows in the database, requests and bills in the double
(bills per InvoiceNumber), and the calls the Slack stand-in received. The helpers are the
scenarios' of every OAuth ledger (tests/scenario/ledger_support.py).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot
from bot.slack.ids import Ids
from storage.db import Database
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
from tests.scenario.conftest import ADMIN
from tests.scenario.harness import Harness
from tests.scenario.ledger_support import (
    HOSTILE_PAYEE,
    PACE,
    a_payee_is_missing,
    alerts_posted,
    each_booked_once,
    known_and_unknown,
    missing,
    missing_payees_then_an_outage,
    posted_only_in_private,
    row_of,
    sync,
    the_alert_and_list_show,
    the_retry_event,
    updated_in_place,
)
from tests.scenario.test_slack_acceptance import list_updated, open_list, reply_text, rows_of

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
        **PACE,  # no automatic retry becomes due; one failed request is an outage
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
    message = contact_missing(missing())
    assert "account number 'VOL-700'" in message
    a_payee_is_missing(engine, database, message)
    assert bills(books, "HON-2026-0007") == [] and len(bills(books, "RMB-2026-0001")) == 1

    # The failure alert and the failed list show the admin's message, escaped.
    listed, shown = the_alert_and_list_show(bot, harness, slack, message)
    for text in shown:
        names_xero_not_the_gateway(text)

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
    event, _items = the_retry_event(database, "selected", 1)
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
    known, unknown = known_and_unknown()
    fault = XeroFault(kind="offline")
    missing_payees_then_an_outage(engine, bot, known, unknown, books.faults, fault)
    assert books.bills() == []
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
    event, items = the_retry_event(database, "all", 9)
    assert len(items) == 9 and {i.retry_event_id for i in items} == {event.id}
    references = {s: [b.invoice_id for b in bills(books, s)] for s in sources}
    each_booked_once(database, references, event.id)
    assert rows_of(list_updated(slack, listed)) == [] and engine.outage() is None
    # The outage message says Xero is back, in place.
    assert "Xero is back" in updated_in_place(bot, slack, down)
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
    sync(engine)
    assert books.number_counts() == {"RMB-2026-0001": 1}
    harness.command("status", ADMIN)
    [answer] = slack.wait_for("chat.postEphemeral")
    names_xero_not_the_gateway(answer.params["text"])
    assert "Xero's last answer:" in answer.params["text"]
    harness.open_home(ADMIN)
    [home] = slack.wait_for("views.publish")
    shown = str(home.params["view"]["blocks"])
    assert "Xero" in shown and "gateway" not in shown.lower().replace("home_gateway", "")
