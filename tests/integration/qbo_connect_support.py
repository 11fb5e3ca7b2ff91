"""Settings for the QuickBooks double's connect tests (the rest: `connect_support`)."""

from __future__ import annotations

from pydantic import SecretStr

from sync_engine.quickbooks_sim import QuickBooksSimulator
from sync_engine.settings import Settings
from tests.integration.connect_support import CLIENT_SECRET, SECRET_KEY, consent, free_port

__all__ = ["CLIENT_SECRET", "SECRET_KEY", "consent", "free_port", "qbo_environment", "qbo_settings"]


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
