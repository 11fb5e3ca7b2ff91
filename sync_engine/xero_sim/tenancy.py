"""Xero's side of a consent: its token rules, and the tenants connected to the app."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync_engine.oauth_sim import XERO_GRACE, OAuthConfig, OAuthPaths

XERO_PATHS = OAuthPaths(
    authorize="/identity/connect/authorize", token="/connect/token", revoke="/connect/revocation"
)
CONNECTIONS = "/connections"
DAY_SECONDS = 86_400.0


def xero_oauth(**changes: Any) -> OAuthConfig:
    """Xero's token rules: 30-minute access, 60 days unused, rotation with a 30-minute grace."""
    settings: dict[str, Any] = {
        "scope": "offline_access",
        "access_lifetime": 1800.0,
        "refresh_lifetime": 60 * DAY_SECONDS,
        "rotation": XERO_GRACE,
        "realm_id": None,
        "report_refresh_lifetime": False,
        "token_type": "Bearer",
        **changes,
    }
    return OAuthConfig(**settings)


@dataclass
class Connection:
    """A tenant connected to the app (one entry of `GET /connections`)."""

    tenant_id: str
    tenant_name: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    auth_event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        """The entry as Xero lists it."""
        return {
            "id": self.id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            "createdDateUtc": self.created,
            "updatedDateUtc": self.created,
        }
