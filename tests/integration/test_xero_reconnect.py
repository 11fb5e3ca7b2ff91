"""Xero's tokens through the engine and the adapter against the Xero double over real HTTP: an
access token expiring mid-run is refreshed and the run goes on; a restart uses the stored token;
a revoked grant (invalid_grant) marks the connection reconnect required, writes ONE alert naming
`syncbot connect xero`, pauses automatic sends as an auth outage and classes the records auth;
connecting again ends it, and the parked records return and are booked once."""

from __future__ import annotations

from bot.slack.alert_message import outage_blocks, outage_text
from storage.vocabulary import AlertKind, ErrorClass
from sync_engine.connecting import connect_with_refresh_token
from sync_engine.contract import Posting
from sync_engine.credentials import XERO, connection_statuses
from sync_engine.xero import messages
from tests.conftest import posting
from tests.integration.ledger_rigs import XeroRig, xero, xero_rig
from tests.integration.record_rows import outbox_kinds, states
from tests.integration.xero_engine_support import AfterWrites, engine_over

__all__ = ["xero", "xero_rig"]  # fixtures

COMMAND = "`syncbot connect xero`"
SOURCES = ["RMB-2026-0002", "RMB-2026-0004", "RMB-2026-0006"]
ACCESS_LIFETIME = 1800.0  # the double's, as Xero's


def records(*numbers: int) -> list[Posting]:
    """Reimbursements `numbers`, each to its own payee VOL-n (contacts the rig added)."""
    return [posting(n, payee_id=f"VOL-{n}") for n in numbers]


def test_an_access_token_expiring_mid_run_is_refreshed_and_the_run_goes_on(
    xero_rig: XeroRig,
) -> None:
    sim = xero_rig.sim
    # One write per record; after the second, the double's clock passes the token's lifetime.
    expire = AfterWrites(2, lambda: sim.advance(ACCESS_LIFETIME + 60))
    numbers = range(1, 7)
    with engine_over(xero_rig, expire, xero_batch_size=1, xero_concurrency=1) as engine:
        engine.submit(records(*numbers))
        result = engine.sync(requested_by="scheduler", via="scheduler")
    assert len(result.initial.succeeded) == 6 and not result.initial.failed
    stats = sim.stats()
    assert stats["refreshes"] == 1 and stats["by_status"].get("401") == 1
    assert xero_rig.booked() == {f"RMB-2026-{n:04d}": 1 for n in numbers}
    [status] = connection_statuses(xero_rig.database)
    assert (status.state, status.generation) == ("connected", 2)

    # A restart: a new engine and adapter on the same database use the stored token.
    restarted = xero_rig.engine()
    restarted.submit(records(7))
    restarted.sync(requested_by="scheduler", via="scheduler")
    assert states(xero_rig)["RMB-2026-0007"][0] == "succeeded"
    assert sim.stats()["refreshes"] == 1 and sim.stats()["by_status"].get("401") == 1
    assert sim.stats()["duplicate_numbers"] == {}


def test_a_revoked_grant_pauses_with_one_alert_and_connecting_books_the_records(
    xero_rig: XeroRig,
) -> None:
    sim = xero_rig.sim
    engine = xero_rig.engine()
    engine.submit(records(2, 4, 6))
    sim.authority.revoke_all()  # the organisation disconnected syncbot in Xero

    first = engine.sync(requested_by="scheduler", via="scheduler")
    assert first.initial.failed and not first.initial.succeeded
    outage = engine.outage()
    assert outage is not None and COMMAND in outage.reason[:200]  # what Slack shows
    assert {s: states(xero_rig)[s] for s in SOURCES} == {
        s: ("failed", ErrorClass.AUTH, True) for s in SOURCES
    }
    last = engine.history(SOURCES[0]).attempts[-1]
    assert (last.error or "").startswith(messages.auth_expired())
    assert COMMAND in (last.error or "") and "invalid_grant" in (last.error or "")
    [status] = connection_statuses(xero_rig.database)
    assert (status.ledger, status.state) == (XERO, "reconnect_required")
    assert outbox_kinds(xero_rig) == [AlertKind.OUTAGE]  # one alert, no per-record ones
    draft = engine.alert_outbox().next_outage_draft("C-ALERTS")
    assert draft is not None and COMMAND in outage_text(draft)
    shown = str([block.to_dict() for block in outage_blocks(draft, 3, "n")])
    assert "syncbot connect xero" in shown and "syncbot connect quickbooks" not in shown
    assert sim.bills() == [] and sim.stats()["contacts_created"] == 0

    # Paused: later ticks send nothing, and the dead token is never presented again.
    refreshes, routes = sim.authority.refreshes, sim.requests_by_route()
    xero_rig.clock.advance(minutes=30)  # past the next probe too
    engine.sync(requested_by="scheduler", via="scheduler")
    assert engine.outage() is not None
    assert sim.requests_by_route() == routes and sim.authority.refreshes == refreshes
    assert outbox_kinds(xero_rig) == [AlertKind.OUTAGE]

    connected = connect_with_refresh_token(
        xero_rig.xero.settings(),
        XERO,
        sim.grant().refresh_token,
        xero_rig.xero.tenant_id,
        clock=xero_rig.clock,
    )
    assert connected.outage_ended and engine.outage() is None
    assert outbox_kinds(xero_rig) == [AlertKind.OUTAGE, AlertKind.RECOVERED]
    assert all(not parked for _, _, parked in states(xero_rig).values())
    [status] = connection_statuses(xero_rig.database)
    assert status.state == "connected"

    xero_rig.clock.advance(minutes=2)  # past backoff step 1 (60 s at most)
    engine.sync(requested_by="scheduler", via="scheduler")
    assert {s: states(xero_rig)[s][0] for s in SOURCES} == dict.fromkeys(SOURCES, "succeeded")
    assert xero_rig.booked() == dict.fromkeys(SOURCES, 1)
    assert sim.stats()["duplicate_numbers"] == {} and sim.stats()["contacts_created"] == 0
