"""The half of a `connecting.Connector` every OAuth ledger shares: its app's OAuth client.

`OAuthConnector` hands the redirect URI, the authorization URL, the code exchange and the
refresh to the ledger's `OAuthClient`, and closes it. A subclass (`QuickBooksConnector`,
`XeroConnector`) adds where the company comes from and which settings name it.
"""

from __future__ import annotations

from sync_engine.credentials import Tokens
from sync_engine.oauth_client import MissingSetting, OAuthClient
from sync_engine.settings import Settings


class OAuthConnector:
    """A connector's OAuth steps, through one ledger app's `OAuthClient`."""

    ledger: str  # "quickbooks", "xero"
    title: str  # "QuickBooks", "Xero"

    def __init__(self, settings: Settings, oauth: OAuthClient) -> None:
        self._settings = settings
        self._oauth = oauth

    def redirect_uri(self) -> str:
        """The redirect URI registered with the app (QBO_REDIRECT_URI, XERO_REDIRECT_URI)."""
        app = self._oauth.app
        if not app.redirect_uri:
            raise MissingSetting(
                f"{app.names.redirect_uri} is not set: register http://localhost:PORT/callback"
                f" with {app.names.app} and set it here too"
            )
        return app.redirect_uri

    def authorization_url(self, state: str) -> str:
        """The ledger's consent page for the app's scope."""
        return self._oauth.authorization_url(state)

    def exchange(self, code: str) -> Tokens:
        """Trade the redirect's code for the first token set."""
        return self._oauth.exchange(code)

    def refresh(self, refresh_token: str) -> Tokens:
        """Prove a refresh token obtained elsewhere (it rotates: the new set is stored)."""
        return self._oauth.refresh(refresh_token)

    def close(self) -> None:
        """Release the token endpoint's connections."""
        self._oauth.close()
