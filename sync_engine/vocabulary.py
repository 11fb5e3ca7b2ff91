"""The words syncbot stores and sends, as the engine's API offers them to the front doors.

Defined once, in `storage/vocabulary.py`; the bot imports nothing from storage, so it takes
them from here (through `sync_engine`'s declared API).
"""

from __future__ import annotations

from storage.vocabulary import (
    AlertKind,
    ChangeAction,
    ConnectionState,
    ErrorClass,
    ItemResult,
    Kind,
    LedgerLink,
    MessageKind,
    Outcome,
    RetryKind,
    State,
    Trigger,
    Via,
)

__all__ = [
    "AlertKind",
    "ChangeAction",
    "ConnectionState",
    "ErrorClass",
    "ItemResult",
    "Kind",
    "LedgerLink",
    "MessageKind",
    "Outcome",
    "RetryKind",
    "State",
    "Trigger",
    "Via",
]
