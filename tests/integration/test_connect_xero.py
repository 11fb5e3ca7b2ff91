"""Connecting Xero (sync_engine.connecting with XeroConnector, and `syncbot connect xero`):
the code flow and a refresh token from elsewhere, the tenant chosen from Xero's connections
list, against the Xero double over loopback HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sync_engine.connecting import ConnectFlow, ConnectRefused, connect_with_refresh_token
from sync_engine.credentials import XERO, RefreshRefused
from sync_engine.secret_box import SecretBox, SecretKeyError
from sync_engine.xero.oauth import XeroOAuth
from sync_engine.xero_sim import XeroSimulator
from tests.integration.cli_harness import clean_env
from tests.integration.connect_support import (
    SECRET_KEY,
    browse_and_finish,
    connected_json,
    free_port,
    rows,
    run,
    run_flow,
    stored,
    the_stored_tokens_work,
    xero_environment,
    xero_settings,
)

DEMO = "Demo Company (US)"
UNKNOWN = "0b1f4e8a-9c2d-4f6e-8a7b-1c2d3e4f5a6b"
GRACE = 1800.0


@pytest.fixture
def xero() -> Iterator[XeroSimulator]:
    """The Xero double, its Demo Company the one organisation connected."""
    with XeroSimulator() as sim:
        yield sim


def test_the_code_flow_takes_the_one_organisation(database_url, database, xero) -> None:
    settings = xero_settings(database_url, xero)
    with ConnectFlow(settings, XERO) as flow:
        result, page = run_flow(flow)
    assert page.status_code == 200 and "Return to the terminal" in page.text
    assert (result.company_id, result.company_name) == (xero.tenant_id, DEMO)  # type: ignore[attr-defined]
    [row] = stored(database)
    assert (row.ledger, row.company_id, row.company_name) == (XERO, xero.tenant_id, DEMO)
    assert row.ledger_ref == xero.connections()[0].id
    the_stored_tokens_work(database, row, XeroOAuth(settings).refresh, xero.authority)


def test_a_bad_state_stores_nothing_and_spends_no_code(database_url, database, xero) -> None:
    with ConnectFlow(xero_settings(database_url, xero), XERO) as flow:
        result, _ = run_flow(flow, state="forged")
    assert isinstance(result, ConnectRefused) and "state does not match" in str(result)
    assert stored(database) == [] and xero.requests_by_route().get("POST token", 0) == 0


def test_several_organisations_need_a_tenant_id(database_url, database, xero) -> None:
    other = xero.add_organisation("Acme\n\x1b[31mTrust")
    settings = xero_settings(database_url, xero)
    with ConnectFlow(settings, XERO) as flow:
        refused, _ = run_flow(flow)
    text = str(refused)
    assert isinstance(refused, ConnectRefused) and "--tenant-id" in text
    assert f"'{DEMO}' (tenant id {xero.tenant_id})" in text
    assert f"(tenant id {other.tenant_id})" in text and "\n" not in text and "\x1b" not in text
    assert "nothing stored" in text and stored(database) == []
    with ConnectFlow(settings, XERO, company_id=other.tenant_id) as flow:
        result, _ = run_flow(flow)
    assert result.company_id == other.tenant_id  # type: ignore[attr-defined]
    assert [row.company_id for row in stored(database)] == [other.tenant_id]


def test_xero_tenant_id_chooses_among_several(database_url, database, xero) -> None:
    xero.add_organisation("Acme")
    settings = xero_settings(database_url, xero, xero_tenant_id=xero.tenant_id)
    with ConnectFlow(settings, XERO) as flow:
        result, _ = run_flow(flow)
    assert (result.company_id, result.company_name) == (xero.tenant_id, DEMO)  # type: ignore[attr-defined]


def test_an_unknown_or_malformed_tenant_is_refused(database_url, database, xero) -> None:
    settings = xero_settings(database_url, xero)
    with ConnectFlow(settings, XERO, company_id=UNKNOWN) as flow:
        refused, _ = run_flow(flow)
    assert isinstance(refused, ConnectRefused) and UNKNOWN in str(refused)
    assert DEMO in str(refused) and stored(database) == []
    with pytest.raises(ConnectRefused, match="not a Xero tenant id"):
        ConnectFlow(settings, XERO, company_id="Acme")


def test_a_refresh_token_from_elsewhere_is_rotated_stored_and_probed(
    database_url, database, xero
) -> None:
    settings = xero_settings(database_url, xero)
    given = xero.grant().refresh_token
    result = connect_with_refresh_token(settings, XERO, given, xero.tenant_id)
    assert (result.company_id, result.company_name) == (xero.tenant_id, DEMO)
    assert xero.authority.refreshes == 1
    [row] = stored(database)
    latest = SecretBox(SECRET_KEY).open(row.refresh_token_encrypted)
    assert latest != given and latest not in row.refresh_token_encrypted
    xero.advance(GRACE + 1)  # the token given is spent once its grace is over
    with XeroOAuth(settings) as oauth:
        with pytest.raises(RefreshRefused):
            oauth.refresh(given)
        assert oauth.refresh(latest).access_token


def test_a_refresh_token_for_a_tenant_not_connected_stores_nothing(
    database_url, database, xero
) -> None:
    settings = xero_settings(database_url, xero)
    with pytest.raises(ConnectRefused, match="is not connected"):
        connect_with_refresh_token(settings, XERO, xero.grant().refresh_token, UNKNOWN)
    with pytest.raises(ConnectRefused, match="not a Xero tenant id"):
        connect_with_refresh_token(settings, XERO, xero.grant().refresh_token, "12345")
    assert stored(database) == [] and xero.authority.refreshes == 1  # the GUID check is first


def test_connect_refuses_without_a_secret_key(database_url, database, xero) -> None:
    settings = xero_settings(database_url, xero, secret_key=None)
    with pytest.raises(SecretKeyError, match="SYNCBOT_SECRET_KEY"):
        ConnectFlow(settings, XERO)
    with pytest.raises(SecretKeyError):
        connect_with_refresh_token(settings, XERO, xero.grant().refresh_token, xero.tenant_id)
    assert xero.requests_by_route() == {} and stored(database) == []


# -- the console script ------------------------------------------------------------------


def environment(database_url: str, sim: XeroSimulator, **extra: str) -> dict[str, str]:
    """A clean environment for syncbot, connecting to the Xero double."""
    return clean_env() | xero_environment(database_url, sim, free_port()) | extra


def test_syncbot_connect_xero_in_a_browser(database_url, xero, tmp_path) -> None:
    env = environment(database_url, xero, ACCOUNTING_LEDGER="gateway")
    code, out, err, shown = browse_and_finish(["connect", "xero"], env, tmp_path)
    assert (code, shown) == (0, 200), err
    assert f"connected to Xero organisation {DEMO} (tenant id {xero.tenant_id})" in out
    assert "set ACCOUNTING_LEDGER=xero" in err and "XERO_TENANT_ID may stay empty" in err
    assert [row.company_id for row in rows(database_url)] == [xero.tenant_id]
    for text in (out, err):
        assert "RT1-" not in text and "eyJ" not in text and "sim-client-secret" not in text


def test_syncbot_connect_xero_refuses_to_guess_among_several(sqlite_url, xero, tmp_path) -> None:
    other = xero.add_organisation("Acme")
    env = environment(sqlite_url, xero)
    code, out, err, _ = browse_and_finish(["connect", "xero"], env, tmp_path)
    assert code == 1 and out == ""
    [reason] = [line for line in err.splitlines() if line.startswith("syncbot:")]
    assert "--tenant-id" in reason and other.tenant_id in reason and xero.tenant_id in reason
    assert rows(sqlite_url) == []
    args = ["connect", "xero", "--tenant-id", other.tenant_id]
    code, out, err, _ = browse_and_finish(args, env, tmp_path)
    assert code == 0 and f"Acme (tenant id {other.tenant_id})" in out, err


def test_syncbot_connect_xero_headless_with_json(database_url, xero, tmp_path) -> None:
    env = environment(database_url, xero, XERO_TENANT_ID=xero.tenant_id)
    given = xero.grant().refresh_token
    args = ["connect", "xero", "--refresh-token", "-", "--tenant-id", xero.tenant_id, "--json"]
    ran = run(args, env, tmp_path, stdin=given + "\n")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == connected_json("xero", xero.tenant_id, DEMO)
    assert given not in ran.stdout + ran.stderr and ran.stderr == ""
    half = run(["connect", "xero", "--refresh-token", given], env, tmp_path)
    assert half.returncode == 2 and "--tenant-id" in half.stderr


def test_syncbot_connect_xero_refuses_without_a_secret_key(sqlite_url, xero, tmp_path) -> None:
    ran = run(["connect", "xero"], environment(sqlite_url, xero, SYNCBOT_SECRET_KEY=""), tmp_path)
    assert ran.returncode == 1 and "SYNCBOT_SECRET_KEY" in ran.stderr
    assert xero.requests_by_route() == {}
