"""The engine's own errors; the gateway client turns httpx errors into outcomes at its boundary.

SyncEngineError                 anything the engine refuses, with a message for a person
+-- BadInput                    the request itself is wrong (exit code 2)
|   +-- UnknownRecord           no record has that source_id
|   +-- ImportRejected          a file with invalid rows; nothing of it was written
+-- GatewayUnreachable          the gateway could not be asked (a lookup that must succeed)
+-- LedgerPaused                the ledger imposed a pause: a manual retry cannot go now (exit 1)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class SyncEngineError(Exception):
    """An error the engine reports to a person as it is."""


class BadInput(SyncEngineError):
    """The request itself is wrong; nothing was changed."""


class UnknownRecord(BadInput):
    """No record has the given source_id(s)."""

    def __init__(self, source_ids: list[str]):
        names = ", ".join(source_ids)
        super().__init__(f"unknown source_id: {names}")
        self.source_ids = source_ids


class ImportRejected(BadInput):
    """A file with invalid rows: every problem is listed and nothing of the file was written."""

    def __init__(self, problems: list[Any]):
        super().__init__(f"{len(problems)} problem(s) in the file; nothing was imported")
        self.problems = problems


class GatewayUnreachable(SyncEngineError):
    """The gateway could not be asked something the engine must know first."""


class LedgerPaused(SyncEngineError):
    """The ledger imposed a pause (its daily budget spent): nothing is sent before `until`.

    Refuses a manual retry before anything is written; the message is the same in every door.
    """

    def __init__(self, reason: str, until: datetime):
        super().__init__(f"nothing was retried: {reason}")
        self.reason, self.until = reason, until
