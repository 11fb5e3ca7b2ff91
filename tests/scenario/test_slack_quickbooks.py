"""QuickBooks Online as Slack sees it (issue 12, Deliver 6): signed Slack requests into the real
Bolt app, the engine on `ACCOUNTING_LEDGER=quickbooks` against the QuickBooks double and its
OAuth double over loopback HTTP, the company connected by the real code flow (`ConnectFlow`,
a browser following Intuit's redirect), on SQLite and PostgreSQL.

Outcomes are read where they land: rows in the database, requests and Bills in the double
(Bills per `syncbot:` marker), and the calls the Slack stand-in received. The steps the Xero
scenarios share are tests/scenario/ledger_support.py's.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest

from bench.slack_standin.server import SlackStandIn
from bot.slack.app import SlackBot
from bot.slack.ids import Ids
from storage.db import Database
from sync_engine.build import build_engine
from sync_engine.connecting import Connected, ConnectFlow
from sync_engine.credentials import QUICKBOOKS, connection_statuses
from sync_engine.engine import SyncEngine
from sync_engine.quickbooks.resolve import vendor_message
from sync_engine.quickbooks_sim import PlannedFault, QuickBooksSimulator
from sync_engine.settings import Settings
from tests.conftest import FakeClock, posting
from tests.integration.qbo_connect_support import free_port
from tests.integration.qbo_harness import qbo_settings
from tests.integration.test_connect_quickbooks import NAME, run_flow
from tests.scenario.conftest import ADMIN
from tests.scenario.harness import Harness
from tests.scenario.ledger_support import (
    HOSTILE_PAYEE,
    PACE,
    a_payee_is_missing,
    alerts_posted,
    each_booked_once,
    flush,
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

COMMAND = "syncbot connect quickbooks"


@pytest.fixture
def books() -> Iterator[QuickBooksSimulator]:
    """The QuickBooks double: expense account 6100 and vendors for payees VOL-1..VOL-9."""
    with QuickBooksSimulator() as sim:
        sim.add_account("Travel", acct_num="6100")
        for n in range(1, 10):
            sim.add_vendor(f"Volunteer VOL-{n}", acct_num=f"VOL-{n}")
        yield sim


@pytest.fixture
def settings(database_url: str, books: QuickBooksSimulator) -> Settings:
    """ACCOUNTING_LEDGER=quickbooks on the double; uncertain writes are looked up at once."""
    return qbo_settings(
        database_url,
        books.url,
        books.realm_id,
        qbo_redirect_uri=f"http://localhost:{free_port()}/callback",
        qbo_settle_seconds=0,
        **PACE,  # no automatic retry becomes due; one failed request is an outage
    )


def reconnect(settings: Settings, clock: FakeClock) -> Connected:
    """`syncbot connect quickbooks`: the authorization-code flow, a browser on the double."""
    with ConnectFlow(settings, QUICKBOOKS, clock=clock) as flow:
        result, page = run_flow(flow)
    assert page.status_code == 200, page.text
    assert isinstance(result, Connected) and result.company_name == NAME
    return result


@pytest.fixture
def connected(settings: Settings, clock: FakeClock) -> Connected:
    """The company connected before the bot starts."""
    return reconnect(settings, clock)


@pytest.fixture
def engine(settings: Settings, connected: Connected, clock: FakeClock) -> Iterator[SyncEngine]:
    """The engine the bot calls, built as `syncbot serve` builds it (replaces the gateway's)."""
    with build_engine(settings, clock=clock, rng=random.Random(7)) as built:
        yield built


def bills(books: QuickBooksSimulator, source_id: str) -> list:
    """The double's Bills carrying the record's `syncbot:` marker."""
    return books.bills_by_marker().get(source_id, [])


def writes(books: QuickBooksSimulator) -> int:
    """Bill creates and batch calls the double has answered."""
    routes = books.requests_by_route()
    return routes.get("POST bill", 0) + routes.get("POST batch", 0)


def test_the_everyday_case_a_missing_vendor_is_created_then_retry_selected_books_one_bill(
    database: Database,
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: QuickBooksSimulator,
    slack: SlackStandIn,
) -> None:
    message = vendor_message(missing())
    a_payee_is_missing(engine, database, message)
    assert bills(books, "HON-2026-0007") == [] and len(bills(books, "RMB-2026-0001")) == 1

    # The failure alert and the failed list show the admin's message, escaped.
    listed, _shown = the_alert_and_list_show(bot, harness, slack, message)

    # The bookkeeper creates the vendor; an admin ticks the record and clicks Retry Selected.
    vendor = books.add_vendor(HOSTILE_PAYEE)
    before = writes(books)
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={"HON-2026-0007"})
    text = reply_text(slack, listed)

    [bill] = bills(books, "HON-2026-0007")
    assert bill.vendor_id == vendor.id and writes(books) - before == 1
    booked = row_of(database, "HON-2026-0007")
    assert (booked.state, booked.accounting_ref) == ("succeeded", bill.id)
    event, _items = the_retry_event(database, "selected", 1)
    assert booked.retry_event_id == event.id
    assert f"`HON-2026-0007` succeeded: booked as `{bill.id}`" in text
    assert f"retry event {event.id}" in text
    assert rows_of(list_updated(slack, listed)) == []
    posted_only_in_private(slack)


def test_retry_all_after_missing_vendors_and_an_outage_is_one_event_one_bill_each(
    database: Database,
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: QuickBooksSimulator,
    slack: SlackStandIn,
) -> None:
    known, unknown = known_and_unknown()
    fault = PlannedFault(kind="unavailable", routes=("bill", "batch"))
    missing_payees_then_an_outage(engine, bot, known, unknown, books.faults, fault)
    assert books.bills() == []
    failures, down = alerts_posted(slack)
    assert "3 records failed to sync" in str(failures.params["blocks"])
    assert "QuickBooks has no active vendor with account no. 'VOL-700'" in str(
        failures.params["blocks"]
    )
    assert "503" in str(down.params["blocks"])

    for record in unknown:  # the bookkeeper creates the missing vendors
        books.add_vendor(record.payee_name, acct_num=record.payee_id)
    listed = open_list(harness, slack)
    before = books.requests_by_route()
    harness.click(listed, Ids.RETRY_ALL, ADMIN)
    text = reply_text(slack, listed)

    after = books.requests_by_route()
    assert after["POST batch"] - before["POST batch"] == 1 and "POST bill" not in after
    sources = [p.source_id for p in known + unknown]
    assert "9 succeeded" in text and "Retry All Failed" in text
    assert books.marker_counts() == dict.fromkeys(sources, 1)
    event, items = the_retry_event(database, "all", 9)
    assert len(items) == 9 and {i.retry_event_id for i in items} == {event.id}
    each_booked_once(database, {s: [b.id for b in bills(books, s)] for s in sources}, event.id)
    assert rows_of(list_updated(slack, listed)) == [] and engine.outage() is None
    # The outage message says QuickBooks is back, in place.
    assert "is back" in updated_in_place(bot, slack, down)
    assert len(alerts_posted(slack)) == 2
    posted_only_in_private(slack)


def test_reconnect_required_is_one_alert_naming_the_command_and_shown_in_status_and_home(
    database: Database,
    settings: Settings,
    harness: Harness,
    bot: SlackBot,
    engine: SyncEngine,
    books: QuickBooksSimulator,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    sources = ["RMB-2026-0001", "RMB-2026-0002", "RMB-2026-0003"]
    engine.submit([posting(n) for n in (1, 2, 3)])
    # The company disconnects syncbot in QuickBooks: the OAuth double revokes every grant.
    assert httpx.post(f"{books.url}/_sim/oauth/revoke-all", timeout=5).status_code == 200
    sync(engine)
    flush(bot)
    assert books.requests_by_route()["POST token"] == 2  # the code's exchange, one refresh
    seen = books.requests_by_route()
    clock.advance(minutes=30)  # later ticks (the probe too) and flushes add nothing
    sync(engine)
    flush(bot)
    assert books.requests_by_route() == seen and books.bills() == []

    for source_id in sources:
        row = row_of(database, source_id)
        assert (row.state, row.error_class, row.parked) == ("failed", "auth", True)
    [connection] = connection_statuses(database)
    assert connection.state == "reconnect_required"
    [alert] = alerts_posted(slack)  # ONE alert, no per-record ones beside it
    blocks = str(alert.params["blocks"])
    assert ":rotating_light: The quickbooks connection must be reconnected" in blocks
    assert f"Automatic sends are paused until an administrator runs `{COMMAND}`" in blocks
    assert "resume by themselves when the gateway answers" not in blocks
    assert alert.params["text"].startswith(
        f"The quickbooks connection must be reconnected: run `{COMMAND}` on the server"
    )

    harness.command("status", ADMIN)
    [answer] = slack.wait_for("chat.postEphemeral")
    said = answer.params["text"]
    assert answer.params["user"] == ADMIN
    assert "*reconnect required*. Automatic sends are paused" in said and f"`{COMMAND}`" in said
    harness.open_home(ADMIN)
    [home] = slack.wait_for("views.publish")
    shown = str(home.params["view"]["blocks"])
    assert home.params["user_id"] == ADMIN
    assert "*reconnect required*. Automatic sends are paused" in shown and f"`{COMMAND}`" in shown

    # `syncbot connect quickbooks` again: the alert is updated in place, the records return.
    reconnect(settings, clock)
    assert "3 records parked by the auth failure are back" in updated_in_place(bot, slack, alert)
    assert all(not row_of(database, s).parked for s in sources)
    assert len(alerts_posted(slack)) == 1
    posted_only_in_private(slack)
