"""Intuit's OAuth 2.0 endpoints (contract section 1): the generic client, set up for Intuit.

`QuickBooksOAuth` is `sync_engine.oauth_client.OAuthClient` with the QBO_* settings: the
accounting scope, the client secret sent as HTTP Basic, a revoke that takes a JSON body. The
errors are the generic client's, importable from here as before.
"""

from __future__ import annotations

import httpx

from sync_engine.oauth_client import (
    MAX_ANSWER_BYTES,
    TOKEN_TIMEOUT_SECONDS,
    MissingSetting,
    OAuthApp,
    OAuthClient,
    SettingNames,
    TokenEndpointUnreachable,
    TokenRequestRefused,
)
from sync_engine.settings import Settings

SCOPE = "com.intuit.quickbooks.accounting"  # read and write; the only scope requested
QBO_NAMES = SettingNames("QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "QBO_REDIRECT_URI", "the Intuit app")


def quickbooks_app(settings: Settings) -> OAuthApp:
    """The Intuit app the QBO_* settings describe."""
    return OAuthApp(
        title="QuickBooks",
        auth_url=settings.qbo_auth_url,
        token_url=settings.qbo_token_url,
        revoke_url=settings.qbo_revoke_url,
        client_id=settings.qbo_client_id,
        client_secret=settings.qbo_client_secret,
        redirect_uri=settings.qbo_redirect_uri,
        scope=SCOPE,
        names=QBO_NAMES,
        revoke_as_json=True,
    )


class QuickBooksOAuth(OAuthClient):
    """The OAuth 2.0 client of one Intuit app (QBO_CLIENT_ID, QBO_CLIENT_SECRET)."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(quickbooks_app(settings), transport=transport)


__all__ = [
    "MAX_ANSWER_BYTES",
    "SCOPE",
    "TOKEN_TIMEOUT_SECONDS",
    "MissingSetting",
    "QuickBooksOAuth",
    "TokenEndpointUnreachable",
    "TokenRequestRefused",
    "quickbooks_app",
]
