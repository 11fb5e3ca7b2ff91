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
from sync_engine.oauth_connector import OAuthConnector
from sync_engine.quickbooks.oauth import QuickBooksOAuth
from sync_engine.settings import Settings

REALM_ID = re.compile(r"^[0-9]{1,32}$")  # Intuit's realm ids are decimal numbers


class QuickBooksConnector(OAuthConnector):
    """Connects one QuickBooks Online company through Intuit's OAuth 2.0 endpoints."""

    ledger = QUICKBOOKS
    title = "QuickBooks"

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(settings, QuickBooksOAuth(settings, **options))

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
