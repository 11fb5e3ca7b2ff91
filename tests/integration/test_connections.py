"""The ledger connection store on SQLite and PostgreSQL: tokens encrypted at rest, refreshed once
at a time across processes, committed before use, invalid_grant marking reconnect_required."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from storage import connections
from storage.db import Database
from storage.vocabulary import ConnectionState
from sync_engine.credentials import (
    NotConnected,
    ReconnectRequired,
    TokenKeeper,
    Tokens,
    connect,
    connection_statuses,
    seal_tokens,
)
from sync_engine.oauth_sim import OAuthSimulator
from sync_engine.quickbooks.oauth import QuickBooksOAuth, TokenEndpointUnreachable
from sync_engine.secret_box import SecretBox
from sync_engine.settings import Settings
from tests.conftest import FakeClock

REPO = Path(__file__).resolve().parents[2]
REALM = "9130357766900456"
KEY = Fernet.generate_key().decode()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database.open(database_url)
    yield db
    db.dispose()


def oauth_settings(url: str) -> Settings:
    """The token endpoint of the OAuth double at `url`, with its client's keys."""
    return Settings(
        qbo_token_url=url + "/oauth2/v1/tokens/bearer",
        qbo_client_id="sim-client-id",
        qbo_client_secret="sim-client-secret",  # type: ignore[arg-type]
    )


class Endpoint:
    """Intuit's token endpoint (the OAuth double: every refresh rotates, only the latest refresh
    token works), the adapter's own refresh function speaking to it, and what it issued: the
    first token set (a Playground-style grant, as from a code exchange), then each refresh's."""

    def __init__(self, sim: OAuthSimulator) -> None:
        self.sim = sim
        granted = sim.authority.grant()
        self.first = Tokens(
            granted.access_token,
            granted.refresh_token,
            granted.expires_in,
            granted.refresh_expires_in,
        )
        self.issued: list[Tokens] = []
        self._oauth = QuickBooksOAuth(oauth_settings(sim.url))

    def refresh(self, refresh_token: str) -> Tokens:
        """What an adapter gives its TokenKeeper: `QuickBooksOAuth.refresh`, real HTTP."""
        tokens = self._oauth.refresh(refresh_token)
        self.issued.append(tokens)
        return tokens

    @property
    def refreshes(self) -> int:
        """Refreshes the endpoint granted (from any process)."""
        return self.sim.authority.refreshes

    def tokens(self) -> Tokens:
        """The latest token set it issued."""
        return self.issued[-1] if self.issued else self.first

    def at(self, generation: int) -> str:
        """The access token of generation `generation` (0: the first set)."""
        return ([self.first, *self.issued])[generation].access_token

    def rt(self, generation: int) -> str:
        """The refresh token of generation `generation` (0: the first set)."""
        return ([self.first, *self.issued])[generation].refresh_token

    def every_token(self) -> list[str]:
        """Every token it issued, access and refresh."""
        sets = [self.first, *self.issued]
        return [t.access_token for t in sets] + [t.refresh_token for t in sets]

    def close(self) -> None:
        """Release the refresh function's connections."""
        self._oauth.close()


@contextmanager
def serving(delay: float = 0.0) -> Iterator[Endpoint]:
    """The double on loopback, holding each token request `delay` seconds (widens races)."""
    with OAuthSimulator() as sim:
        sim.endpoints.delay_seconds = delay
        served = Endpoint(sim)
        try:
            yield served
        finally:
            served.close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serving() as served:
        yield served


def never(refresh_token: str) -> Tokens:
    """A refresh function for tests that must not refresh."""
    raise AssertionError("refreshed")


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KEY)


def connected(database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock) -> None:
    """A QBO company connected with the endpoint's current tokens."""
    connect(
        database, box, "quickbooks", REALM, endpoint.tokens(), company_name="Food Bank", clock=clock
    )


def keeper_for(
    database: Database, box: SecretBox, refresh: Callable[[str], Tokens], clock: FakeClock
) -> TokenKeeper:
    return TokenKeeper(database, box, "quickbooks", REALM, refresh, clock=clock)


def raw_row(database: Database) -> dict[str, object]:
    with database.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM ledger_connections")).mappings().one())


def stored_tokens(database: Database, box: SecretBox) -> tuple[str, str]:
    row = raw_row(database)
    return box.open(str(row["access_token_encrypted"])), box.open(
        str(row["refresh_token_encrypted"])
    )


def assert_no_token_in(caplog: pytest.LogCaptureFixture, endpoint: Endpoint) -> None:
    """No token, clear or sealed, in any log line or its traceback."""
    for record in caplog.records:
        line = caplog.handler.format(record) + repr(record.__dict__)
        assert "gAAAAA" not in line, line
        for token in endpoint.every_token():
            assert token not in line, line


def test_no_token_is_stored_in_clear(
    database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    connected(database, box, endpoint, clock)
    clock.advance(hours=1)
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    assert keeper.access_token() == endpoint.at(1)
    row = raw_row(database)
    assert stored_tokens(database, box) == (endpoint.at(1), endpoint.rt(1))
    for value in row.values():
        for token in (endpoint.at(0), endpoint.rt(0), endpoint.at(1), endpoint.rt(1)):
            assert token not in str(value)
    shown = repr(keeper.status())
    assert endpoint.at(1) not in shown and endpoint.rt(1) not in shown


def test_a_stored_token_is_used_until_the_margin_then_refreshed(
    database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    connected(database, box, endpoint, clock)
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    # stored as expiring at +3540 s (60 s early); refreshed once fewer than 300 s remain
    clock.advance(seconds=3239)
    assert keeper.access_token() == endpoint.at(0)
    assert endpoint.refreshes == 0
    clock.advance(seconds=1)
    assert keeper.access_token() == endpoint.at(1)
    assert keeper.access_token() == endpoint.at(1)
    assert endpoint.refreshes == 1
    status = keeper.status()
    assert (status.state, status.generation) == (ConnectionState.CONNECTED, 2)
    assert status.access_expires_at == clock() + timedelta(seconds=3540)


def test_the_new_tokens_are_committed_before_the_access_token_is_handed_out(
    database: Database, database_url: str, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    connected(database, box, endpoint, clock)
    clock.advance(hours=1)
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    token = keeper.access_token()
    # As the adapter is about to use it, another pool on the database already sees the new set.
    other = Database.open(database_url)
    try:
        assert (
            stored_tokens(other, box)
            == (token, endpoint.tokens().refresh_token)
            == (endpoint.at(1), endpoint.rt(1))
        )
    finally:
        other.dispose()


def test_a_failed_commit_is_retried_never_the_refresh(
    database: Database,
    box: SecretBox,
    endpoint: Endpoint,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    connected(database, box, endpoint, clock)
    clock.advance(hours=1)
    armed: list[bool] = []
    refresh = endpoint.refresh

    def refresh_then_arm(token: str) -> Tokens:
        tokens = refresh(token)
        armed.append(True)
        return tokens

    def fail_once(session: Session) -> None:
        if armed:
            armed.clear()
            raise OSError("connection lost at commit")

    event.listen(Session, "before_commit", fail_once)
    try:
        token = keeper_for(database, box, refresh_then_arm, clock).access_token()
    finally:
        event.remove(Session, "before_commit", fail_once)
    assert token == endpoint.at(1) and endpoint.refreshes == 1
    assert stored_tokens(database, box) == (endpoint.at(1), endpoint.rt(1))
    assert "not stored (OSError); storing again" in caplog.text
    assert_no_token_in(caplog, endpoint)


def test_a_restart_uses_the_stored_token_without_refreshing(
    database_url: str, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    first = Database.open(database_url)
    connected(first, box, endpoint, clock)
    clock.advance(hours=1)
    assert keeper_for(first, box, endpoint.refresh, clock).access_token() == endpoint.at(1)
    first.dispose()

    def must_not_refresh(token: str) -> Tokens:
        raise AssertionError("refreshed again after a restart")

    second = Database.open(database_url)
    try:
        clock.advance(minutes=10)
        assert keeper_for(second, box, must_not_refresh, clock).access_token() == endpoint.at(1)
    finally:
        second.dispose()
    assert endpoint.refreshes == 1


def test_threads_of_one_process_refresh_once(
    database: Database, box: SecretBox, clock: FakeClock
) -> None:
    with serving(delay=0.3) as endpoint:
        connected(database, box, endpoint, clock)
        clock.advance(hours=1)
        keeper = keeper_for(database, box, endpoint.refresh, clock)
        with ThreadPoolExecutor(4) as pool:
            tokens = list(pool.map(lambda _: keeper.access_token(), range(4)))
        assert tokens == [endpoint.at(1)] * 4 and endpoint.refreshes == 1


def test_after_a_401_a_newer_stored_token_is_used_else_one_is_refreshed(
    database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    connected(database, box, endpoint, clock)
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    refused = endpoint.at(0)
    assert keeper.after_unauthorized(refused) == endpoint.at(1)  # the refused one is stored
    assert keeper.after_unauthorized(refused) == endpoint.at(1)  # another process refreshed
    assert endpoint.refreshes == 1


def test_invalid_grant_marks_the_connection_reconnect_required(
    database: Database,
    box: SecretBox,
    endpoint: Endpoint,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    connected(database, box, endpoint, clock)
    clock.advance(hours=1)
    endpoint.sim.authority.revoke_all()  # the user disconnected the app
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    with pytest.raises(ReconnectRequired) as caught:
        keeper.access_token()
    assert caught.value.error_class == "auth"
    assert "invalid_grant" in str(caught.value) and endpoint.rt(0) not in str(caught.value)
    status = keeper.status()
    assert status.state == ConnectionState.RECONNECT_REQUIRED
    assert status.state_reason == "the quickbooks token endpoint answered invalid_grant"
    assert status.state_changed_at == clock()
    with pytest.raises(ReconnectRequired, match="must be reconnected"):
        keeper.access_token()  # the dead token is not presented again
    with pytest.raises(ReconnectRequired):
        keeper.after_unauthorized(endpoint.at(0))

    # Connected again (a new consent: a new grant), as `syncbot connect` does.
    granted = endpoint.sim.authority.grant()
    fresh = Tokens(granted.access_token, granted.refresh_token, granted.expires_in)
    connect(database, box, "quickbooks", REALM, fresh, clock=clock)
    assert (
        keeper.status().state == ConnectionState.CONNECTED and keeper.status().state_reason is None
    )
    assert keeper.access_token() == fresh.access_token
    assert "needs reconnecting" in caplog.text
    assert_no_token_in(caplog, endpoint)


def test_a_token_set_stored_after_a_refusal_makes_the_connection_connected_again(
    database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    # A commit retried after another process saw invalid_grant for the superseded token.
    connected(database, box, endpoint, clock)
    clock.advance(minutes=5)
    with database.transaction() as tx:
        assert connections.mark_reconnect_required(
            tx, "quickbooks", REALM, "invalid_grant", generation=1, now=clock()
        )
    clock.advance(seconds=1)
    sealed = seal_tokens(box, Tokens("AT-9", "RT-9", 3600), clock())
    with database.transaction() as tx:
        assert connections.save_tokens(tx, "quickbooks", REALM, sealed, generation=1, now=clock())
        assert not connections.save_tokens(
            tx, "quickbooks", REALM, sealed, generation=1, now=clock()
        )
    status = keeper_for(database, box, endpoint.refresh, clock).status()
    assert (status.state, status.state_reason, status.generation) == (
        ConnectionState.CONNECTED,
        None,
        2,
    )
    assert status.state_changed_at == clock()


def test_a_transient_failure_changes_nothing_and_releases_the_lock(
    database: Database, box: SecretBox, endpoint: Endpoint, clock: FakeClock
) -> None:
    connected(database, box, endpoint, clock)
    clock.advance(hours=1)
    keeper = keeper_for(database, box, endpoint.refresh, clock)
    endpoint.sim.endpoints.fail_next(503)
    with pytest.raises(TokenEndpointUnreachable):
        keeper.access_token()
    assert keeper.status().state == ConnectionState.CONNECTED
    assert stored_tokens(database, box) == (endpoint.at(0), endpoint.rt(0))
    assert keeper.access_token() == endpoint.at(1)  # the same refresh token, tried again


def test_an_unknown_company_is_not_connected(
    database: Database, box: SecretBox, clock: FakeClock
) -> None:
    keeper = TokenKeeper(database, box, "xero", "tenant-1", never)
    with pytest.raises(NotConnected) as caught:
        keeper.access_token()
    assert caught.value.error_class == "auth"
    assert connection_statuses(database) == []


def test_quickbooks_and_xero_companies_are_kept_apart(
    database: Database, box: SecretBox, clock: FakeClock
) -> None:
    connect(database, box, "xero", "T1", Tokens("xa", "xr", 1800), ledger_ref="c1", clock=clock)
    connect(database, box, "quickbooks", "T1", Tokens("qa", "qr", 3600), clock=clock)
    statuses = connection_statuses(database)
    assert [(s.ledger, s.company_id, s.generation) for s in statuses] == [
        ("quickbooks", "T1", 1),
        ("xero", "T1", 1),
    ]
    xero = TokenKeeper(database, box, "xero", "T1", never, clock=clock)
    assert xero.access_token() == "xa"
    with pytest.raises(ValueError, match="unknown ledger"):
        TokenKeeper(database, box, "sage", "T1", never)


RACER = """
import sys
from storage import connections
from storage.db import Database
from sync_engine.credentials import TokenKeeper
from sync_engine.secret_box import SecretBox
from sync_engine.quickbooks.oauth import QuickBooksOAuth
from sync_engine.settings import Settings

url, oauth_url, key, realm = sys.argv[1:5]
settings = Settings(
    qbo_token_url=oauth_url + "/oauth2/v1/tokens/bearer",
    qbo_client_id="sim-client-id",
    qbo_client_secret="sim-client-secret",
)
database = Database.open(url)
refresh = QuickBooksOAuth(settings).refresh
keeper = TokenKeeper(database, SecretBox(key), "quickbooks", realm, refresh)
print("ready", flush=True)
sys.stdin.readline()
print(keeper.access_token(), flush=True)
"""


@pytest.mark.timeout(120)
def test_two_processes_refreshing_at_once_refresh_once(
    database: Database, database_url: str, box: SecretBox
) -> None:
    with serving(delay=0.5) as endpoint:
        expired = Tokens(endpoint.first.access_token, endpoint.first.refresh_token, 0)
        connect(database, box, "quickbooks", REALM, expired)
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, database_url, endpoint.sim.url, KEY, REALM],
                cwd=REPO,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            for racer in racers:
                assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
            for racer in racers:
                assert racer.stdin is not None
                racer.stdin.write("go\n")
                racer.stdin.flush()
            answers = [racer.communicate(timeout=90) for racer in racers]
        finally:
            for racer in racers:
                racer.kill()
        assert [racer.returncode for racer in racers] == [0, 0], [err for _, err in answers]
        # One refresh, and both racers got its access token: the one stored.
        stored_access, stored_refresh = stored_tokens(database, box)
        assert [out for out, _ in answers] == [f"{stored_access}\n"] * 2
        assert stored_access != endpoint.first.access_token
        assert endpoint.refreshes == 1
        # No lost connection: the stored refresh token is the one the endpoint accepts.
        keeper = TokenKeeper(database, box, "quickbooks", REALM, endpoint.refresh)
        assert keeper.status().state == ConnectionState.CONNECTED
        assert keeper.after_unauthorized(stored_access) == endpoint.at(1)
        assert endpoint.issued[0].refresh_token != stored_refresh  # rotated once more
