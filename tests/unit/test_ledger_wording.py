"""Texts that name the ledger say "QuickBooks" when it is QuickBooks, "gateway" otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.slack_standin.limits import problems
from bot.ledger_names import ledger_name, the_ledger
from bot.render import held_back_line, outage_line
from bot.slack.alert_message import alert_blocks, alert_text, outage_blocks, outage_text
from bot.slack.answers import status_text
from bot.slack.blocks import as_dicts, outage_words
from bot.slack.failed_list import failed_list
from bot.slack.home import home_view
from bot.slack.list_state import ListState
from bot.slack.retry_reply import retry_reply
from sync_engine import AlertKind, LedgerLink
from sync_engine.alerts import AlertDraft, OutageDraft
from sync_engine.results import FailedPage, LedgerView, Outage, RetryResult, Status

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
QUICKBOOKS = LedgerView("quickbooks", "9130", "Acme Ltd", LedgerLink.CONNECTED, False)
GATEWAY = LedgerView("gateway", None, None, LedgerLink.NOT_NEEDED, False)
OUTAGE = Outage(WHEN, "QuickBooks HTTP 503", WHEN + timedelta(minutes=5), 1)


def status(ledger: LedgerView | None) -> Status:
    return Status(
        by_state={"pending": 1, "failed": 3},
        by_error_class={"transient": 3},
        parked=0,
        last_success_at=WHEN,
        last_gateway_answer="503 upstream_unavailable",
        last_gateway_answer_at=WHEN,
        outage=OUTAGE,
        ledger=ledger,
    )


def draft(kind: str) -> OutageDraft:
    until = WHEN + timedelta(minutes=9) if kind == AlertKind.RECOVERED else None
    return OutageDraft(kind, "C-ALERTS", 1, None, WHEN, until, "HTTP 503", 0, (1,))


def test_the_display_name_is_the_gateway_unless_the_ledger_is_another():
    assert [ledger_name(v) for v in (None, GATEWAY, QUICKBOOKS)] == [
        "gateway",
        "gateway",
        "QuickBooks",
    ]
    assert the_ledger(None, accounting=True) == "the accounting gateway"
    assert the_ledger(QUICKBOOKS, accounting=True) == the_ledger(QUICKBOOKS) == "QuickBooks"


def test_the_home_tab_names_quickbooks_and_never_a_gateway():
    view = home_view(status(QUICKBOOKS), queue_total=3, list_link=None, nonce="n").to_dict()
    assert problems(view["blocks"], surface="view") == []
    shown = str(view["blocks"])
    assert ":red_circle: *QuickBooks down* since" in shown
    assert "*QuickBooks's last answer:*" in shown
    assert "sent to QuickBooks as one retry event" in shown  # the Retry All confirm
    assert "gateway" not in shown.lower().replace("home_gateway", "")  # a block id stays
    assert outage_words(None, QUICKBOOKS).startswith(":large_green_circle: QuickBooks reachable")


@pytest.mark.parametrize("ledger", [None, GATEWAY])
def test_the_gateways_home_tab_keeps_its_words(ledger: LedgerView | None):
    view = home_view(status(ledger), queue_total=3, list_link=None, nonce="n").to_dict()
    shown = str(view["blocks"])
    assert ":red_circle: *Gateway down* since" in shown and "*Gateway's last answer:*" in shown
    assert "sent to the accounting gateway as one retry event" in shown
    assert "QuickBooks" not in shown.replace("QuickBooks HTTP 503", "")


def test_the_status_answer_names_quickbooks():
    said = status_text(status(QUICKBOOKS))
    assert "QuickBooks's last answer:" in said and "*QuickBooks down* since" in said
    assert "gateway" not in said.lower()


def test_the_outage_and_recovery_alerts_name_quickbooks():
    down = as_dicts(outage_blocks(draft(AlertKind.OUTAGE), 3, "n", QUICKBOOKS))
    back = as_dicts(outage_blocks(draft(AlertKind.RECOVERED), 3, "n", QUICKBOOKS))
    assert problems(down) == [] and problems(back) == []
    assert down[0]["text"]["text"] == ":rotating_light: QuickBooks is down"
    assert "resume by themselves when QuickBooks answers again" in str(down)
    assert back[0]["text"]["text"] == ":white_check_mark: QuickBooks is back"
    assert "gateway" not in (str(down) + str(back)).lower()
    assert outage_text(draft(AlertKind.OUTAGE), QUICKBOOKS) == "QuickBooks is down: HTTP 503"
    assert outage_text(draft(AlertKind.RECOVERED), QUICKBOOKS).startswith("QuickBooks is back;")


def test_the_gateways_alerts_keep_their_words():
    down = str(as_dicts(outage_blocks(draft(AlertKind.OUTAGE), 3, "n", GATEWAY)))
    assert ":rotating_light: The accounting gateway is down" in down
    assert "resume by themselves when the gateway answers again" in down
    assert outage_text(draft(AlertKind.RECOVERED)) == (
        "The accounting gateway is back; automatic retries have resumed"
    )


def test_the_cli_status_lines_name_quickbooks():
    assert outage_line(OUTAGE, QUICKBOOKS).startswith(
        "QuickBooks: DOWN since 2026-11-23T09:00:00Z (QuickBooks HTTP 503)"
    )
    assert outage_line(None, QUICKBOOKS) == "QuickBooks: up (no outage)"
    assert held_back_line(2, QUICKBOOKS).startswith(
        "held back 2 record(s) until QuickBooks answers a probe: nothing was sent "
    )
    assert outage_line(None, GATEWAY) == outage_line(None) == "gateway: up (no outage)"
    assert held_back_line(2, GATEWAY) == held_back_line(2)


def test_xero_is_named_and_the_failure_alert_and_failed_list_name_the_ledger():
    xero = LedgerView("xero", "b1e1508f", "Acme Ltd", LedgerLink.CONNECTED, False)
    assert ledger_name(xero) == the_ledger(xero, accounting=True) == "Xero"
    alert = alert_blocks(AlertDraft(None, "C1", None, WHEN, 1, 0, (), (), 3), "n", xero)
    listed = failed_list(
        FailedPage((), 3, None), ListState(), page_size=10, queue_total=3, nonce="n", ledger=xero
    )
    for shown in (str(as_dicts(alert)), str(as_dicts(listed))):
        assert "sent to Xero as one retry event" in shown and "gateway" not in shown.lower()


@pytest.mark.parametrize(
    ("ledger", "named"),
    [
        (QUICKBOOKS, "QuickBooks"),
        (LedgerView("xero", "b1e1508f", "Acme Ltd", LedgerLink.CONNECTED, False), "Xero"),
    ],
)
def test_the_alert_fallback_and_the_retry_replys_outage_warning_name_the_ledger(ledger, named):
    draft = AlertDraft(None, "C1", None, WHEN, 1, 0, (), (), 3)
    assert alert_text(draft, ledger).endswith(f" to {named}")
    reply = retry_reply(
        RetryResult(7), requested_by="U1", kind="all", nonce="n", outage=OUTAGE, ledger=ledger
    )
    shown = str(as_dicts(reply))
    assert f"{named} down" in shown and "gateway" not in shown.lower()
    assert alert_text(draft).endswith(" to the accounting gateway")
    plain = str(
        as_dicts(
            retry_reply(RetryResult(7), requested_by="U1", kind="all", nonce="n", outage=OUTAGE)
        )
    )
    assert "Gateway down" in plain
