"""Connecting QuickBooks (sync_engine.connecting): the code flow and a refresh token from
elsewhere, against the QuickBooks double over loopback HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync_engine.connecting import ConnectFlow, ConnectRefused, connect_with_refresh_token
from sync_engine.credentials import (
    QUICKBOOKS,
    RefreshRefused,
    Tokens,
    connect,
    connection_statuses,
)
from sync_engine.errors import BadInput
from sync_engine.quickbooks.oauth import QuickBooksOAuth, TokenRequestRefused
from sync_engine.quickbooks_sim import QuickBooksSimulator
from sync_engine.secret_box import SecretBox, SecretKeyError
from tests.integration.connect_support import SECRET_KEY, run_flow, stored, the_stored_tokens_work
from tests.integration.qbo_connect_support import qbo_settings

NAME = "Sandbox Company_US_1"


@pytest.fixture
def qbo() -> Iterator[QuickBooksSimulator]:
    """The QuickBooks double (Intuit's safe reading: every refresh rotates)."""
    with QuickBooksSimulator() as sim:
        yield sim


def test_the_code_flow_stores_the_realm_and_tokens_and_names_the_company(
    database_url, database, qbo
) -> None:
    settings = qbo_settings(database_url, qbo)
    with ConnectFlow(settings, QUICKBOOKS) as flow:
        result, page = run_flow(flow)
    assert page.status_code == 200 and "Return to the terminal" in page.text
    assert result.company_id == qbo.realm_id and result.company_name == NAME  # type: ignore[attr-defined]
    [row] = stored(database)
    assert (row.company_id, row.company_name, row.state) == (qbo.realm_id, NAME, "connected")
    the_stored_tokens_work(database, row, QuickBooksOAuth(settings).refresh, qbo.authority)


def test_a_bad_state_stores_nothing_and_spends_no_code(database_url, database, qbo) -> None:
    with ConnectFlow(qbo_settings(database_url, qbo), QUICKBOOKS) as flow:
        result, _ = run_flow(flow, state="forged")
    assert isinstance(result, ConnectRefused) and "state does not match" in str(result)
    assert stored(database) == []
    assert qbo.requests_by_route().get("POST token", 0) == 0


def test_a_refused_code_stores_nothing(database_url, database, qbo) -> None:
    with ConnectFlow(qbo_settings(database_url, qbo), QUICKBOOKS) as flow:
        result, _ = run_flow(flow, code="AB11-never-issued")
    assert isinstance(result, TokenRequestRefused) and result.error == "invalid_grant"
    assert "AB11-never-issued" not in str(result)
    assert stored(database) == []


def test_intuit_refusing_consent_is_one_line(database_url, database, qbo) -> None:
    with ConnectFlow(qbo_settings(database_url, qbo), QUICKBOOKS) as flow:
        result, _ = run_flow(flow, error="access_denied", code="")
    assert isinstance(result, ConnectRefused) and "access_denied" in str(result)
    assert stored(database) == []


def test_a_company_other_than_qbo_realm_id_is_refused(database_url, database, qbo) -> None:
    settings = qbo_settings(database_url, qbo, qbo_realm_id="4620816365000000000")
    with ConnectFlow(settings, QUICKBOOKS) as flow:
        result, _ = run_flow(flow)
    assert isinstance(result, ConnectRefused) and "QBO_REALM_ID" in str(result)
    assert stored(database) == []


def test_a_refresh_token_from_elsewhere_is_proved_rotated_stored_and_probed(
    database_url, database, qbo
) -> None:
    settings = qbo_settings(database_url, qbo)
    given = qbo.grant()
    result = connect_with_refresh_token(settings, QUICKBOOKS, given.refresh_token, qbo.realm_id)
    assert (result.company_id, result.company_name) == (qbo.realm_id, NAME)
    assert qbo.authority.refreshes == 1
    # The token given was rotated away; the stored one is the new, working one.
    with QuickBooksOAuth(settings) as oauth, pytest.raises(RefreshRefused):
        oauth.refresh(given.refresh_token)
    box = SecretBox(SECRET_KEY)
    [row] = stored(database)
    with QuickBooksOAuth(settings) as oauth:
        assert oauth.refresh(box.open(row.refresh_token_encrypted)).access_token


def test_a_dead_refresh_token_stores_nothing(database_url, database, qbo) -> None:
    settings = qbo_settings(database_url, qbo)
    with pytest.raises(RefreshRefused) as refused:
        connect_with_refresh_token(settings, QUICKBOOKS, "RT1-made-up", qbo.realm_id)
    assert refused.value.error == "invalid_grant" and "RT1-made-up" not in str(refused.value)
    assert stored(database) == []


def test_a_realm_the_token_does_not_open_is_undone(database_url, database, qbo) -> None:
    settings = qbo_settings(database_url, qbo)
    given = qbo.grant()
    with pytest.raises(ConnectRefused) as refused:
        connect_with_refresh_token(settings, QUICKBOOKS, given.refresh_token, "123145")
    assert "nothing stored" in str(refused.value)
    assert stored(database) == []


def test_a_failed_reconnect_puts_the_previous_connection_back(database_url, database, qbo) -> None:
    settings = qbo_settings(database_url, qbo)
    old = Tokens(access_token="eyJ-old", refresh_token="RT1-old", expires_in=3600)
    connect(database, SecretBox(SECRET_KEY), QUICKBOOKS, "123145", old, company_name="Old Co")
    [before] = stored(database)
    with pytest.raises(ConnectRefused):
        connect_with_refresh_token(settings, QUICKBOOKS, qbo.grant().refresh_token, "123145")
    [after] = stored(database)
    assert after == before


def test_connect_refuses_without_a_secret_key_and_says_how_to_make_one(database_url, qbo) -> None:
    settings = qbo_settings(database_url, qbo, secret_key=None)
    with pytest.raises(SecretKeyError, match="Fernet.generate_key"):
        ConnectFlow(settings, QUICKBOOKS)
    with pytest.raises(SecretKeyError, match="SYNCBOT_SECRET_KEY"):
        connect_with_refresh_token(settings, QUICKBOOKS, qbo.grant().refresh_token, qbo.realm_id)
    assert qbo.authority.refreshes == 0


def test_a_redirect_uri_off_this_machine_is_bad_input(database_url, qbo) -> None:
    settings = qbo_settings(database_url, qbo, qbo_redirect_uri="https://example.org/callback")
    with pytest.raises(BadInput, match="--refresh-token"):
        ConnectFlow(settings, QUICKBOOKS)


def test_statuses_after_connecting_show_no_token(database_url, database, qbo) -> None:
    settings = qbo_settings(database_url, qbo)
    connect_with_refresh_token(settings, QUICKBOOKS, qbo.grant().refresh_token, qbo.realm_id)
    [status] = connection_statuses(database)
    assert (status.company_name, status.state) == (NAME, "connected")
    assert "RT1-" not in repr(status) and "eyJ" not in repr(status)
