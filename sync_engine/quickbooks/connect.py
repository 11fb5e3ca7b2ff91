"""QuickBooks Online's side of connecting (`sync_engine.connecting.Connector`).

The company is the realm the person chose on Intuit's consent screen, sent back as `realmId`
in the redirect (contract section 1); for a refresh token obtained elsewhere it is given.
When QBO_REALM_ID is set, any other realm is refused before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sync_engine.connecting import ConnectRefused
from sync_engine.credentials import QUICKBOOKS, Tokens
from sync_engine.quickbooks.oauth import MissingSetting, QuickBooksOAuth
from sync_engine.settings import Settings

REALM_ID = re.compile(r"^[0-9]{1,32}$")  # Intuit's realm ids are decimal numbers


class QuickBooksConnector:
    """Connects one QuickBooks Online company through Intuit's OAuth 2.0 endpoints."""

    ledger = QUICKBOOKS
    title = "QuickBooks"

    def __init__(self, settings: Settings, **options: Any) -> None:
        self._settings = settings
        self._oauth = QuickBooksOAuth(settings, **options)

    def redirect_uri(self) -> str:
        """QBO_REDIRECT_URI, registered with the Intuit app."""
        if not self._settings.qbo_redirect_uri:
            raise MissingSetting(
                "QBO_REDIRECT_URI is not set: register http://localhost:PORT/callback with the"
                " Intuit app and set it here too"
            )
        return self._settings.qbo_redirect_uri

    def authorization_url(self, state: str) -> str:
        """Intuit's consent page for the accounting scope."""
        return self._oauth.authorization_url(state)

    def exchange(self, code: str) -> Tokens:
        """Trade the redirect's code for the first token set."""
        return self._oauth.exchange(code)

    def refresh(self, refresh_token: str) -> Tokens:
        """Prove a refresh token obtained elsewhere (it rotates: the new set is stored)."""
        return self._oauth.refresh(refresh_token)

    def company(self, callback: Mapping[str, str], tokens: Tokens, wanted: str | None) -> str:
        """The realm id Intuit sent back with the code (else the one named); a realm other
        than the one named is refused."""
        realm = callback.get("realmId") or wanted or ""
        if not realm:
            raise ConnectRefused("QuickBooks' redirect carries no realmId: nothing stored")
        if wanted and realm != wanted:
            raise ConnectRefused(
                f"QuickBooks company {realm[:40]} is not the one named ({wanted}): nothing stored"
            )
        return realm

    def ledger_ref(self, company_id: str) -> str | None:
        """Intuit has no id of its own for a connection."""
        return None

    def check_company(self, company_id: str) -> None:
        """Refuse a malformed realm id, or one other than QBO_REALM_ID when that is set."""
        if not REALM_ID.match(company_id):
            raise ConnectRefused(
                f"{company_id[:40]!r} is not a QuickBooks realm id (a number, shown in"
                " QuickBooks under Settings > Account and settings > Billing): nothing stored"
            )
        wanted = self._settings.qbo_realm_id
        if wanted and company_id != wanted:
            raise ConnectRefused(
                f"QuickBooks company {company_id} is not QBO_REALM_ID ({wanted}): choose that"
                " company, or change QBO_REALM_ID: nothing stored"
            )

    def settings_for(self, company_id: str) -> Settings:
        """The settings with the QuickBooks adapter and this realm chosen."""
        return self._settings.model_copy(update={"ledger": QUICKBOOKS, "qbo_realm_id": company_id})

    def close(self) -> None:
        """Release the token endpoint's connections."""
        self._oauth.close()
