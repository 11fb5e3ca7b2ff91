"""`syncbot connect`: connect syncbot to an OAuth ledger's company (QuickBooks Online).

Two ways: the authorization-code flow (the URL to open is printed, the browser's redirect is
received on QBO_REDIRECT_URI's localhost port), or `--refresh-token` and `--realm-id` for a
headless server (a token from Intuit's OAuth Playground). The engine does the steps
(`sync_engine.connecting`); this module prints. No token is ever printed: neither the one
given nor the ones stored.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from bot.cli_support import engine_errors, fail, load_settings

if TYPE_CHECKING:
    from sync_engine import Connected, Settings

WAIT_SECONDS = 300  # an authorization code lives 5 minutes


@click.group()
def connect() -> None:
    """Connect syncbot to an accounting company (its tokens are stored encrypted)."""


@connect.command("quickbooks")
@click.option(
    "--refresh-token",
    metavar="TOKEN",
    default=None,
    help="A refresh token obtained elsewhere (Intuit's OAuth Playground); '-' reads it from stdin.",
)
@click.option("--realm-id", metavar="ID", default=None, help="The company of --refresh-token.")
@click.option(
    "--timeout",
    type=click.IntRange(1, 3600),
    default=WAIT_SECONDS,
    show_default=True,
    help="Seconds to wait for the browser's redirect.",
)
@click.option("--json", "as_json", is_flag=True, help="Answer in JSON for scripts.")
def connect_quickbooks(
    refresh_token: str | None, realm_id: str | None, timeout: int, as_json: bool
) -> None:
    """Connect a QuickBooks Online company: in a browser, or with --refresh-token and --realm-id."""
    if (refresh_token is None) != (realm_id is None):
        fail("give both --refresh-token and --realm-id, or neither (to connect in a browser)")
    settings = load_settings()
    with engine_errors():
        if refresh_token is not None and realm_id is not None:
            result = _with_refresh_token(settings, refresh_token, realm_id)
        else:
            result = _in_a_browser(settings, timeout)
    _report(settings, result, as_json)


def _with_refresh_token(settings: Settings, refresh_token: str, realm_id: str) -> Connected:
    from sync_engine import connect_with_refresh_token

    if refresh_token == "-":
        refresh_token = sys.stdin.readline().strip()
    return connect_with_refresh_token(settings, "quickbooks", refresh_token, realm_id)


def _in_a_browser(settings: Settings, timeout: int) -> Connected:
    from bot.render import say
    from sync_engine import ConnectFlow

    with ConnectFlow(settings, "quickbooks") as flow:
        say("Open this address in a browser, sign in to QuickBooks, choose the company:", err=True)
        say(f"  {flow.authorization_url}", err=True)
        say(f"Waiting for QuickBooks to come back to {settings.qbo_redirect_uri} ...", err=True)
        return flow.finish(timeout)


def _report(settings: Settings, result: Connected, as_json: bool) -> None:
    from bot.render import emit, say, visible
    from sync_engine import LedgerLink

    if as_json:
        emit(
            {
                "ledger": result.ledger,
                "company_id": result.company_id,
                "company_name": result.company_name,
                "state": LedgerLink.CONNECTED,
                "outage_ended": result.outage_ended,
            }
        )
    else:
        name = visible(result.company_name) if result.company_name else "(no name given)"
        say(f"connected to QuickBooks company {name} (realm id {result.company_id})")
        if result.outage_ended:
            say("the ledger outage is over: automatic sends resume and parked records return")
    for hint in _hints(settings, result):
        say(hint, err=True)


def _hints(settings: Settings, result: Connected) -> list[str]:
    """What is left to set for syncbot to post to the company just connected."""
    hints = []
    if settings.qbo_realm_id != result.company_id:
        hints.append(f"set QBO_REALM_ID={result.company_id} so that syncbot posts to it")
    if settings.ledger != result.ledger:
        hints.append(f"set ACCOUNTING_LEDGER={result.ledger} to post to it instead of the gateway")
    return hints
