"""`syncbot connect`: connect syncbot to an OAuth ledger's company (QuickBooks Online, Xero).

Two ways: the authorization-code flow (the URL to open is printed, the browser's redirect is
received on the redirect URI's localhost port), or `--refresh-token` and the company's id for a
headless server (a token obtained elsewhere). The engine does the steps
(`sync_engine.connecting`); this module prints, the same way for every ledger (`LedgerWords`).
No token is ever printed: neither the one given nor the ones stored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from bot.cli_support import engine_errors, fail, load_settings

if TYPE_CHECKING:
    from sync_engine import Connected, Settings

WAIT_SECONDS = 300  # an authorization code lives 5 minutes


@dataclass(frozen=True)
class LedgerWords:
    """What `connect` says of one ledger."""

    ledger: str  # "quickbooks"
    title: str  # "QuickBooks"
    company: str  # "company", "organisation"
    id_label: str  # "realm id", "tenant id"
    redirect_uri: Callable[[Settings], str]
    hints: Callable[[Settings, Connected], list[str]]


def _company_hints(configured: str, setting: str, words: str, result: Connected) -> list[str]:
    """Whether the company setting must change for syncbot to post to the one connected."""
    if configured and configured != result.company_id:
        return [f"set {setting}={result.company_id} so that syncbot posts to it"]
    if not configured:
        return [
            f"{setting} may stay empty while this is the only {words} connected;"
            f" with several, set {setting}={result.company_id} to post to this one"
        ]
    return []


def _quickbooks_hints(settings: Settings, result: Connected) -> list[str]:
    hints = _company_hints(settings.qbo_realm_id, "QBO_REALM_ID", "QuickBooks company", result)
    return hints + _ledger_hint(settings, result)


def _xero_hints(settings: Settings, result: Connected) -> list[str]:
    words = "Xero organisation"
    hints = _company_hints(settings.xero_tenant_id, "XERO_TENANT_ID", words, result)
    return hints + _ledger_hint(settings, result)


def _ledger_hint(settings: Settings, result: Connected) -> list[str]:
    if settings.ledger != result.ledger:
        return [f"set ACCOUNTING_LEDGER={result.ledger} to post to it instead of the gateway"]
    return []


QUICKBOOKS = LedgerWords(
    "quickbooks",
    "QuickBooks",
    "company",
    "realm id",
    lambda s: s.qbo_redirect_uri,
    _quickbooks_hints,
)
XERO = LedgerWords(
    "xero",
    "Xero",
    "organisation",
    "tenant id",
    lambda s: s.xero_redirect_uri,
    _xero_hints,
)


@click.group()
def connect() -> None:
    """Connect syncbot to an accounting company (its tokens are stored encrypted)."""


def _common_options(source: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--refresh-token, --timeout and --json, the same for every ledger."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            (
                click.option(
                    "--refresh-token",
                    metavar="TOKEN",
                    default=None,
                    help=f"A refresh token obtained elsewhere ({source}); '-' reads it from stdin.",
                ),
                click.option(
                    "--timeout",
                    type=click.IntRange(1, 3600),
                    default=WAIT_SECONDS,
                    show_default=True,
                    help="Seconds to wait for the browser's redirect.",
                ),
                click.option("--json", "as_json", is_flag=True, help="Answer in JSON for scripts."),
            )
        ):
            command = option(command)
        return command

    return decorate


@connect.command("quickbooks")
@click.option("--realm-id", metavar="ID", default=None, help="The company of --refresh-token.")
@_common_options("Intuit's OAuth Playground")
def connect_quickbooks(
    refresh_token: str | None, realm_id: str | None, timeout: int, as_json: bool
) -> None:
    """Connect a QuickBooks Online company: in a browser, or with --refresh-token and --realm-id."""
    if (refresh_token is None) != (realm_id is None):
        fail("give both --refresh-token and --realm-id, or neither (to connect in a browser)")
    _connect(QUICKBOOKS, refresh_token, realm_id, timeout, as_json)


@connect.command("xero")
@click.option(
    "--tenant-id",
    metavar="ID",
    default=None,
    help="The organisation to connect (needed with --refresh-token, or when several are).",
)
@_common_options("another Xero OAuth client")
def connect_xero(
    refresh_token: str | None, tenant_id: str | None, timeout: int, as_json: bool
) -> None:
    """Connect a Xero organisation: in a browser, or with --refresh-token and --tenant-id."""
    if refresh_token is not None and tenant_id is None:
        fail("--refresh-token needs --tenant-id (the organisation's tenant id)")
    _connect(XERO, refresh_token, tenant_id, timeout, as_json)


def _connect(
    words: LedgerWords,
    refresh_token: str | None,
    company_id: str | None,
    timeout: int,
    as_json: bool,
) -> None:
    """Connect the ledger one way or the other, then report."""
    settings = load_settings()
    with engine_errors():
        if refresh_token is not None and company_id is not None:
            result = _with_refresh_token(settings, words, refresh_token, company_id)
        else:
            result = _in_a_browser(settings, words, timeout, company_id)
    _report(settings, words, result, as_json)


def _with_refresh_token(
    settings: Settings, words: LedgerWords, refresh_token: str, company_id: str
) -> Connected:
    from sync_engine import connect_with_refresh_token

    if refresh_token == "-":
        refresh_token = sys.stdin.readline().strip()
    return connect_with_refresh_token(settings, words.ledger, refresh_token, company_id)


def _in_a_browser(
    settings: Settings, words: LedgerWords, timeout: int, company_id: str | None
) -> Connected:
    from bot.render import say
    from sync_engine import ConnectFlow

    with ConnectFlow(settings, words.ledger, company_id=company_id) as flow:
        say(
            f"Open this address in a browser, sign in to {words.title},"
            f" choose the {words.company}:",
            err=True,
        )
        say(f"  {flow.authorization_url}", err=True)
        say(
            f"Waiting for {words.title} to come back to {words.redirect_uri(settings)} ...",
            err=True,
        )
        return flow.finish(timeout)


def _report(settings: Settings, words: LedgerWords, result: Connected, as_json: bool) -> None:
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
        say(
            f"connected to {words.title} {words.company} {name}"
            f" ({words.id_label} {result.company_id})"
        )
        if result.outage_ended:
            say("the ledger outage is over: automatic sends resume and parked records return")
    for hint in words.hints(settings, result):
        say(hint, err=True)
