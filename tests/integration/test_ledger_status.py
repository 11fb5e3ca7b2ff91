"""Status shows the ledger, its company and whether it needs reconnecting (issue 12, point 2):
`syncbot status` (text and --json), `/accounting status`, the Home tab and /healthz, read
from `ledger_connections` without reading a token."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from bot.render import ledger_line
from bot.slack.answers import status_text
from bot.slack.home import home_view
from bot.slack.server import health
from storage import connections
from storage.db import Database
from sync_engine.build import build_engine
from sync_engine.credentials import QUICKBOOKS, Tokens, connect
from sync_engine.database import reader
from sync_engine.results import LedgerView
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings
from tests.conftest import FakeClock
from tests.integration.cli_harness import SYNCBOT, clean_env
from tests.integration.qbo_connect_support import SECRET_KEY

REALM = "9130350000000001"
NAME = "Food Bank <North>"


def qbo(database_url: str, **extra: object) -> Settings:
    """Settings that post to QuickBooks company REALM (no secret key: status needs none)."""
    values: dict[str, object] = {
        "database_url": database_url,
        "ledger": QUICKBOOKS,
        "qbo_realm_id": REALM,
        "secret_key": None,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


@pytest.fixture
def connected(database: Database, clock: FakeClock) -> Iterator[Database]:
    """REALM connected, named NAME."""
    tokens = Tokens("eyJ-access", "RT1-refresh", 3600)
    connect(database, SecretBox(SECRET_KEY), QUICKBOOKS, REALM, tokens, company_name=NAME)
    yield database


def needs_reconnecting(database: Database, clock: FakeClock) -> None:
    """What TokenKeeper does on invalid_grant."""
    with database.transaction() as tx:
        connections.mark_reconnect_required(
            tx, QUICKBOOKS, REALM, "invalid_grant", generation=1, now=clock()
        )


def test_the_gateway_needs_no_connection(database_url, database) -> None:
    with reader(Settings(database_url=database_url)) as reads:
        view = reads.status().ledger
    assert view == LedgerView("gateway", None, None, "not_needed", False)
    assert ledger_line(view) == "ledger: gateway"


def test_status_reads_the_company_and_its_state_without_any_token(
    database_url, connected, clock
) -> None:
    statements: list[str] = []
    with reader(qbo(database_url)) as reads:
        engine = reads._database.engine  # noqa: SLF001 - to watch what the read selects
        listen = lambda *args: statements.append(str(args[2]))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        view = reads.status().ledger
        needs_reconnecting(connected, clock)
        stuck = reads.status().ledger
    assert view == LedgerView(QUICKBOOKS, REALM, NAME, "connected", False)
    assert (
        stuck is not None
        and stuck.reconnect_required
        and stuck.connection == ("reconnect_required")
    )
    assert statements and not any("token" in s for s in statements)
    assert ledger_line(view).endswith(f"{NAME} ({REALM}): connected")
    assert ledger_line(stuck).endswith("RECONNECT REQUIRED: run `syncbot connect quickbooks`")


def test_a_company_not_connected_yet_says_so(database_url, database) -> None:
    with reader(qbo(database_url)) as reads:
        view = reads.status().ledger
    assert view == LedgerView(QUICKBOOKS, REALM, None, "not_connected", False)
    assert "not connected: run `syncbot connect quickbooks`" in ledger_line(view)


def test_the_cli_status_adds_the_ledger_and_keeps_every_other_key(
    database_url, connected, clock, tmp_path
) -> None:
    needs_reconnecting(connected, clock)
    env = clean_env() | {
        "SYNCBOT_DATABASE_URL": database_url,
        "ACCOUNTING_LEDGER": QUICKBOOKS,
        "QBO_REALM_ID": REALM,
    }
    ran = [
        subprocess.run(
            [str(SYNCBOT), "status", *extra], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        for extra in ([], ["--json"])
    ]
    assert [r.returncode for r in ran] == [0, 0], ran[0].stderr
    assert "RECONNECT REQUIRED: run `syncbot connect quickbooks`" in ran[0].stdout
    data = json.loads(ran[1].stdout)
    assert data["ledger"] == {
        "name": QUICKBOOKS,
        "company_id": REALM,
        "company_name": NAME,
        "connection": "reconnect_required",
        "reconnect_required": True,
    }
    assert {"by_state", "by_error_class", "parked", "outage"} <= set(data)
    for text in (ran[0].stdout, ran[1].stdout):
        assert "RT1-" not in text and "eyJ" not in text


def test_slack_status_home_and_health_show_it(database_url, connected, clock) -> None:
    needs_reconnecting(connected, clock)
    engine = build_engine(qbo(database_url, secret_key=SECRET_KEY), database=connected, clock=clock)
    try:
        status = engine.status()
        answer = status_text(status)
        home = json.dumps(home_view(status, queue_total=0, list_link=None, nonce="n").to_dict())
        code, body = health(SimpleNamespace(engine=engine))  # type: ignore[arg-type]
    finally:
        engine.close()
    assert "*reconnect required*" in answer and "`syncbot connect quickbooks`" in answer
    assert "Food Bank &lt;North&gt;" in answer or "Food Bank <North>" in answer
    assert "reconnect required" in home and "syncbot connect quickbooks" in home
    assert code == "200 OK"
    assert body["ledger"] == {
        "name": QUICKBOOKS,
        "company_id": REALM,
        "connection": "reconnect_required",
        "reconnect_required": True,
    }
    assert NAME not in json.dumps(body)  # the open port tells states, not names
