"""The sync engine: posts approved records to the accounting gateway and keeps the failed queue.

Its API is the list in `__all__`: the front doors (`bot/`) import nothing else from it
(tests/unit/test_engine_api.py checks). The names load when first used, so that importing
`sync_engine.errors` or a query command does not load the sending machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.seen_requests import SeenRequests
    from sync_engine.alerts import AlertDraft, AlertRecord, Alerts, OutageDraft, PauseDraft
    from sync_engine.build import build_engine
    from sync_engine.connecting import Connected, ConnectFlow, connect_with_refresh_token
    from sync_engine.contract import Posting, format_time
    from sync_engine.database import Reader, reader, upgrade_database
    from sync_engine.engine import SyncEngine
    from sync_engine.errors import (
        BadInput,
        GatewayUnreachable,
        ImportRejected,
        LedgerPaused,
        SyncEngineError,
        UnknownRecord,
    )
    from sync_engine.ledger import LedgerPause
    from sync_engine.quickbooks_sim import PlannedFault, QuickBooksSimulator, serve_quickbooks_sim
    from sync_engine.records import MAX_SOURCE_ID, nameable
    from sync_engine.results import (
        AttemptView,
        ChangeView,
        Failed,
        FailedPage,
        FailedRecord,
        History,
        ImportResult,
        LedgerView,
        Outage,
        ResolveResult,
        RetryEventView,
        RetryResult,
        Skipped,
        Status,
        Succeeded,
        SyncResult,
    )
    from sync_engine.sender import IN_FLIGHT
    from sync_engine.settings import Settings
    from sync_engine.vocabulary import (
        AlertKind,
        ErrorClass,
        Kind,
        LedgerLink,
        RetryKind,
        State,
        Via,
    )
    from sync_engine.xero_sim import XeroFault, XeroSimulator, serve_xero_sim

# Each public name and the module it lives in.
_HOMES = {
    "SyncEngine": "engine",
    "build_engine": "build",
    "Settings": "settings",
    "upgrade_database": "database",
    "reader": "database",
    "Reader": "database",
    "SeenRequests": "engine",  # storage's replay store, which `SyncEngine.seen_requests` makes
    "Posting": "contract",
    "format_time": "contract",
    "MAX_SOURCE_ID": "records",
    "nameable": "records",
    "IN_FLIGHT": "sender",
    "Alerts": "alerts",
    "AlertDraft": "alerts",
    "AlertRecord": "alerts",
    "OutageDraft": "alerts",
    "PauseDraft": "alerts",
    "LedgerPause": "ledger",  # a pause the ledger imposes (its daily budget spent)
    "serve_quickbooks_sim": "quickbooks_sim",  # the QuickBooks double, `syncbot ledger-sim`
    "serve_xero_sim": "xero_sim",  # the Xero double, `syncbot ledger-sim xero`
    # The QuickBooks double itself and its faults, for `syncbot demo --ledger quickbooks`
    "QuickBooksSimulator": "quickbooks_sim",
    "PlannedFault": "quickbooks_sim",
    # The Xero double and its faults, for `syncbot demo --ledger xero`
    "XeroSimulator": "xero_sim",
    "XeroFault": "xero_sim",
    # `syncbot connect`: the OAuth ledgers' connection, by code flow or refresh token
    "ConnectFlow": "connecting",
    "Connected": "connecting",
    "connect_with_refresh_token": "connecting",
    **dict.fromkeys(
        [
            "SyncEngineError",
            "BadInput",
            "UnknownRecord",
            "ImportRejected",
            "GatewayUnreachable",
            "LedgerPaused",
        ],
        "errors",
    ),
    **dict.fromkeys(
        [
            "Outage",
            "Succeeded",
            "Failed",
            "Skipped",
            "RetryResult",
            "SyncResult",
            "FailedRecord",
            "FailedPage",
            "AttemptView",
            "RetryEventView",
            "ChangeView",
            "History",
            "LedgerView",
            "Status",
            "ImportResult",
            "ResolveResult",
        ],
        "results",
    ),
    # The words syncbot stores and sends, defined once in storage (which the bot never imports).
    **dict.fromkeys(
        ["AlertKind", "ErrorClass", "Kind", "LedgerLink", "RetryKind", "State", "Via"], "vocabulary"
    ),
}

__all__ = [
    "IN_FLIGHT",
    "MAX_SOURCE_ID",
    "AlertDraft",
    "AlertKind",
    "AlertRecord",
    "Alerts",
    "AttemptView",
    "BadInput",
    "ChangeView",
    "ConnectFlow",
    "Connected",
    "ErrorClass",
    "Failed",
    "FailedPage",
    "FailedRecord",
    "GatewayUnreachable",
    "History",
    "ImportRejected",
    "ImportResult",
    "Kind",
    "LedgerLink",
    "LedgerPause",
    "LedgerPaused",
    "LedgerView",
    "Outage",
    "OutageDraft",
    "PauseDraft",
    "PlannedFault",
    "Posting",
    "QuickBooksSimulator",
    "Reader",
    "ResolveResult",
    "RetryEventView",
    "RetryKind",
    "RetryResult",
    "SeenRequests",
    "Settings",
    "Skipped",
    "State",
    "Status",
    "Succeeded",
    "SyncEngine",
    "SyncEngineError",
    "SyncResult",
    "UnknownRecord",
    "Via",
    "XeroFault",
    "XeroSimulator",
    "build_engine",
    "connect_with_refresh_token",
    "format_time",
    "nameable",
    "reader",
    "serve_quickbooks_sim",
    "serve_xero_sim",
    "upgrade_database",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'sync_engine' has no attribute {name!r}")
    return getattr(import_module(f"sync_engine.{home}"), name)
