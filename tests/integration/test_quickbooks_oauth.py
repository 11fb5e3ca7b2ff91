"""QuickBooksOAuth against the OAuth double over real loopback HTTP (contract section 1)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from sync_engine.credentials import CredentialsError, RefreshRefused
from sync_engine.oauth_sim import OAuthConfig, OAuthSimulator
from sync_engine.quickbooks.oauth import (
    SCOPE,
    MissingSetting,
    QuickBooksOAuth,
    TokenEndpointUnreachable,
    TokenRequestRefused,
)
from sync_engine.settings import Settings

REDIRECT = "http://localhost:8765/callback"


def settings_for(sim: OAuthSimulator, **changes: object) -> Settings:
    """Settings pointing at the double's endpoints, with its client's keys."""
    paths = sim.endpoints.paths
    fields: dict[str, object] = {
        "qbo_auth_url": sim.url + paths.authorize,
        "qbo_token_url": sim.url + paths.token,
        "qbo_revoke_url": sim.url + paths.revoke,
        "qbo_client_id": "sim-client-id",
        "qbo_client_secret": SecretStr("sim-client-secret"),
        "qbo_redirect_uri": REDIRECT,
        **changes,
    }
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture
def sim() -> Iterator[OAuthSimulator]:
    """The OAuth double, Intuit's safe reading (every refresh rotates at once)."""
    with OAuthSimulator(OAuthConfig(access_lifetime=3600)) as running:
        yield running


@pytest.fixture
def oauth(sim: OAuthSimulator) -> Iterator[QuickBooksOAuth]:
    """The client under test, configured for the double."""
    client = QuickBooksOAuth(settings_for(sim))
    yield client
    client.close()


def consent(url: str) -> dict[str, str]:
    """What a browser does with the authorization URL: follow it to the redirect's query."""
    answer = httpx.get(url, follow_redirects=False, timeout=5.0)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def test_the_authorization_url_asks_for_the_accounting_scope_and_carries_state(oauth) -> None:
    url = oauth.authorization_url("st-1")
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "client_id": "sim-client-id",
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": REDIRECT,
        "state": "st-1",
    }
    back = consent(url)
    assert back["state"] == "st-1" and back["realmId"] == "9130350000000001"


def test_a_code_is_exchanged_for_tokens_with_their_lifetimes(sim, oauth) -> None:
    code = consent(oauth.authorization_url("s"))["code"]
    tokens = oauth.exchange(code)
    assert tokens.expires_in == 3600
    assert tokens.refresh_expires_in == 8_726_400
    assert sim.authority.check_access(tokens.access_token).status == "valid"
    assert "redacted" in repr(tokens) and tokens.refresh_token not in repr(tokens)


def test_a_used_or_unknown_code_is_refused_as_auth(oauth) -> None:
    code = consent(oauth.authorization_url("s"))["code"]
    oauth.exchange(code)
    with pytest.raises(TokenRequestRefused) as refused:
        oauth.exchange(code)
    assert refused.value.error == "invalid_grant"
    assert refused.value.error_class == "auth"
    assert code not in str(refused.value)


def test_a_refresh_rotates_and_the_superseded_token_is_refused_invalid_grant(sim, oauth) -> None:
    first = sim.authority.grant()
    second = oauth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert sim.authority.check_access(second.access_token).status == "valid"
    with pytest.raises(RefreshRefused) as refused:
        oauth.refresh(first.refresh_token)
    assert refused.value.error == "invalid_grant"
    assert first.refresh_token not in str(refused.value)
    assert oauth.refresh(second.refresh_token).refresh_token != second.refresh_token
    assert sim.authority.refreshes == 2


def test_a_wrong_client_secret_is_invalid_client(sim) -> None:
    wrong = settings_for(sim, qbo_client_secret=SecretStr("wrong"))
    with QuickBooksOAuth(wrong) as oauth, pytest.raises(RefreshRefused) as refused:
        oauth.refresh(sim.authority.grant().refresh_token)
    assert refused.value.error == "invalid_client"
    assert isinstance(refused.value, CredentialsError)


def test_a_5xx_or_timeout_is_transient_and_spends_nothing(sim, oauth) -> None:
    tokens = sim.authority.grant()
    sim.endpoints.fail_next(503)
    with pytest.raises(TokenEndpointUnreachable) as failed:
        oauth.refresh(tokens.refresh_token)
    assert failed.value.error_class == "transient"
    # The same refresh token still works: the failure changed nothing.
    assert oauth.refresh(tokens.refresh_token).access_token


def test_an_unreachable_endpoint_is_transient() -> None:
    with OAuthSimulator() as sim:
        settings = settings_for(sim)
    # The double is stopped: nothing listens on its port any more.
    with QuickBooksOAuth(settings) as oauth, pytest.raises(TokenEndpointUnreachable):
        oauth.refresh("RT1-gone")


def test_a_200_without_tokens_is_unreadable_not_auth(sim) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"token_type": "bearer"})

    mock = httpx.MockTransport(answer)
    with (
        QuickBooksOAuth(settings_for(sim), transport=mock) as oauth,
        pytest.raises(TokenEndpointUnreachable, match="no access_token"),
    ):
        oauth.refresh("RT1-x")


def test_revoke_ends_the_grant(sim, oauth) -> None:
    tokens = sim.authority.grant()
    oauth.revoke(tokens.refresh_token)
    with pytest.raises(RefreshRefused) as refused:
        oauth.refresh(tokens.refresh_token)
    assert refused.value.error == "invalid_grant"


def test_missing_client_settings_are_named(sim) -> None:
    unset = settings_for(sim, qbo_client_secret=None, qbo_redirect_uri="")
    with QuickBooksOAuth(unset) as oauth:
        with pytest.raises(MissingSetting, match="QBO_CLIENT_SECRET"):
            oauth.refresh("RT1-x")
        with pytest.raises(MissingSetting, match="QBO_REDIRECT_URI"):
            oauth.authorization_url("s")


def test_the_token_request_is_intuits_shape(sim) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"access_token": "eyJ-a", "refresh_token": "RT1-b", "expires_in": 3600}
        return httpx.Response(200, json=body)

    with QuickBooksOAuth(settings_for(sim), transport=httpx.MockTransport(answer)) as oauth:
        oauth.refresh("RT1-old")
    request = seen[0]
    assert request.url == sim.url + sim.endpoints.paths.token
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["RT1-old"],
    }


def test_no_token_reaches_a_log_line(sim, oauth, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    tokens = sim.authority.grant()
    fresh = oauth.refresh(tokens.refresh_token)
    with pytest.raises(RefreshRefused):
        oauth.refresh(tokens.refresh_token)
    logged = json.dumps([record.getMessage() for record in caplog.records])
    for secret in (tokens.refresh_token, fresh.refresh_token, fresh.access_token):
        assert secret not in logged
    assert "sim-client-secret" not in logged and "sim-client-secret" not in repr(oauth)
