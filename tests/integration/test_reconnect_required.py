"""Reconnect required (issue 12, point 3), end to end through the QuickBooks double: the company
disconnects the app; the next refresh answers invalid_grant; the connection is marked, ONE alert
names the command, automatic sends pause and the records are classed auth; `connect` ends it,
the parked records return and are booked."""

from __future__ import annotations

import random

from bot.slack.alert_message import outage_blocks, outage_text
from storage.vocabulary import AlertKind, ErrorClass
from sync_engine.build import build_engine
from sync_engine.connecting import connect_with_refresh_token
from sync_engine.credentials import QUICKBOOKS, connection_statuses
from tests.integration.qbo_harness import Qbo, qbo, record
from tests.integration.record_rows import outbox_kinds, states

__all__ = ["qbo"]
COMMAND = "`syncbot connect quickbooks`"
SOURCES = ["RMB-2026-0001", "RMB-2026-0002", "RMB-2026-0003"]


def test_invalid_grant_pauses_alerts_once_and_connect_brings_the_records_back(qbo: Qbo) -> None:
    settings = qbo.settings()
    engine = build_engine(settings, database=qbo.database, clock=qbo.clock, rng=random.Random(3))
    try:
        engine.submit([record(s) for s in SOURCES])
        qbo.sim.authority.revoke_all()  # the company disconnected syncbot in QuickBooks

        first = engine.sync(requested_by="scheduler", via="scheduler")
        outage = engine.outage()
        assert outage is not None and COMMAND in outage.reason[:200]  # what Slack shows
        assert first.initial.failed and not first.initial.succeeded
        assert {s: states(qbo)[s] for s in SOURCES} == {
            s: ("failed", ErrorClass.AUTH, True) for s in SOURCES
        }
        [status] = connection_statuses(qbo.database)
        assert status.state == "reconnect_required"
        assert outbox_kinds(qbo) == [AlertKind.OUTAGE]  # one alert, no per-record ones
        draft = engine.alert_outbox().next_outage_draft("C-ALERTS")
        assert draft is not None and COMMAND in outage_text(draft)
        shown = str([block.to_dict() for block in outage_blocks(draft, 3, "n")])
        assert "syncbot connect quickbooks" in shown

        # Paused: later ticks send nothing, and the dead token is never presented again.
        refreshes = qbo.sim.authority.refreshes
        routes = qbo.sim.requests_by_route()
        qbo.clock.advance(minutes=30)  # past the next probe too
        engine.sync(requested_by="scheduler", via="scheduler")
        assert engine.outage() is not None
        assert qbo.sim.requests_by_route() == routes and qbo.sim.authority.refreshes == refreshes
        assert outbox_kinds(qbo) == [AlertKind.OUTAGE]

        connected = connect_with_refresh_token(
            settings, QUICKBOOKS, qbo.sim.grant().refresh_token, qbo.sim.realm_id, clock=qbo.clock
        )
        assert connected.outage_ended and engine.outage() is None
        assert outbox_kinds(qbo) == [AlertKind.OUTAGE, AlertKind.RECOVERED]
        assert all(not parked for _, _, parked in states(qbo).values())

        qbo.clock.advance(minutes=2)  # past backoff step 1 (60 s at most)
        engine.sync(requested_by="scheduler", via="scheduler")
        assert {s: states(qbo)[s][0] for s in SOURCES} == dict.fromkeys(SOURCES, "succeeded")
        assert {s: len(qbo.bills_of(s)) for s in SOURCES} == dict.fromkeys(SOURCES, 1)
    finally:
        engine.close()
