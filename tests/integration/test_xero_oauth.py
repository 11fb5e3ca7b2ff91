"""XeroOAuth against the Xero double's identity endpoints over real loopback HTTP (contract
section 1): rotation with its 30-minute grace, a lost answer, two processes refreshing at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from storage.db import Database
from sync_engine.credentials import (
    XERO,
    ReconnectRequired,
    RefreshRefused,
    TokenKeeper,
    Tokens,
    connect,
)
from sync_engine.oauth_client import MissingSetting, TokenEndpointUnreachable
from sync_engine.secret_box import SecretBox
from sync_engine.xero.oauth import REFRESH_LIFETIME_SECONDS, XeroOAuth
from sync_engine.xero_sim import XeroSimulator
from tests.conftest import open_database
from tests.integration.connect_support import SECRET_KEY, stored, xero_settings

GRACE = 1800.0


@pytest.fixture
def xero() -> Iterator[XeroSimulator]:
    """The Xero double (rotation on every refresh, the replaced token good for 30 minutes)."""
    with XeroSimulator() as sim:
        yield sim


@pytest.fixture
def oauth(xero: XeroSimulator) -> Iterator[XeroOAuth]:
    """The client on the double (no database needed)."""
    with XeroOAuth(xero_settings("sqlite://", xero)) as client:
        yield client


def works(sim: XeroSimulator, access_token: str) -> bool:
    """Whether the double takes `access_token` now."""
    return sim.authority.check_access(access_token).status == "valid"


def test_every_refresh_rotates_and_the_old_token_lasts_the_grace_only(xero, oauth) -> None:
    first = xero.grant().refresh_token
    second = oauth.refresh(first)
    third = oauth.refresh(second.refresh_token)
    assert len({first, second.refresh_token, third.refresh_token}) == 3
    assert works(xero, third.access_token)
    assert second.refresh_expires_in == REFRESH_LIFETIME_SECONDS  # Xero gives none: 60 days
    xero.advance(GRACE - 60)
    assert works(xero, oauth.refresh(first).access_token)  # within its grace
    xero.advance(61)
    with pytest.raises(RefreshRefused) as refused:
        oauth.refresh(first)
    assert refused.value.error == "invalid_grant" and first not in str(refused.value)


class DropAfterAnswer(httpx.HTTPTransport):
    """Sends the request for real, then loses the answer (the double has already rotated)."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        response.read()
        if self.dropped == 0:
            self.dropped += 1
            raise httpx.ReadError("connection reset", request=request)
        return response


def test_a_lost_answer_is_recovered_with_the_same_token_within_the_grace(xero) -> None:
    given = xero.grant().refresh_token
    losing = DropAfterAnswer()
    with XeroOAuth(xero_settings("sqlite://", xero), transport=losing) as oauth:
        with pytest.raises(TokenEndpointUnreachable) as lost:
            oauth.refresh(given)
        assert xero.authority.refreshes == 1  # the double booked the rotation
        assert given not in str(lost.value)
        again = oauth.refresh(given)  # the same token, presented again
    assert works(xero, again.access_token)
    with XeroOAuth(xero_settings("sqlite://", xero)) as oauth:
        assert works(xero, oauth.refresh(again.refresh_token).access_token)


def test_refusals_and_outages_of_the_token_endpoint(xero, oauth) -> None:
    xero.oauth.fail_next(503)
    with pytest.raises(TokenEndpointUnreachable, match="Xero token endpoint"):
        oauth.refresh(xero.grant().refresh_token)
    xero.oauth.fail_next(429)
    with pytest.raises(TokenEndpointUnreachable):
        oauth.refresh(xero.grant().refresh_token)
    wrong = xero_settings("sqlite://", xero, xero_client_secret="not-it")
    with XeroOAuth(wrong) as other, pytest.raises(RefreshRefused) as refused:
        other.refresh(xero.grant().refresh_token)
    assert refused.value.error == "invalid_client" and "not-it" not in repr(other)
    unset = xero_settings("sqlite://", xero, xero_client_secret=None, xero_redirect_uri="")
    with XeroOAuth(unset) as other:
        with pytest.raises(MissingSetting, match="XERO_CLIENT_SECRET"):
            other.refresh("RT1-x")
        with pytest.raises(MissingSetting, match="XERO_REDIRECT_URI"):
            other.authorization_url("s")


def test_the_authorization_url_asks_xero_scopes(xero, oauth) -> None:
    query = parse_qs(urlsplit(oauth.authorization_url("st-1")).query)
    assert query["scope"] == [
        "offline_access accounting.invoices accounting.contacts.read accounting.settings.read"
    ]
    assert query["response_type"] == ["code"] and query["state"] == ["st-1"]
    assert query["client_id"] == [xero.authority.config.client_id]


def test_the_connections_list_keeps_organisations(xero, oauth) -> None:
    other = xero.add_organisation("Acme <Trust>")
    tokens = oauth.refresh(xero.grant().refresh_token)
    listed = {t.tenant_id: t.name for t in oauth.tenants(tokens.access_token)}
    assert listed == {xero.tenant_id: "Demo Company (US)", other.tenant_id: "Acme <Trust>"}


def store(database: Database, sim: XeroSimulator, **expiring: float) -> str:
    """Store a fresh grant for the double's tenant, its access token already due (or not)."""
    given = sim.grant()
    tokens = Tokens(given.access_token, given.refresh_token, expiring.get("expires_in", 0.0))
    connect(database, SecretBox(SECRET_KEY), XERO, sim.tenant_id, tokens)
    return given.refresh_token


def keeper(database: Database, oauth: XeroOAuth, sim: XeroSimulator) -> TokenKeeper:
    """What the Xero adapter holds: a TokenKeeper on `XeroOAuth(settings).refresh`."""
    return TokenKeeper(database, SecretBox(SECRET_KEY), XERO, sim.tenant_id, oauth.refresh)


def test_two_processes_refreshing_at_once_refresh_once(database_url, database, xero) -> None:
    store(database, xero)
    xero.oauth.delay_seconds = 0.5  # the first refresh holds the lock while others arrive
    settings = xero_settings(database_url, xero)
    got: list[str] = []
    with (
        open_database(database_url) as other,
        XeroOAuth(settings) as first,
        XeroOAuth(settings) as second,
    ):
        keepers = [keeper(database, first, xero), keeper(other, second, xero)]
        threads = [
            threading.Thread(target=lambda k=k: got.append(k.access_token())) for k in keepers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    xero.oauth.delay_seconds = 0.0
    assert xero.requests_by_route().get("POST token") == 1 and xero.authority.refreshes == 1
    assert len(got) == 2 and got[0] == got[1] and works(xero, got[0])
    [row] = stored(database)
    assert row.state == "connected"
    with XeroOAuth(settings) as oauth:
        assert works(
            xero,
            oauth.refresh(SecretBox(SECRET_KEY).open(row.refresh_token_encrypted)).access_token,
        )


def test_a_refused_refresh_marks_the_connection_reconnect_required(database, xero) -> None:
    given = store(database, xero)
    xero.authority.revoke(given)  # the user disconnected the app in Xero
    with (
        XeroOAuth(xero_settings("sqlite://", xero)) as oauth,
        pytest.raises(ReconnectRequired, match="syncbot connect xero"),
    ):
        keeper(database, oauth, xero).access_token()
    [row] = stored(database)
    assert row.state == "reconnect_required" and "invalid_grant" in (row.state_reason or "")


def test_a_keeper_whose_refresh_answer_was_lost_recovers_on_its_next_call(database, xero) -> None:
    given = store(database, xero)
    with XeroOAuth(xero_settings("sqlite://", xero), transport=DropAfterAnswer()) as oauth:
        kept = keeper(database, oauth, xero)
        with pytest.raises(TokenEndpointUnreachable):
            kept.access_token()  # Xero rotated; the answer never came back; nothing stored
        [row] = stored(database)
        assert SecretBox(SECRET_KEY).open(row.refresh_token_encrypted) == given
        token = kept.access_token()  # the same refresh token again, within its grace
    assert works(xero, token) and xero.authority.refreshes == 2
    [row] = stored(database)
    assert (
        row.state == "connected" and SecretBox(SECRET_KEY).open(row.access_token_encrypted) == token
    )
