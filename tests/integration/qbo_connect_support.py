"""Settings for the QuickBooks double's connect tests (the rest: `connect_support`)."""

from __future__ import annotations

from sync_engine.quickbooks_sim import QuickBooksSimulator
from sync_engine.settings import Settings
from tests.integration.connect_support import (
    CLIENT_SECRET,
    SECRET_KEY,
    consent,
    free_port,
    settings_of,
)

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
    return settings_of(qbo_environment(database_url, sim, free_port()), **overrides)
