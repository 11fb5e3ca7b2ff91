"""A simulator of the accounting gateway contract, served over loopback HTTP.

Tests, the demo and benchmarks run the engine against it; faults injected through `FaultPlan`
(or `POST /_sim/faults` from another process) make the ledger fail the ways real ones do.
"""

from __future__ import annotations

from sync_engine.gateway_sim.config import SimConfig
from sync_engine.gateway_sim.faults import ITEM_KINDS, KINDS, REQUEST_KINDS, Fault, FaultPlan
from sync_engine.gateway_sim.journal import ReceivedRequest
from sync_engine.gateway_sim.ledger import Booking
from sync_engine.gateway_sim.simulator import GatewaySimulator, serve_forever

__all__ = [
    "ITEM_KINDS",
    "KINDS",
    "REQUEST_KINDS",
    "Booking",
    "Fault",
    "FaultPlan",
    "GatewaySimulator",
    "ReceivedRequest",
    "SimConfig",
    "serve_forever",
]
