"""The bot's messages and Home tab with sample data, as Block Kit Builder links.

Made by the same pure builders the bot sends with, so a link shows exactly what Slack would
get. The links live in `docs/slack-messages.md` (`SLACK_MESSAGES_DOC`);
`python -m bot.slack.examples` prints them again, and a test keeps that page in step.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from slack_sdk.models.blocks import Block

from bot.slack.alert_message import alert_blocks
from bot.slack.blocks import as_dicts
from bot.slack.failed_list import failed_list
from bot.slack.home import home_view
from bot.slack.list_state import ListState
from bot.slack.retry_reply import retry_reply
from sync_engine import ErrorClass, Kind, RetryKind, State
from sync_engine.alerts import AlertDraft, AlertRecord
from sync_engine.results import (
    Failed,
    FailedPage,
    FailedRecord,
    RetryResult,
    Skipped,
    Status,
    Succeeded,
)
from sync_engine.sender import IN_FLIGHT

BUILDER = "https://app.slack.com/block-kit-builder/#"
SLACK_MESSAGES_DOC = "docs/slack-messages.md"  # relative to the repository's root
NONCE = "example"
AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 9, 32, tzinfo=UTC)
SAMPLES = (
    ("RMB-2026-0142", Kind.REIMBURSEMENT, "VOL-88", "Jane Doe", "42.50", "USD"),
    ("HON-2026-0031", Kind.HONORARIUM, "VOL-12", "Amal Haddad", "150.00", "USD"),
    ("RMB-2026-0150", Kind.REIMBURSEMENT, "VOL-40", "Kenji Sato", "3200", "JPY"),
)
ERRORS = (
    ("503 upstream_unavailable: The ledger is offline", ErrorClass.TRANSIENT),
    (
        "422 validation_failed: Payee VOL-12 does not exist in the ledger",
        ErrorClass.NEEDS_ATTENTION,
    ),
    ("503 upstream_unavailable: The ledger is offline", ErrorClass.TRANSIENT),
)


def builder_url(blocks: list[Block], surface: str = "message") -> str:
    """A Block Kit Builder link that opens with `blocks` on `surface` (message or home)."""
    body: dict[str, Any] = {"blocks": as_dicts(blocks)}
    if surface == "home":
        body = {"type": "home"} | body
    return BUILDER + quote(json.dumps(body, separators=(",", ":")), safe="")


def alert_example() -> list[Block]:
    """A failure alert: three records failed in one burst."""
    shown = tuple(
        AlertRecord(s, k, pid, name, Decimal(amount), cur, err, cls, 0, LATER, False)
        for (s, k, pid, name, amount, cur), (err, cls) in zip(SAMPLES, ERRORS, strict=True)
    )
    draft = AlertDraft(None, "C0ALERTS", None, AT, 3, 0, shown, (), 3)
    return alert_blocks(draft, NONCE)


def list_example() -> list[Block]:
    """The failed-records list, first page."""
    items = tuple(
        FailedRecord(
            s, k, pid, name, Decimal(a), cur, cls, err, (err,), 1, LATER, False, State.FAILED
        )
        for (s, k, pid, name, a, cur), (err, cls) in zip(SAMPLES, ERRORS, strict=True)
    )
    page = FailedPage(items, total=3, next_cursor=None)
    return failed_list(page, ListState(), page_size=10, queue_total=3, nonce=NONCE)


def result_example() -> list[Block]:
    """A Retry Selected's reply in the list's thread."""
    result = RetryResult(
        41,
        succeeded=(Succeeded("RMB-2026-0142", "ACC-000123"),),
        failed=(Failed("HON-2026-0031", ERRORS[1][0], ErrorClass.NEEDS_ATTENTION, 2),),
        skipped=(Skipped("RMB-2026-0150", IN_FLIGHT),),
    )
    return retry_reply(result, requested_by="U012ABCDEF", kind=RetryKind.SELECTED, nonce=NONCE)


def home_example() -> list[Block]:
    """The integration status dashboard in the Home tab."""
    status = Status(
        by_state={
            State.PENDING: 4,
            State.SYNCING: 0,
            State.SUCCEEDED: 1288,
            State.FAILED: 3,
            State.RESOLVED: 2,
        },
        by_error_class={ErrorClass.TRANSIENT: 2, ErrorClass.NEEDS_ATTENTION: 1},
        parked=0,
        last_success_at=AT,
        last_gateway_answer="503 upstream_unavailable: The ledger is offline",
        last_gateway_answer_at=LATER,
    )
    return list(home_view(status, queue_total=3, list_link=None, nonce=NONCE).blocks)


def link_lines() -> list[str]:
    """The list of links in docs/slack-messages.md, one per message."""
    return [
        f"- [Failure alert]({builder_url(alert_example())})",
        f"- [Failed-records list]({builder_url(list_example())})",
        f"- [Results in thread]({builder_url(result_example())})",
        f"- [App Home dashboard]({builder_url(home_example(), 'home')})",
    ]


if __name__ == "__main__":
    print("\n".join(link_lines()))
