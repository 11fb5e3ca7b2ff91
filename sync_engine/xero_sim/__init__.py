"""A double of Xero's Accounting API (contract: /work/shared/contracts/xero.md, section 10).

It serves Xero's identity endpoints (`sync_engine.oauth_sim` with a 30-minute grace), the
connections list and the `/api.xro/2.0/` routes the adapter uses over loopback HTTP, with the
Idempotency-Key store, limits and fault plan; `/_sim/...` sets it up and inspects it.
"""

from __future__ import annotations

from sync_engine.xero_sim.config import XeroConfig
from sync_engine.xero_sim.faults import KINDS, XeroFault, XeroFaultPlan
from sync_engine.xero_sim.launch import serve_forever, serve_xero_sim
from sync_engine.xero_sim.org import Account, Contact, Invoice, Organisation
from sync_engine.xero_sim.simulator import XeroSimulator
from sync_engine.xero_sim.tenancy import xero_oauth

__all__ = [
    "KINDS",
    "Account",
    "Contact",
    "Invoice",
    "Organisation",
    "XeroConfig",
    "XeroFault",
    "XeroFaultPlan",
    "XeroSimulator",
    "serve_forever",
    "serve_xero_sim",
    "xero_oauth",
]
