"""What the connect tests share: settings for the QuickBooks double, a browser, a probe."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sync_engine.quickbooks_sim import QuickBooksSimulator
from sync_engine.settings import Settings

SECRET_KEY = Fernet.generate_key().decode()
CLIENT_SECRET = "sim-client-secret"


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def qbo_environment(database_url: str, sim: QuickBooksSimulator, port: int) -> dict[str, str]:
    """The environment of a syncbot that connects to the double, its redirect on `port`."""
    paths = sim.oauth.paths
    return {
        "SYNCBOT_DATABASE_URL": database_url,
        "SYNCBOT_SECRET_KEY": SECRET_KEY,
        "ACCOUNTING_LEDGER": "quickbooks",
        "QBO_API_BASE_URL": sim.url,
        "QBO_AUTH_URL": sim.url + paths.authorize,
        "QBO_TOKEN_URL": sim.url + paths.token,
        "QBO_REVOKE_URL": sim.url + paths.revoke,
        "QBO_CLIENT_ID": sim.authority.config.client_id,
        "QBO_CLIENT_SECRET": CLIENT_SECRET,
        "QBO_REDIRECT_URI": f"http://localhost:{port}/callback",
        "QBO_TIMEOUT_SECONDS": "5",
    }


def qbo_settings(database_url: str, sim: QuickBooksSimulator, **overrides: object) -> Settings:
    """Settings for connecting to the double (ACCOUNTING_LEDGER=quickbooks)."""
    paths = sim.oauth.paths
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": SecretStr(SECRET_KEY),
        "ledger": "quickbooks",
        "qbo_api_base_url": sim.url,
        "qbo_auth_url": sim.url + paths.authorize,
        "qbo_token_url": sim.url + paths.token,
        "qbo_revoke_url": sim.url + paths.revoke,
        "qbo_client_id": sim.authority.config.client_id,
        "qbo_client_secret": SecretStr(CLIENT_SECRET),
        "qbo_redirect_uri": f"http://localhost:{free_port()}/callback",
        "qbo_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def consent(authorization_url: str, **tamper: str) -> httpx.Response:
    """What a browser does: open the URL, follow Intuit's redirect to the local listener
    (with `tamper` changing its query, as a forged link would). The listener's answer."""
    with httpx.Client(timeout=10.0, follow_redirects=False) as browser:
        intuit = browser.get(authorization_url)
        assert intuit.status_code == 302, intuit.text
        back = urlsplit(intuit.headers["Location"])
        query = {key: values[0] for key, values in parse_qs(back.query).items()}
        query.update(tamper)
        again = (back.scheme, back.netloc, back.path, urlencode(query), "")
        return browser.get(urlunsplit(again))
