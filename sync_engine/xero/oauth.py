"""Xero's identity endpoints (contract section 1): the OAuth client and the connections list.

`XeroOAuth` is `sync_engine.oauth_client.OAuthClient` with the XERO_* settings: the scopes of
XERO_SCOPES, the client secret sent as HTTP Basic, a refresh token assumed to live 60 days
unused (Xero's answer gives no lifetime). Every refresh rotates the refresh token; the one it
replaces still works for 30 minutes, which covers a lost answer. `tenants(access_token)` reads
`GET {XERO_CONNECTIONS_URL}` (Bearer only, no tenant header), bounded, keeping organisations.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx

from storage.vocabulary import ErrorClass
from sync_engine.bounded_reads import read_capped
from sync_engine.credentials import CredentialsError
from sync_engine.errors import GatewayUnreachable
from sync_engine.oauth_client import OAuthApp, OAuthClient, SettingNames
from sync_engine.settings import Settings

REFRESH_LIFETIME_SECONDS = 60 * 86_400.0  # expires when unused for 60 days
XERO_NAMES = SettingNames(
    "XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REDIRECT_URI", "the Xero app (developer.xero.com)"
)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_CONNECTIONS_BYTES = 1024 * 1024
MAX_TENANTS = 1000
MAX_TENANT_NAME = 256


class ConnectionsUnreachable(GatewayUnreachable):
    """Xero's connections list could not be read (5xx, 429, timeout, unreadable): try later."""

    error_class = ErrorClass.TRANSIENT


class ConnectionsRefused(CredentialsError):
    """Xero refused the connections list to this access token (401, 403)."""


@dataclass(frozen=True)
class Tenant:
    """One organisation connected to the app: its tenant id, name and connection id."""

    tenant_id: str
    name: str
    connection_id: str | None


def xero_app(settings: Settings) -> OAuthApp:
    """The Xero app the XERO_* settings describe."""
    return OAuthApp(
        title="Xero",
        auth_url=settings.xero_auth_url,
        token_url=settings.xero_token_url,
        revoke_url=None,
        client_id=settings.xero_client_id,
        client_secret=settings.xero_client_secret,
        redirect_uri=settings.xero_redirect_uri,
        scope=" ".join(settings.xero_scopes.split()),
        names=XERO_NAMES,
        refresh_lifetime=REFRESH_LIFETIME_SECONDS,
    )


class XeroOAuth(OAuthClient):
    """The OAuth 2.0 client of one Xero app (XERO_CLIENT_ID, XERO_CLIENT_SECRET)."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(xero_app(settings), transport=transport)
        self._connections_url = settings.xero_connections_url

    def tenants(self, access_token: str) -> list[Tenant]:
        """The organisations this access token's user has connected to the app."""
        request = self._http.build_request(
            "GET", self._connections_url, headers={"Authorization": f"Bearer {access_token}"}
        )
        try:
            response = self._http.send(request, stream=True)
            try:
                body = read_capped(response, MAX_CONNECTIONS_BYTES)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise _unreachable(type(exc).__name__) from None
        status = response.status_code
        if status in (401, 403):
            raise ConnectionsRefused(
                f"Xero refused the connections list (HTTP {status}): reconnect with a new consent"
            )
        if status != 200:
            raise _unreachable(f"HTTP {status}")
        if body is None:
            raise _unreachable("an answer over 1 MB")
        return read_tenants(body)


def read_tenants(body: bytes) -> list[Tenant]:
    """The ORGANISATION entries of a connections list with a GUID tenant id (others skipped)."""
    try:
        listed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _unreachable("an unreadable answer") from None
    if not isinstance(listed, list):
        raise _unreachable("an answer that is not a list")
    found: dict[str, Tenant] = {}
    for entry in listed[:MAX_TENANTS]:
        tenant = _tenant(entry)
        if tenant is not None:
            found.setdefault(tenant.tenant_id.lower(), tenant)
    return list(found.values())


def _tenant(entry: object) -> Tenant | None:
    if not isinstance(entry, dict) or entry.get("tenantType") != "ORGANISATION":
        return None
    tenant_id, name, connection = entry.get("tenantId"), entry.get("tenantName"), entry.get("id")
    if not isinstance(tenant_id, str) or not GUID.match(tenant_id):
        return None
    shown = name[:MAX_TENANT_NAME] if isinstance(name, str) else ""
    ref = connection if isinstance(connection, str) and GUID.match(connection) else None
    return Tenant(tenant_id, shown, ref)


def _unreachable(why: str) -> ConnectionsUnreachable:
    return ConnectionsUnreachable(f"Xero's connections list could not be read ({why})")


__all__ = [
    "GUID",
    "REFRESH_LIFETIME_SECONDS",
    "ConnectionsRefused",
    "ConnectionsUnreachable",
    "Tenant",
    "XeroOAuth",
    "read_tenants",
    "xero_app",
]
