"""Connecting an OAuth ledger (QuickBooks Online, Xero): the steps every ledger shares.

Two ways in, both ending the same way:

- the authorization-code flow (`ConnectFlow`): listen on the redirect URI's loopback port,
  show the authorization URL, take the one redirect, check its `state`, exchange the code;
- a refresh token obtained elsewhere (`connect_with_refresh_token`): one refresh proves it.

Then the new token set is stored (committed before any use, `credentials.connect`), the ledger
is probed through its adapter (`make_ledger(...).probe()`, which reads the stored tokens) and
the company's name is recorded. If the probe fails, the row is put back as it was: nothing is
stored. If the ledger is the one syncbot posts to, the probe's answer also ends an outage in
force, as any probe does, so the records an auth failure parked return to the queue at once.

A ledger's specifics (its OAuth endpoints, where the company id comes from, which settings
name the company) are a `Connector`, found by `connector_for`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from storage import connections
from storage.db import Database
from sync_engine.credentials import Tokens, connect, utc_now
from sync_engine.errors import BadInput, SyncEngineError
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings

if TYPE_CHECKING:
    from sync_engine.ledger import Ledger
    from sync_engine.send_log import SendLog

log = logging.getLogger(__name__)
# Builds the adapter to probe with: `make_ledger` unless a test brings its own.
LedgerFactory = Callable[[Settings, "SendLog"], "Ledger"]

CALLBACK_TIMEOUT_SECONDS = 300.0  # an authorization code lives 5 minutes (Intuit, Xero)
LOOPBACK = ("localhost", "127.0.0.1", "::1")
MAX_NAME = 256


class ConnectRefused(SyncEngineError):
    """The connection was not made (bad state, refused code or token, wrong company); nothing
    was stored."""


@dataclass(frozen=True)
class Connected:
    """A connection made and proved: never a token."""

    ledger: str
    company_id: str
    company_name: str | None
    outage_ended: bool  # the ledger syncbot posts to was in an outage, now over


class Connector(Protocol):
    """One ledger's side of connecting (`sync_engine.quickbooks.connect`, `.xero.connect`)."""

    ledger: str  # the `ledger_connections.ledger` value, and ACCOUNTING_LEDGER's
    title: str  # for people: "QuickBooks"

    def redirect_uri(self) -> str:
        """Where the ledger sends the browser back (the flow listens there)."""
        ...

    def authorization_url(self, state: str) -> str:
        """The URL a person opens to consent."""
        ...

    def exchange(self, code: str) -> Tokens:
        """Trade an authorization code for the first token set."""
        ...

    def refresh(self, refresh_token: str) -> Tokens:
        """A new token set for a refresh token."""
        ...

    def company(self, callback: Mapping[str, str], tokens: Tokens, wanted: str | None) -> str:
        """The company to connect: from the redirect, or asked with the new tokens; `wanted` is
        the one the command named (None: none named; the callback is empty for a refresh token
        obtained elsewhere). ConnectRefused if it cannot be settled without guessing."""
        ...

    def ledger_ref(self, company_id: str) -> str | None:
        """The ledger's own id of this connection, stored beside the tokens (Xero's connection
        id), once `company` has settled it; None if the ledger has none."""
        ...

    def check_company(self, company_id: str) -> None:
        """Refuse (ConnectRefused) a company other than the one the settings name."""
        ...

    def settings_for(self, company_id: str) -> Settings:
        """The settings with this ledger and company chosen, to build its adapter."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def connector_for(settings: Settings, ledger: str, **options: Any) -> Connector:
    """The connector of `ledger`; imported only when chosen, like the adapters."""
    if ledger == "quickbooks":
        from sync_engine.quickbooks.connect import QuickBooksConnector

        return QuickBooksConnector(settings, **options)
    if ledger == "xero":
        from sync_engine.xero.connect import XeroConnector

        return XeroConnector(settings, **options)
    raise BadInput(f"cannot connect {ledger!r}: only quickbooks and xero can be connected")


def new_state() -> str:
    """A fresh, unguessable `state` for one authorization request."""
    return secrets.token_urlsafe(32)


def checked_code(callback: Mapping[str, str], state: str, title: str) -> str:
    """The authorization code of a redirect whose `state` is ours; ConnectRefused otherwise."""
    if not hmac.compare_digest(callback.get("state", "").encode(), state.encode()):
        raise ConnectRefused(
            "the redirect's state does not match this connect's (an old or forged link):"
            " nothing stored; run the command again and use the URL it prints"
        )
    error = callback.get("error")
    if error:
        raise ConnectRefused(f"{title} refused the authorization: {error[:100]}: nothing stored")
    code = callback.get("code", "")
    if not code:
        raise ConnectRefused(f"{title}'s redirect carries no code: nothing stored")
    return code


class CallbackListener:
    """Listens on the redirect URI's loopback port for the browser's one redirect."""

    def __init__(self, redirect_uri: str) -> None:
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.port is None:
            raise BadInput(
                f"the redirect URI {redirect_uri!r} is not an http://localhost:PORT/... address:"
                " syncbot connect listens for the redirect on this machine (or use"
                " --refresh-token for a headless server)"
            )
        self.path = parts.path or "/"
        host = "::1" if parts.hostname == "::1" else "127.0.0.1"
        try:
            self._server = _OneRedirect((host, parts.port), _CallbackHandler, self.path)
        except OSError as exc:
            raise BadInput(
                f"cannot listen on {parts.hostname}:{parts.port}: {exc.strerror}"
            ) from None
        self.port = self._server.server_address[1]

    def wait(self, timeout: float = CALLBACK_TIMEOUT_SECONDS) -> dict[str, str]:
        """The query of the first request to the redirect path; ConnectRefused on timeout."""
        deadline = time.monotonic() + timeout
        while self._server.callback is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectRefused(
                    f"no redirect came back within {timeout:.0f} s: nothing stored"
                )
            self._server.timeout = min(left, 1.0)
            self._server.handle_request()
        return self._server.callback

    def close(self) -> None:
        """Stop listening."""
        self._server.server_close()


class _OneRedirect(HTTPServer):
    def __init__(self, address: tuple[str, int], handler: Any, path: str) -> None:
        self.address_family = _family(address[0])
        super().__init__(address, handler)
        self.path = path
        self.callback: dict[str, str] | None = None


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _CallbackHandler(BaseHTTPRequestHandler):
    timeout = 10  # a client that connects and sends nothing holds the listener this long

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        server = self.server
        assert isinstance(server, _OneRedirect)
        parts = urlsplit(self.path)
        if parts.path != server.path:
            self._page(404, "Not the redirect address.")
            return
        server.callback = dict(parse_qsl(parts.query, max_num_fields=32))
        self._page(200, "syncbot received the answer. Return to the terminal to see the result.")

    def _page(self, status: int, text: str) -> None:
        body = f"<!doctype html><title>syncbot</title><p>{text}</p>\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None  # the request line carries the code: never logged


class ConnectFlow:
    """The authorization-code flow for one ledger: `authorization_url`, then `finish`.

    `company_id` names the company to connect when a consent may cover several (Xero's
    `--tenant-id`); None leaves the choice to the consent and the settings.
    """

    def __init__(
        self,
        settings: Settings,
        ledger: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        ledger_factory: LedgerFactory | None = None,
        company_id: str | None = None,
    ) -> None:
        self._settings = settings
        self._box = SecretBox(settings.secret_key)  # refuse before anything else without a key
        self._connector = connector_for(settings, ledger)
        self._clock = clock
        self._ledger_factory = ledger_factory
        self._wanted = company_id.strip() if company_id else None  # None: the consent's
        self._state = new_state()
        try:
            if self._wanted:
                self._connector.check_company(self._wanted)
            self.authorization_url = self._connector.authorization_url(self._state)
            self._listener = CallbackListener(self._connector.redirect_uri())
        except BaseException:
            self._connector.close()
            raise

    def finish(self, timeout: float = CALLBACK_TIMEOUT_SECONDS) -> Connected:
        """Wait for the redirect, check it, exchange the code, store, probe; the result."""
        try:
            callback = self._listener.wait(timeout)
        finally:
            self._listener.close()
        code = checked_code(callback, self._state, self._connector.title)
        tokens = self._connector.exchange(code)
        company = self._connector.company(callback, tokens, self._wanted)
        self._connector.check_company(company)
        return store_and_probe(
            self._settings,
            self._connector,
            self._box,
            company,
            tokens,
            clock=self._clock,
            ledger_factory=self._ledger_factory,
        )

    def close(self) -> None:
        """Stop listening and release the connector."""
        self._listener.close()
        self._connector.close()

    def __enter__(self) -> ConnectFlow:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect_with_refresh_token(
    settings: Settings,
    ledger: str,
    refresh_token: str,
    company_id: str,
    *,
    clock: Callable[[], datetime] = utc_now,
    ledger_factory: LedgerFactory | None = None,
) -> Connected:
    """Connect with a refresh token obtained elsewhere: one refresh proves it, the rotated set
    is stored before its first use, then the probe."""
    box = SecretBox(settings.secret_key)
    company_id = company_id.strip()
    if not company_id or not refresh_token.strip():
        raise BadInput("both a refresh token and a company id are needed")
    connector = connector_for(settings, ledger)
    try:
        connector.check_company(company_id)
        tokens = connector.refresh(refresh_token.strip())
        company_id = connector.company({}, tokens, company_id)
        return store_and_probe(
            settings,
            connector,
            box,
            company_id,
            tokens,
            clock=clock,
            ledger_factory=ledger_factory,
        )
    finally:
        connector.close()


def store_and_probe(
    settings: Settings,
    connector: Connector,
    box: SecretBox,
    company_id: str,
    tokens: Tokens,
    *,
    clock: Callable[[], datetime],
    ledger_factory: LedgerFactory | None = None,
) -> Connected:
    """Store the proved tokens, probe the company through its adapter, keep its name; undo the
    store if the probe fails."""
    database = Database.open(settings.database_url, migrate=True)
    try:
        with database.reading() as session, session.begin():
            previous = connections.find(session, connector.ledger, company_id)
        ref = connector.ledger_ref(company_id)
        stored = connect(
            database, box, connector.ledger, company_id, tokens, ledger_ref=ref, clock=clock
        )
        try:
            name, ended = _probe(settings, connector, company_id, database, clock, ledger_factory)
        except BaseException as exc:
            with database.transaction() as tx:
                connections.undo_store(
                    tx, connector.ledger, company_id, previous, generation=stored.generation
                )
            fields = {"event": "ledger_connect_undone", "ledger": connector.ledger}
            log.info("ledger connection undone: the probe failed", extra=fields)
            if not isinstance(exc, SyncEngineError):
                raise
            raise ConnectRefused(
                f"{connector.title} company {company_id} did not answer with the new"
                f" credentials ({exc}): nothing stored; start again with a new code or"
                " refresh token (the one given is spent)"
            ) from None
        with database.transaction() as tx:
            connections.name_company(
                tx, connector.ledger, company_id, name and name[:MAX_NAME], now=clock()
            )
    finally:
        database.dispose()
    return Connected(connector.ledger, company_id, name, ended)


def _probe(
    settings: Settings,
    connector: Connector,
    company_id: str,
    database: Database,
    clock: Callable[[], datetime],
    ledger_factory: LedgerFactory | None,
) -> tuple[str | None, bool]:
    """The company's name through the adapter; and whether this ended an outage in force."""
    from sync_engine.build import build_engine
    from sync_engine.ledger import make_ledger
    from sync_engine.outage import PROBE_ANSWERED
    from sync_engine.send_log import SendLog

    chosen = connector.settings_for(company_id)
    send_log = SendLog(database, clock)
    if ledger_factory is None:
        ledger = make_ledger(chosen, send_log=send_log)
    else:
        ledger = ledger_factory(chosen, send_log)
    with build_engine(chosen, database=database, ledger=ledger, clock=clock) as engine:
        name = ledger.probe()
        # Only the ledger syncbot posts to has its outages in gateway_status.
        if settings.ledger != connector.ledger or engine.outage() is None:
            return name, False
        engine.gateway_answered(PROBE_ANSWERED)
        return name, engine.outage() is None


__all__ = [
    "CallbackListener",
    "ConnectFlow",
    "ConnectRefused",
    "Connected",
    "Connector",
    "checked_code",
    "connect_with_refresh_token",
    "connector_for",
    "new_state",
    "store_and_probe",
]
