"""`syncbot ledger-sim xero`: the double's settings from command-line values, then serve."""

from __future__ import annotations

import json

from sync_engine.gateway_sim.service import serve_until_interrupted
from sync_engine.oauth_sim import OAuthConfig
from sync_engine.xero_sim.api import PREFIX
from sync_engine.xero_sim.config import XeroConfig
from sync_engine.xero_sim.faults import XeroFaultPlan
from sync_engine.xero_sim.simulator import XeroSimulator
from sync_engine.xero_sim.tenancy import CONNECTIONS, XERO_PATHS, xero_oauth


def serve_xero_sim(
    host: str,
    port: int,
    *,
    faults: object = (),
    latency_seconds: float = 0.0,
    access_lifetime: float = 1800.0,
    grace_seconds: float = 1800.0,
    daily_limit: int = 5_000,
    key_window_seconds: float = 360.0,
    client_id: str = "sim-client-id",
    client_secret: str = "sim-client-secret",
) -> None:
    """Serve the Xero double until interrupted; ValueError on a bad setting or fault list."""
    from sync_engine.oauth_sim import RotationPolicy

    plan = XeroFaultPlan.from_json(list(faults) if isinstance(faults, tuple) else faults)
    config = XeroConfig(
        latency_seconds=latency_seconds,
        daily_limit=daily_limit,
        key_window_seconds=key_window_seconds,
    )
    oauth = xero_oauth(
        client_id=client_id,
        client_secret=client_secret,
        access_lifetime=access_lifetime,
        rotation=RotationPolicy(grace_seconds=grace_seconds),
    )
    serve_forever(config, plan, host, port, oauth)


def serve_forever(
    config: XeroConfig,
    faults: XeroFaultPlan,
    host: str,
    port: int,
    oauth: OAuthConfig | None = None,
) -> None:
    """Serve until interrupted (`syncbot ledger-sim xero`); prints the settings to use."""
    sim = XeroSimulator(config, faults, oauth)

    def announce(url: str) -> list[str]:
        settings = {
            "XERO_API_BASE_URL": url + PREFIX.rstrip("/"),
            "XERO_CONNECTIONS_URL": url + CONNECTIONS,
            "XERO_AUTH_URL": url + XERO_PATHS.authorize,
            "XERO_TOKEN_URL": url + XERO_PATHS.token,
            "XERO_CLIENT_ID": sim.authority.config.client_id,
            "XERO_TENANT_ID": sim.tenant_id,
        }
        return [f"Xero double listening on {url}", json.dumps(settings)]

    serve_until_interrupted(sim, host, port, announce)
