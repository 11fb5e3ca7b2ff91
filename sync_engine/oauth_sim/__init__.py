"""An OAuth 2.0 authorization server double (authorize, token, revoke), served over loopback.

Independent of any ledger: the QuickBooks double mounts it beside its API and checks bearer
tokens with `TokenAuthority.check_access`; the rotation policy is a parameter, so the Xero
double (rotation with a 30-minute grace) reuses it with `RotationPolicy(grace_seconds=1800)`.
"""

from __future__ import annotations

from collections.abc import Callable

from sync_engine.gateway_sim.messages import Answer, Request, json_answer
from sync_engine.oauth_sim import admin
from sync_engine.oauth_sim.authority import (
    AccessCheck,
    OAuthConfig,
    OAuthError,
    RotationPolicy,
    TokenAuthority,
    TokenSet,
)
from sync_engine.oauth_sim.endpoints import OAuthEndpoints, OAuthPaths
from sync_engine.sim_service import LoopbackService

# Intuit's safe reading: each refresh retires the previous token at once; and the daily variant.
INTUIT_EVERY_REFRESH = RotationPolicy()
INTUIT_DAILY = RotationPolicy(rotate_every_seconds=86_400)
XERO_GRACE = RotationPolicy(grace_seconds=1_800)

__all__ = [
    "INTUIT_DAILY",
    "INTUIT_EVERY_REFRESH",
    "XERO_GRACE",
    "AccessCheck",
    "OAuthConfig",
    "OAuthEndpoints",
    "OAuthError",
    "OAuthPaths",
    "OAuthSimulator",
    "RotationPolicy",
    "TokenAuthority",
    "TokenSet",
]


class OAuthSimulator(LoopbackService):
    """The authorization server alone on its own port; `with` starts and stops it."""

    name = "oauth-sim"

    def __init__(
        self,
        config: OAuthConfig | None = None,
        paths: OAuthPaths | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__()
        config = config if config is not None else OAuthConfig()
        self.authority = TokenAuthority(config) if clock is None else TokenAuthority(config, clock)
        self.endpoints = OAuthEndpoints(self.authority, paths)

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request: the OAuth endpoints, then the admin ones, else 404."""
        found = self.endpoints.answer(request)
        if found is None:
            found = admin.answer(self.endpoints, request)
        if found is None:
            found = json_answer(404, {"error": "not_found", "error_description": request.path})
        return found
