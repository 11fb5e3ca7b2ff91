"""A double of QuickBooks Online (what it does: docs/architecture.md, "QuickBooks Online").

It serves Intuit's OAuth endpoints (`sync_engine.oauth_sim`) and the Accounting API routes the
adapter uses, over loopback HTTP, with the contract's Faults, limits, `requestid` switches and
fault plan; `POST /_sim/...` sets it up and inspects it from another process.
"""

from __future__ import annotations

from sync_engine.quickbooks_sim.company import Account, Bill, Company, Vendor
from sync_engine.quickbooks_sim.config import REQUESTID_MODES, QboConfig
from sync_engine.quickbooks_sim.faults import KINDS, PlannedFault, QboFaultPlan
from sync_engine.quickbooks_sim.launch import serve_quickbooks_sim
from sync_engine.quickbooks_sim.simulator import QuickBooksSimulator, serve_forever

__all__ = [
    "KINDS",
    "REQUESTID_MODES",
    "Account",
    "Bill",
    "Company",
    "PlannedFault",
    "QboConfig",
    "QboFaultPlan",
    "QuickBooksSimulator",
    "Vendor",
    "serve_forever",
    "serve_quickbooks_sim",
]
