"""Xero's side of connecting (`sync_engine.connecting.Connector`).

The company is a tenant: after the code exchange (or the refresh of a token obtained
elsewhere) the new access token reads `GET {XERO_CONNECTIONS_URL}` and only organisations
count (contract section 1). With one, it is taken; with several, the one named by `--tenant-id`
or XERO_TENANT_ID, and none named is refused with the list, never guessed. A named tenant not
in the list is refused. Nothing is stored on any refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sync_engine.connecting import ConnectRefused
from sync_engine.credentials import XERO, Tokens
from sync_engine.oauth_connector import OAuthConnector
from sync_engine.settings import Settings
from sync_engine.xero.oauth import GUID, Tenant, XeroOAuth

MAX_LISTED = 20  # organisations named in a refusal; the rest are counted
MAX_SHOWN_NAME = 80


class XeroConnector(OAuthConnector):
    """Connects one Xero organisation through Xero's identity endpoints."""

    ledger = XERO
    title = "Xero"
    _oauth: XeroOAuth

    def __init__(self, settings: Settings, **options: Any) -> None:
        super().__init__(settings, XeroOAuth(settings, **options))
        self._refs: dict[str, str | None] = {}

    def company(self, callback: Mapping[str, str], tokens: Tokens, wanted: str | None) -> str:
        """The tenant: the only organisation connected, or the one named (`wanted`, else
        XERO_TENANT_ID) among several; ConnectRefused otherwise."""
        tenants = self._oauth.tenants(tokens.access_token)
        named = wanted or self._settings.xero_tenant_id or None
        if named:
            chosen = _find(tenants, named)
            if chosen is None:
                raise ConnectRefused(
                    f"Xero organisation {named[:40]!r} is not connected to this app for the"
                    f" user who consented ({_listed(tenants)}): nothing stored"
                )
        elif len(tenants) == 1:
            chosen = tenants[0]
        elif not tenants:
            raise ConnectRefused(
                "Xero connected no organisation (the consent chose none): nothing stored;"
                " run the command again and choose an organisation"
            )
        else:
            raise ConnectRefused(
                f"Xero connected {len(tenants)} organisations: {_listed(tenants)}; rerun with"
                " --tenant-id ID to choose one: nothing stored"
            )
        self._refs[chosen.tenant_id] = chosen.connection_id
        return chosen.tenant_id

    def ledger_ref(self, company_id: str) -> str | None:
        """The connection id of the tenant chosen (for `DELETE /connections/{id}`)."""
        return self._refs.get(company_id)

    def check_company(self, company_id: str) -> None:
        """Refuse a tenant id that is not a GUID."""
        if not GUID.match(company_id):
            raise ConnectRefused(
                f"{company_id[:40]!r} is not a Xero tenant id (a GUID such as"
                " fe79f7dd-b6d4-4a92-ba7b-538af6289c58; `syncbot connect xero` in a browser"
                " lists them): nothing stored"
            )

    def settings_for(self, company_id: str) -> Settings:
        """The settings with the Xero adapter and this tenant chosen."""
        return self._settings.model_copy(update={"ledger": XERO, "xero_tenant_id": company_id})


def _find(tenants: list[Tenant], tenant_id: str) -> Tenant | None:
    for tenant in tenants:
        if tenant.tenant_id.lower() == tenant_id.lower():
            return tenant
    return None


def _listed(tenants: list[Tenant]) -> str:
    """Each organisation's name (escaped, cut) and tenant id, for a one-line refusal."""
    if not tenants:
        return "none is connected"
    shown = [f"{t.name[:MAX_SHOWN_NAME]!r} (tenant id {t.tenant_id})" for t in tenants[:MAX_LISTED]]
    more = len(tenants) - MAX_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
