"""The words syncbot stores and sends, defined once.

Each is a `StrEnum`: a member *is* its string, so the database, the JSON answers, the gateway's
wire and Slack's payloads carry exactly the values they always did (`State.FAILED == "failed"`).
The layers above import them from here; nothing defines these strings again.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a record's sync stands (`sync_log.state`); `parked` is a flag, not a state."""

    PENDING = "pending"
    SYNCING = "syncing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """How one attempt ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


class Trigger(StrEnum):
    """What started an attempt: the first sync, a person, or the backoff timer."""

    INITIAL = "initial"
    MANUAL = "manual"
    AUTO = "auto"


class ErrorClass(StrEnum):
    """What a failure asks for: time (`transient`), a fix in the data or ledger, or credentials."""

    TRANSIENT = "transient"
    NEEDS_ATTENTION = "needs_attention"
    AUTH = "auth"


class Kind(StrEnum):
    """What a record pays: an expense reimbursement or an honorarium."""

    REIMBURSEMENT = "reimbursement"
    HONORARIUM = "honorarium"


class RetryKind(StrEnum):
    """What one retry event took: the records a person chose, the whole queue, or those due."""

    SELECTED = "selected"
    ALL = "all"
    AUTO = "auto"


class Via(StrEnum):
    """Which door a retry event came through."""

    SLACK = "slack"
    CLI = "cli"
    SCHEDULER = "scheduler"


class ItemResult(StrEnum):
    """How one record fared in a retry event (`retry_event_items.result`)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class ChangeAction(StrEnum):
    """What a person did to a record by hand (`record_changes.action`)."""

    CORRECTED = "corrected"
    RESOLVED = "resolved"
    FOUND_BOOKED = "found_booked"


class AlertKind(StrEnum):
    """What a row of the alert outbox tells: a record failed or parked, the gateway's health, or
    a pause the ledger imposed (its daily budget spent)."""

    FIRST_FAILURE = "first_failure"
    PARKED = "parked"
    OUTAGE = "outage"
    RECOVERED = "recovered"
    LEDGER_PAUSED = "ledger_paused"


class MessageKind(StrEnum):
    """What a posted alert message is about: records, an outage of the gateway, or a pause the
    ledger imposed."""

    FAILURES = "failures"
    OUTAGE = "outage"
    LEDGER_PAUSED = "ledger_paused"


class ConnectionState(StrEnum):
    """Whether a ledger connection's tokens work, or a person must connect it again."""

    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"


class LedgerLink(StrEnum):
    """How syncbot stands with its ledger's company, as the status shows it."""

    NOT_NEEDED = "not_needed"  # the gateway: nothing to connect
    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"
