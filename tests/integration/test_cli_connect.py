"""`syncbot connect quickbooks` as the real console script, against the QuickBooks double:
the browser's redirect is a real HTTP request to the command's listener."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from sync_engine.quickbooks_sim import QuickBooksSimulator
from tests.integration.cli_harness import SYNCBOT, clean_env
from tests.integration.connect_support import (
    browse_and_finish,
    connected_json,
    free_port,
    rows,
    run,
)
from tests.integration.qbo_connect_support import qbo_environment

NAME = "Sandbox Company_US_1"


@pytest.fixture
def qbo() -> Iterator[QuickBooksSimulator]:
    """The QuickBooks double."""
    with QuickBooksSimulator() as sim:
        yield sim


def environment(database_url: str, sim: QuickBooksSimulator, **extra: str) -> dict[str, str]:
    """A clean environment for syncbot, connecting to the double."""
    return clean_env() | qbo_environment(database_url, sim, free_port()) | extra


def test_the_code_flow_connects_and_prints_the_company(database_url, qbo, tmp_path) -> None:
    env = environment(database_url, qbo)
    code, out, err, shown = browse_and_finish(["connect", "quickbooks"], env, tmp_path)
    assert (code, shown) == (0, 200), err
    assert f"connected to QuickBooks company {NAME} (realm id {qbo.realm_id})" in out
    assert "QBO_REALM_ID may stay empty while this is the only QuickBooks company" in err
    [row] = rows(database_url)
    assert (row.company_id, row.company_name, row.state) == (qbo.realm_id, NAME, "connected")
    for text in (out, err):
        assert "RT1-" not in text and "eyJ" not in text and "sim-client-secret" not in text


def test_a_forged_state_exits_non_zero_in_one_line_storing_nothing(
    database_url, qbo, tmp_path
) -> None:
    env = environment(database_url, qbo)
    code, out, err, _ = browse_and_finish(["connect", "quickbooks"], env, tmp_path, state="x")
    assert code == 1 and out == ""
    [reason] = [line for line in err.splitlines() if line.startswith("syncbot:")]
    assert "state does not match" in reason
    assert rows(database_url) == []


def test_a_refused_code_exits_non_zero_storing_nothing(sqlite_url, qbo, tmp_path) -> None:
    env = environment(sqlite_url, qbo)
    code, _, err, _ = browse_and_finish(["connect", "quickbooks"], env, tmp_path, code="AB11-never")
    assert code == 1 and "invalid_grant" in err.splitlines()[-1] and "AB11-never" not in err
    assert rows(sqlite_url) == []


def test_a_refresh_token_connects_headless_with_json(database_url, qbo, tmp_path) -> None:
    env = environment(database_url, qbo, QBO_REALM_ID=qbo.realm_id)
    given = qbo.grant().refresh_token
    ran = run(
        ["connect", "quickbooks", "--refresh-token", given, "--realm-id", qbo.realm_id, "--json"],
        env,
        tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == connected_json("quickbooks", qbo.realm_id, NAME)
    assert given not in ran.stdout + ran.stderr and qbo.authority.refreshes == 1
    assert [row.company_name for row in rows(database_url)] == [NAME]


def test_a_dead_refresh_token_or_a_wrong_realm_is_one_line(sqlite_url, qbo, tmp_path) -> None:
    env = environment(sqlite_url, qbo)
    dead = run(
        ["connect", "quickbooks", "--refresh-token", "RT1-dead", "--realm-id", qbo.realm_id],
        env,
        tmp_path,
    )
    given = qbo.grant().refresh_token
    wrong = run(
        ["connect", "quickbooks", "--refresh-token", given, "--realm-id", "55"], env, tmp_path
    )
    for ran in (dead, wrong):
        assert ran.returncode == 1 and ran.stdout == ""
        assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "invalid_grant" in dead.stderr and "RT1-dead" not in dead.stderr
    assert "nothing stored" in wrong.stderr and given not in wrong.stderr
    assert rows(sqlite_url) == []


def test_connect_refuses_without_a_secret_key(sqlite_url, qbo, tmp_path) -> None:
    env = environment(sqlite_url, qbo, SYNCBOT_SECRET_KEY="")
    ran = run(["connect", "quickbooks"], env, tmp_path)
    assert ran.returncode == 1 and ran.stdout == ""
    assert "SYNCBOT_SECRET_KEY" in ran.stderr and "Fernet.generate_key()" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert qbo.requests_by_route() == {}


def test_half_the_headless_options_is_bad_input(sqlite_url, qbo, tmp_path) -> None:
    ran = run(["connect", "quickbooks", "--realm-id", "1"], environment(sqlite_url, qbo), tmp_path)
    assert ran.returncode == 2 and "--refresh-token" in ran.stderr


def test_the_refresh_token_can_come_on_stdin_kept_out_of_the_process_list(
    sqlite_url, qbo, tmp_path
) -> None:
    env = environment(sqlite_url, qbo)
    given = qbo.grant().refresh_token
    ran = subprocess.run(
        [str(SYNCBOT), "connect", "quickbooks", "--refresh-token", "-", "--realm-id", qbo.realm_id],
        env=env,
        cwd=tmp_path,
        input=given + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"connected to QuickBooks company {NAME}" in ran.stdout
    assert given not in ran.stdout + ran.stderr
    assert [row.company_id for row in rows(sqlite_url)] == [qbo.realm_id]
