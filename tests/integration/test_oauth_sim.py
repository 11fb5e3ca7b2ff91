"""The OAuth 2.0 double over real loopback HTTP: codes, refreshes, rotation policies, races."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sync_engine.oauth_sim import (
    INTUIT_DAILY,
    XERO_GRACE,
    OAuthConfig,
    OAuthSimulator,
    RotationPolicy,
)

TLS = ssl.create_default_context()
CLIENT = ("sim-client-id", "sim-client-secret")
REDIRECT = "http://localhost:8765/callback"
TOKEN = "/oauth2/v1/tokens/bearer"
SCOPE = "com.intuit.quickbooks.accounting"


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def started(
    rotation: RotationPolicy | None = None, clock: Clock | None = None, **options: float
) -> Iterator[tuple[OAuthSimulator, httpx.Client]]:
    """A running OAuth double and a client for it."""
    config = OAuthConfig(rotation=rotation or RotationPolicy(), **options)  # type: ignore[arg-type]
    with (
        OAuthSimulator(config, clock=clock) as sim,
        httpx.Client(base_url=sim.url, timeout=5.0, verify=TLS) as client,
    ):
        yield sim, client


@pytest.fixture
def oauth() -> Iterator[tuple[OAuthSimulator, httpx.Client]]:
    """The double with Intuit's safe reading: every refresh rotates at once."""
    with started() as both:
        yield both


def authorize(client: httpx.Client, **changes: str) -> httpx.Response:
    """The browser's GET of the authorize URL."""
    params = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "scope": SCOPE,
        "redirect_uri": REDIRECT,
        "state": "st-42",
    }
    params.update(changes)
    return client.get("/connect/oauth2", params=params)


def redirected(response: httpx.Response) -> dict[str, str]:
    """The query of the redirect the authorize step answered."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def token(client: httpx.Client, auth: tuple[str, str] = CLIENT, **form: str) -> httpx.Response:
    """POST the token endpoint with Basic client auth and a form body."""
    return client.post(TOKEN, data=form, auth=auth, headers={"Accept": "application/json"})


def refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    """The refresh_token grant."""
    return token(client, grant_type="refresh_token", refresh_token=refresh_token)


def connect(client: httpx.Client) -> dict[str, object]:
    """Authorize and exchange the code: the first token set."""
    code = redirected(authorize(client))["code"]
    answer = token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_authorize_redirects_with_code_state_and_realm(oauth) -> None:
    sim, client = oauth
    back = redirected(authorize(client))
    assert back["state"] == "st-42"
    assert back["realmId"] == sim.authority.config.realm_id
    assert 0 < len(back["code"]) <= 512


def test_authorize_refuses_an_unknown_client_or_redirect_without_redirecting(oauth) -> None:
    _, client = oauth
    assert authorize(client, client_id="someone-else").status_code == 400
    assert authorize(client, redirect_uri="https://evil.example/cb").status_code == 400
    assert redirected(authorize(client, scope="openid"))["error"] == "invalid_scope"
    assert redirected(authorize(client, response_type="token"))["error"] == (
        "unsupported_response_type"
    )


def test_a_code_is_exchanged_once_and_only_with_its_redirect_uri(oauth) -> None:
    _, client = oauth
    code = redirected(authorize(client))["code"]
    wrong = token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT + "x")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = redirected(authorize(client))["code"]
    first = token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    again = token(client, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8_726_400
    assert first.headers["Cache-Control"] == "no-store"
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_bad_secret_or_no_basic_auth_is_invalid_client(oauth) -> None:
    _, client = oauth
    tokens = connect(client)
    bad = token(
        client,
        ("sim-client-id", "wrong"),
        grant_type="refresh_token",
        refresh_token=str(tokens["refresh_token"]),
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert bad.headers["WWW-Authenticate"].startswith("Basic")
    bare = client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client"
    # The refused attempts spent nothing: the token still refreshes.
    assert refresh(client, str(tokens["refresh_token"])).status_code == 200


def test_each_refresh_rotates_and_the_superseded_token_is_invalid_grant(oauth) -> None:
    sim, client = oauth
    first = connect(client)
    second = refresh(client, str(first["refresh_token"])).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    stale = refresh(client, str(first["refresh_token"]))
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
    assert refresh(client, str(second["refresh_token"])).status_code == 200
    assert sim.authority.refreshes == 2


def test_of_two_racing_refreshes_with_one_token_the_second_is_invalid_grant(oauth) -> None:
    _, client = oauth
    refresh_token = str(connect(client)["refresh_token"])
    gate = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def race() -> None:
        with httpx.Client(base_url=client.base_url, verify=TLS, timeout=5.0) as own:
            gate.wait()
            answers.append(refresh(own, refresh_token))

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    loser = next(answer for answer in answers if answer.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"


def test_daily_rotation_keeps_the_refresh_token_for_a_day() -> None:
    clock = Clock()
    with started(INTUIT_DAILY, clock) as (sim, client):
        first = connect(client)
        clock.now += 3600
        same = refresh(client, str(first["refresh_token"])).json()
        assert same["refresh_token"] == first["refresh_token"]
        clock.now += 86_400
        rotated = refresh(client, str(first["refresh_token"])).json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert refresh(client, str(first["refresh_token"])).json()["error"] == "invalid_grant"
        assert sim.authority.refreshes == 2


def test_a_grace_period_lets_the_previous_token_work_for_a_while() -> None:
    clock = Clock()
    with started(XERO_GRACE, clock) as (_, client):
        first = connect(client)
        second = refresh(client, str(first["refresh_token"])).json()
        clock.now += 1_000  # within the 30 minutes: the answer was lost, the old token retried
        again = refresh(client, str(first["refresh_token"]))
        assert again.status_code == 200
        assert again.json()["refresh_token"] not in (
            first["refresh_token"],
            second["refresh_token"],
        )
        clock.now += 1_800
        late = refresh(client, str(first["refresh_token"]))
        assert late.status_code == 400 and late.json()["error"] == "invalid_grant"


def test_access_tokens_expire_after_the_configured_lifetime() -> None:
    clock = Clock()
    config = OAuthConfig(access_lifetime=30)
    with OAuthSimulator(config, clock=clock) as sim:
        tokens = sim.authority.grant()
        assert tokens.expires_in == 30
        assert sim.authority.check_access(tokens.access_token).status == "valid"
        clock.now += 31
        assert sim.authority.check_access(tokens.access_token).status == "expired"
        assert sim.authority.check_access("eyJforged").status == "unknown"


def test_a_revoked_or_expired_refresh_token_is_invalid_grant(oauth) -> None:
    _, client = oauth
    tokens = connect(client)
    answer = client.post(
        "/v2/oauth2/tokens/revoke", json={"token": tokens["refresh_token"]}, auth=CLIENT
    )
    assert answer.status_code == 200
    assert refresh(client, str(tokens["refresh_token"])).json()["error"] == "invalid_grant"
    clock = Clock()
    with started(None, clock, refresh_lifetime=100) as (_, other):
        old = connect(other)
        clock.now += 101
        assert refresh(other, str(old["refresh_token"])).json()["error"] == "invalid_grant"


def test_an_unknown_grant_type_or_a_missing_field_is_refused(oauth) -> None:
    _, client = oauth
    assert token(client, grant_type="password").json()["error"] == "unsupported_grant_type"
    assert token(client, grant_type="refresh_token").json()["error"] == "invalid_request"
    long = token(client, grant_type="refresh_token", refresh_token="x" * 600)
    assert long.status_code == 400 and long.json()["error"] == "invalid_request"


def test_a_planned_5xx_changes_nothing_and_the_same_token_then_refreshes(oauth) -> None:
    sim, client = oauth
    tokens = connect(client)
    planned = client.post("/_sim/oauth/fail", json={"status": 503, "count": 1})
    assert planned.status_code == 200
    assert client.post("/_sim/oauth/fail", json={"status": 200}).status_code == 400
    assert refresh(client, str(tokens["refresh_token"])).status_code == 503
    assert refresh(client, str(tokens["refresh_token"])).status_code == 200
    assert sim.authority.refreshes == 1


def test_a_delay_widens_a_race_and_the_lock_still_leaves_one_winner(oauth) -> None:
    sim, client = oauth
    sim.endpoints.delay_seconds = 0.3
    refresh_token = str(connect(client)["refresh_token"])
    answers: list[int] = []

    def race() -> None:
        with httpx.Client(base_url=client.base_url, verify=TLS, timeout=5.0) as own:
            answers.append(refresh(own, refresh_token).status_code)

    threads = [threading.Thread(target=race) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 400, 400]
