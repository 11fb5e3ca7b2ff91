"""What the connect tests of every OAuth ledger share: a port, a browser, the flow on two
threads, the rows stored, the console script; settings read from a syncbot's environment, and the
Xero double's environment."""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from cryptography.fernet import Fernet
from pydantic import AliasChoices

from storage import connections
from storage.db import Database
from sync_engine.connecting import ConnectFlow
from sync_engine.credentials import TokenKeeper, Tokens
from sync_engine.oauth_sim.authority import TokenAuthority
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings
from sync_engine.xero_sim import XeroSimulator
from sync_engine.xero_sim.api import PREFIX
from sync_engine.xero_sim.tenancy import CONNECTIONS
from tests.conftest import open_database
from tests.integration.cli_harness import SYNCBOT

SECRET_KEY = Fernet.generate_key().decode()
CLIENT_SECRET = "sim-client-secret"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def consent(authorization_url: str, **tamper: str) -> httpx.Response:
    """What a browser does: open the URL, follow the ledger's redirect to the local listener
    (with `tamper` changing its query, as a forged link would). The listener's answer."""
    with httpx.Client(timeout=10.0, follow_redirects=False) as browser:
        ledger = browser.get(authorization_url)
        assert ledger.status_code == 302, ledger.text
        back = urlsplit(ledger.headers["Location"])
        query = {key: values[0] for key, values in parse_qs(back.query).items()}
        query.update(tamper)
        again = (back.scheme, back.netloc, back.path, urlencode(query), "")
        return browser.get(urlunsplit(again))


def run_flow(flow: ConnectFlow, **tamper: str) -> tuple[object, httpx.Response]:
    """The browser on another thread (real HTTP to the ledger's double, then to the listener);
    `finish` on this one. Its result or error, and what the browser was shown."""
    shown: list[httpx.Response] = []
    browser = threading.Thread(
        target=lambda: shown.append(consent(flow.authorization_url, **tamper))
    )
    browser.start()
    try:
        outcome: object = flow.finish(timeout=10)
    except Exception as exc:  # noqa: BLE001 - the test asserts on it
        outcome = exc
    browser.join(10)
    return outcome, shown[0]


def stored(database: Database) -> list[connections.StoredConnection]:
    """Every connection row, ciphertext included."""
    with database.reading() as session, session.begin():
        return connections.all_connections(session)


def rows(database_url: str) -> list[connections.StoredConnection]:
    """Every stored connection of the database at `database_url`."""
    with open_database(database_url) as database:
        return stored(database)


def browse_and_finish(
    args: list[str], env: dict[str, str], folder: Path, **tamper: str
) -> tuple[int, str, str, int]:
    """Run the console script, act as the browser on the URL it prints; its exit, out, err, and
    the status the browser was shown."""
    with subprocess.Popen(
        [str(SYNCBOT), *args],
        env=env,
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None and process.stdout is not None
        seen = [process.stderr.readline(), process.stderr.readline()]
        url = seen[1].strip()
        assert url.startswith("http"), seen
        shown = consent(url, **tamper).status_code
        out, err = process.communicate(timeout=60)
    return process.returncode, out, "".join(seen) + err, shown


def run(
    args: list[str], env: dict[str, str], folder: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the console script to its end (`stdin` given to it, if any)."""
    return subprocess.run(
        [str(SYNCBOT), *args],
        env=env,
        cwd=folder,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def xero_environment(database_url: str, sim: XeroSimulator, port: int) -> dict[str, str]:
    """The environment of a syncbot that connects to the Xero double, its redirect on `port`."""
    paths = sim.oauth.paths
    return {
        "SYNCBOT_DATABASE_URL": database_url,
        "SYNCBOT_SECRET_KEY": SECRET_KEY,
        "ACCOUNTING_LEDGER": "xero",
        "XERO_API_BASE_URL": sim.url + PREFIX.rstrip("/"),
        "XERO_CONNECTIONS_URL": sim.url + CONNECTIONS,
        "XERO_AUTH_URL": sim.url + paths.authorize,
        "XERO_TOKEN_URL": sim.url + paths.token,
        "XERO_CLIENT_ID": sim.authority.config.client_id,
        "XERO_CLIENT_SECRET": CLIENT_SECRET,
        "XERO_REDIRECT_URI": f"http://localhost:{port}/callback",
        "XERO_TIMEOUT_SECONDS": "5",
    }


def the_stored_tokens_work(
    database: Database,
    row: connections.StoredConnection,
    refresh: Callable[[str], Tokens],
    authority: TokenAuthority,
) -> None:
    """The tokens `row` stores work as the adapter would hold them (`refresh`: its OAuth
    client's): the access token is one the ledger's `authority` accepts, and the row holds it
    sealed, never in clear text."""
    keeper = TokenKeeper(database, SecretBox(SECRET_KEY), row.ledger, row.company_id, refresh)
    token = keeper.access_token()
    assert authority.check_access(token).status == "valid"
    assert token not in row.access_token_encrypted  # sealed, never clear text


def connected_json(ledger: str, company_id: str, company_name: str) -> dict[str, object]:
    """What `syncbot connect LEDGER --json` prints when it connects (no outage ended)."""
    return {
        "ledger": ledger,
        "company_id": company_id,
        "company_name": company_name,
        "state": "connected",
        "outage_ended": False,
    }


def xero_settings(database_url: str, sim: XeroSimulator, **overrides: object) -> Settings:
    """Settings for connecting to the Xero double (ACCOUNTING_LEDGER=xero)."""
    return settings_of(xero_environment(database_url, sim, free_port()), **overrides)


def settings_of(environment: dict[str, str], **overrides: object) -> Settings:
    """The settings a syncbot run with `environment` reads, then `overrides` (by field name)."""
    fields = {
        variable: name
        for name, field in Settings.model_fields.items()
        if isinstance(field.validation_alias, AliasChoices)
        for variable in field.validation_alias.choices
        if isinstance(variable, str)
    }
    values: dict[str, object] = {fields[variable]: value for variable, value in environment.items()}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
