"""`syncbot ledger-sim quickbooks`: the double's settings from command-line values, then serve."""

from __future__ import annotations

from sync_engine.oauth_sim import INTUIT_DAILY, INTUIT_EVERY_REFRESH, OAuthConfig
from sync_engine.quickbooks_sim.config import QboConfig
from sync_engine.quickbooks_sim.faults import QboFaultPlan
from sync_engine.quickbooks_sim.simulator import serve_forever


def serve_quickbooks_sim(
    host: str,
    port: int,
    *,
    faults: object = (),
    latency_seconds: float = 0.0,
    access_lifetime: float = 3600.0,
    rotate_daily: bool = False,
    requestid_mode: str = "replay",
    client_id: str = "sim-client-id",
    client_secret: str = "sim-client-secret",
    realm_id: str = "9130350000000001",
) -> None:
    """Serve the QuickBooks double until interrupted; ValueError on a bad setting or fault list."""
    plan = QboFaultPlan.from_json(list(faults) if isinstance(faults, tuple) else faults)
    config = QboConfig(latency_seconds=latency_seconds, requestid_mode=requestid_mode)
    oauth = OAuthConfig(
        client_id=client_id,
        client_secret=client_secret,
        access_lifetime=access_lifetime,
        rotation=INTUIT_DAILY if rotate_daily else INTUIT_EVERY_REFRESH,
        realm_id=realm_id,
    )
    serve_forever(config, plan, host, port, oauth)
