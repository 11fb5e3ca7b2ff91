"""End to end: the `syncbot` console script run as subprocesses, on a SQLite file, against
`syncbot gateway-sim` running in its own process (the harness: tests/integration/cli_harness.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.cli_harness import (
    ATTEMPT_KEYS,
    ERROR_CLASSES,
    FAILED_KEYS,
    JSON_COMMANDS,
    RETRY_EVENT_KEYS,
    RETRY_KEYS,
    STATES,
    STATUS_KEYS,
    USER,
    VALIDATION_404,
    Cli,
    Gateway,
    arrange,
    cli,
    engine_on,
    fresh_gateway,
    gateway,
    ids,
    record,
    utc,
)

__all__ = ["cli", "fresh_gateway", "gateway"]  # fixtures, used by name


# -- schema and import ----------------------------------------------------------------------


def test_db_upgrade_on_a_fresh_file_then_status_json(cli: Cli) -> None:
    assert not cli.db_file.exists()
    ran = cli("db", "upgrade").expect(0)
    assert re.search(r"revision \S+", ran.out), ran.out
    assert cli.db_file.is_file()

    data = cli("status", "--json").expect(0).json()
    assert set(data) == STATUS_KEYS
    assert data["by_state"] == dict.fromkeys(STATES, 0)
    assert data["by_error_class"] == dict.fromkeys(ERROR_CLASSES, 0)
    assert data["parked"] == 0
    assert data["last_success_at"] is None
    assert data["last_gateway_answer"] is None
    assert data["last_gateway_answer_at"] is None


def test_import_json_array_json_lines_and_csv(cli: Cli) -> None:
    json_file = cli.write_json(
        "approved.json",
        [
            record("RMB-0001"),
            record(
                "HON-0002",
                "VOL-12",
                "250",
                approved_by="Finance lead",
                account_code="6100",
                memo="keynote",
            ),
        ],
    )
    jsonl_file = cli.write_jsonl("approved.jsonl", [record("RMB-0003"), record("RMB-0004")])
    csv_file = cli.write_csv(
        "approved.csv",
        [record("RMB-0005", "VOL-13", "7.5", memo="bus"), record("HON-0006", amount="80.00")],
    )
    as_array, as_lines, as_csv = cli.together(
        ["import", str(json_file), "--json"],
        ["import", str(jsonl_file), "--json"],
        ["import", str(csv_file)],
    )
    fresh = {"imported": 2, "duplicates": [], "corrected": [], "unchanged": []}
    assert as_array.expect(0).json() == fresh
    assert as_lines.expect(0).json() == fresh
    assert as_csv.expect(0).out.strip() == "imported 2 record(s)"

    mixed = cli.write_json("mixed.json", [record("RMB-0001"), record("RMB-0007")])
    again, partly = cli.together(
        ["import", str(json_file), "--json"], ["import", str(mixed), "--json"]
    )
    assert again.expect(0).json() == {
        "imported": 0,
        "duplicates": ["RMB-0001", "HON-0002"],
        "corrected": [],
        "unchanged": [],
    }
    # Known rows are skipped as duplicates while the new ones import.
    assert partly.expect(0).json()["imported"] == 1
    assert partly.json()["duplicates"] == ["RMB-0001"]

    status, honorarium = cli.together(["status", "--json"], ["history", "HON-0002", "--json"])
    assert status.expect(0).json()["by_state"] == dict.fromkeys(STATES, 0) | {"pending": 7}
    hon = honorarium.expect(0).json()
    assert (hon["kind"], hon["payee_id"], hon["payee_name"]) == (
        "honorarium",
        "VOL-12",
        "Volunteer VOL-12",
    )
    assert (hon["amount"], hon["currency"], hon["state"]) == ("250.00", "USD", "pending")
    assert hon["attempts"] == [] and hon["retry_events"] == []
    assert hon["sync_log"]["state"] == "pending"


def test_a_file_with_bad_rows_imports_nothing_and_names_line_and_field(cli: Cli) -> None:
    good = [record(f"RMB-001{n}") for n in range(4)]
    bad = [dict(row) for row in good]
    bad[0]["amount"] = "12.345"
    bad[1]["kind"] = "gift"
    del bad[2]["description"]
    path = cli.write_jsonl("bad.jsonl", bad)  # the fourth row is valid

    text, as_json = cli.together(["import", str(path)], ["import", str(path), "--json"])
    text.expect(2)
    assert text.out == ""
    err = text.err.strip().splitlines()
    assert len(err) == 4
    assert err[0].strip().startswith("line 1, amount:") and "12.345" in err[0]
    assert err[1].strip().startswith("line 2, kind:") and "gift" in err[1]
    assert err[2].strip().startswith("line 3, description:")
    assert err[3].startswith("syncbot: ") and "nothing was imported" in err[3]
    answer = as_json.expect(2).json()
    assert answer["imported"] == 0
    problems = [(p["line"], p["field"]) for p in answer["problems"]]
    assert problems == [(1, "amount"), (2, "kind"), (3, "description")]
    assert all(p["message"] for p in answer["problems"])

    status = cli("status", "--json").expect(0).json()
    assert sum(status["by_state"].values()) == 0
    fixed = cli("import", str(cli.write_jsonl("good.jsonl", good)), "--json").expect(0).json()
    assert fixed["imported"] == 4 and fixed["duplicates"] == []  # not even the valid row stayed


# -- sync and the failed queue ---------------------------------------------------------------


@pytest.fixture
def first_sync(cli: Cli, gateway: Gateway) -> dict[str, Any]:
    """Four records synced once by the CLI: RMB-0001 booked, HON-0002 and RMB-0004 refused
    (unknown payee), RMB-0003 met a 503; the sync's JSON answer."""
    path = cli.write_json(
        "approved.json",
        [
            record("RMB-0001"),
            record("HON-0002", "VOL-404", "100.00"),
            record("RMB-0003", "VOL-12", "7.05"),
            record("RMB-0004", "VOL-404", "12.30"),
        ],
    )
    with engine_on(cli) as engine:
        assert engine.import_file(path, by="arrange").imported == 4
    gateway.add_faults(VALIDATION_404, {"kind": "unavailable", "source_ids": ["RMB-0003"]})
    return cli("sync", "--json", env=ONE_PER_REQUEST).expect(1).json()


# One posting per request, so the 503 aimed at RMB-0003 spares the others.
ONE_PER_REQUEST = {"ACCOUNTING_GATEWAY_BATCH_SIZE": "1", "SYNCBOT_BACKOFF_BASE_SECONDS": "1.5"}


def test_sync_json_names_what_was_booked_and_what_failed(first_sync: dict[str, Any]) -> None:
    ran = first_sync
    assert set(ran) == {"initial", "retries", "recovered_leases", "outage", "held_back", "paused"}
    assert ran["outage"] is None and ran["held_back"] == 0
    initial = ran["initial"]
    assert set(initial) == RETRY_KEYS and initial["retry_event_id"] is None
    assert ids(initial["succeeded"]) == ["RMB-0001"]
    assert initial["succeeded"][0]["accounting_ref"]
    assert sorted(ids(initial["failed"])) == ["HON-0002", "RMB-0003", "RMB-0004"]


def test_failed_json_lists_each_failure_oldest_first_with_its_details(
    cli: Cli, first_sync: dict[str, Any]
) -> None:
    rows = cli("failed", "--json").expect(0).json()
    assert ids(rows) == ["HON-0002", "RMB-0003", "RMB-0004"]  # oldest first
    by_id = {row["source_id"]: row for row in rows}
    for row in rows:
        assert set(row) >= FAILED_KEYS, row
        assert isinstance(row["amount"], str) and isinstance(row["retry_count"], int)
        assert isinstance(row["errors"], list) and row["errors"]
        assert row["errors"][-1] == row["last_error"]
    hon = by_id["HON-0002"]
    assert (hon["kind"], hon["payee_id"], hon["payee_name"]) == (
        "honorarium",
        "VOL-404",
        "Volunteer VOL-404",
    )
    assert (hon["amount"], hon["currency"]) == ("100.00", "USD")
    assert hon["error_class"] == "needs_attention"
    assert "VOL-404" in hon["last_error"] and hon["errors"] == [hon["last_error"]]
    assert hon["retry_count"] == 0 and hon["next_attempt_at"] is None
    assert by_id["RMB-0004"]["amount"] == "12.30"
    slow = by_id["RMB-0003"]
    assert (slow["amount"], slow["error_class"]) == ("7.05", "transient")
    assert "503" in slow["last_error"]
    utc(slow["next_attempt_at"])
    # If the first sync happened to find its own backoff due at once, it retried once already.
    assert slow["retry_count"] in (0, 1) and len(slow["errors"]) == slow["retry_count"] + 1


def test_failed_json_filters_by_error_class_and_kind(cli: Cli, first_sync: dict[str, Any]) -> None:
    transient, stuck = cli.together(
        ["failed", "--error-class", "transient", "--json"],
        ["failed", "--kind", "reimbursement", "--error-class", "needs_attention", "--json"],
    )
    assert ids(transient.expect(0).json()) == ["RMB-0003"]
    assert ids(stuck.expect(0).json()) == ["RMB-0004"]


def sync_once_the_ledger_is_back(cli: Cli, gateway: Gateway) -> dict[str, Any]:
    """Fix the ledger, wait until RMB-0003's backoff is due, sync again; its JSON answer."""
    [slow] = cli("failed", "--error-class", "transient", "--json").expect(0).json()
    next_try = utc(slow["next_attempt_at"])
    gateway.fix(kind="unavailable")
    time.sleep(max(0.0, (next_try + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()))
    return cli("sync", "--json", env=ONE_PER_REQUEST).expect(0).json()


def test_the_next_sync_retries_a_due_transient_failure_on_its_own(
    cli: Cli, gateway: Gateway, first_sync: dict[str, Any]
) -> None:
    # needs_attention records wait for a person.
    again = sync_once_the_ledger_is_back(cli, gateway)
    assert again["initial"]["succeeded"] == [] and again["initial"]["failed"] == []
    event = again["retries"]["retry_event_id"]
    assert isinstance(event, int)
    assert ids(again["retries"]["succeeded"]) == ["RMB-0003"]
    assert again["retries"]["failed"] == []


def test_history_json_shows_the_failure_then_the_automatic_success(
    cli: Cli, gateway: Gateway, first_sync: dict[str, Any]
) -> None:
    event = sync_once_the_ledger_is_back(cli, gateway)["retries"]["retry_event_id"]
    history = cli("history", "RMB-0003", "--json").expect(0).json()
    assert history["state"] == "succeeded"
    assert history["sync_log"]["state"] == "succeeded"
    assert history["sync_log"]["retry_event_id"] == event
    first, last = history["attempts"][0], history["attempts"][-1]
    assert (first["trigger"], first["outcome"], first["error_class"]) == (
        "initial",
        "failed",
        "transient",
    )
    assert (last["trigger"], last["outcome"], last["retry_event_id"]) == (
        "auto",
        "succeeded",
        event,
    )
    assert {(e["kind"], e["via"], e["requested_by"]) for e in history["retry_events"]} == {
        ("auto", "cli", USER)
    }


# -- retry -----------------------------------------------------------------------------------


@pytest.fixture
def two_refused(cli: Cli, gateway: Gateway) -> dict[str, Any]:
    """RMB-0001 and HON-0002, both refused (unknown payee); the gateway's stats after."""
    arrange(cli, [record("RMB-0001", "VOL-404"), record("HON-0002", "VOL-404")], VALIDATION_404)
    return gateway.stats()


def test_retry_refuses_unknown_or_missing_ids_and_sends_nothing(
    cli: Cli, gateway: Gateway, two_refused: dict[str, Any]
) -> None:
    unknown, no_ids, both = cli.together(
        ["retry", "NOPE-9", "RMB-0001", "--json"], ["retry"], ["retry", "--all", "RMB-0001"]
    )
    assert "NOPE-9" in unknown.expect(2).reason() and "RMB-0001" not in unknown.reason()
    assert unknown.out == ""
    no_ids.expect(2).reason()
    both.expect(2).reason()
    assert gateway.stats() == two_refused  # nothing was sent, not even RMB-0001


def retry_one(cli: Cli, gateway: Gateway) -> dict[str, Any]:
    """The ledger knows the payee now: `retry RMB-0001 --json`, its answer."""
    gateway.fix(kind="validation")
    return cli("retry", "RMB-0001", "--json").expect(0).json()


def test_retry_of_one_id_books_that_record_alone(
    cli: Cli, gateway: Gateway, two_refused: dict[str, Any]
) -> None:
    answer = retry_one(cli, gateway)
    assert set(answer) == RETRY_KEYS
    assert isinstance(answer["retry_event_id"], int)
    assert ids(answer["succeeded"]) == ["RMB-0001"]
    ref = answer["succeeded"][0]["accounting_ref"]
    assert isinstance(ref, str) and ref
    assert answer["failed"] == [] and answer["skipped"] == []
    after = gateway.stats(keys=True)
    assert after["bookings"] == 1 and after["duplicate_bookings"] == 0  # HON-0002 stayed put


def test_history_json_shows_the_refusal_then_the_manual_retry(
    cli: Cli, gateway: Gateway, two_refused: dict[str, Any]
) -> None:
    answer = retry_one(cli, gateway)
    event, ref = answer["retry_event_id"], answer["succeeded"][0]["accounting_ref"]
    data = cli("history", "RMB-0001", "--json").expect(0).json()
    assert (data["source_id"], data["state"], data["accounting_ref"]) == (
        "RMB-0001",
        "succeeded",
        ref,
    )
    assert data["retry_count"] == 1
    assert set(data["sync_log"]) == {"state", "retry_event_id", "updated_at"}
    assert data["sync_log"]["state"] == "succeeded"
    assert data["sync_log"]["retry_event_id"] == event
    utc(data["sync_log"]["updated_at"])
    first, second = data["attempts"]
    for attempt in data["attempts"]:
        assert set(attempt) >= ATTEMPT_KEYS
        utc(attempt["at"])
    assert (first["trigger"], first["outcome"], first["error_class"]) == (
        "initial",
        "failed",
        "needs_attention",
    )
    assert "VOL-404" in first["error"] and first["retry_event_id"] is None
    assert (second["trigger"], second["outcome"], second["retry_event_id"]) == (
        "manual",
        "succeeded",
        event,
    )
    assert second["error"] is None and second["error_class"] is None
    [retry_event] = data["retry_events"]
    assert set(retry_event) >= RETRY_EVENT_KEYS
    assert (retry_event["id"], retry_event["kind"]) == (event, "selected")
    assert (retry_event["via"], retry_event["requested_by"]) == ("cli", USER)
    utc(retry_event["at"])


def test_history_of_an_unknown_id_exits_2_naming_it(cli: Cli) -> None:
    assert "NOPE-9" in cli("history", "NOPE-9", "--json").expect(2).reason()


def test_retry_all_is_one_event_and_exits_1_while_some_fail(cli: Cli, gateway: Gateway) -> None:
    arrange(
        cli,
        [record("RMB-0001", "VOL-404"), record("RMB-0002", "VOL-404"), record("HON-0003")],
        VALIDATION_404,
        {"kind": "validation", "source_ids": ["HON-0003"]},
    )
    gateway.fix(source_id="HON-0003")  # its ledger problem is fixed; VOL-404 is still unknown

    some = cli("retry", "--all", "--json").expect(1).json()
    assert set(some) == RETRY_KEYS
    first_event = some["retry_event_id"]
    assert isinstance(first_event, int)
    assert ids(some["succeeded"]) == ["HON-0003"]
    assert sorted(ids(some["failed"])) == ["RMB-0001", "RMB-0002"]
    for failed in some["failed"]:
        assert {"source_id", "error", "error_class", "retry_count"} <= set(failed)
        assert "validation_failed" in failed["error"] and "VOL-404" in failed["error"]
        assert failed["error_class"] == "needs_attention"
        assert failed["retry_count"] == 1
    assert some["skipped"] == []

    gateway.fix(kind="validation")
    rest = cli("retry", "--all", "--json").expect(0).json()
    assert rest["retry_event_id"] not in (None, first_event)
    assert sorted(ids(rest["succeeded"])) == ["RMB-0001", "RMB-0002"]
    assert rest["failed"] == [] and rest["skipped"] == []
    stats = gateway.stats()
    assert stats["bookings"] == 3 and stats["duplicate_bookings"] == 0

    history = cli("history", "RMB-0002", "--json").expect(0).json()
    assert [(e["id"], e["kind"], e["via"]) for e in history["retry_events"]] == [
        (first_event, "all", "cli"),
        (rest["retry_event_id"], "all", "cli"),
    ]
    assert [a["trigger"] for a in history["attempts"]] == ["initial", "manual", "manual"]
    assert history["retry_count"] == 2


# -- resolve and status ----------------------------------------------------------------------


def test_resolve_by_hand_or_found_booked(cli: Cli, gateway: Gateway) -> None:
    # RMB-0002's answer comes after the engine gave up waiting, and its lookup came too early
    # to see the booking: the ledger holds it while the engine lists it as failed.
    result = arrange(
        cli,
        [record("RMB-0001", "VOL-404"), record("RMB-0002")],
        VALIDATION_404,
        {"kind": "slow", "seconds": 1.5, "source_ids": ["RMB-0002"]},
        batch_size=1,
        timeout_seconds=0.5,
    )
    assert sorted(f.source_id for f in result.initial.failed) == ["RMB-0001", "RMB-0002"]
    deadline = time.monotonic() + 10
    while not (booked := gateway.stats(keys=True)["booking_counts"]):
        assert time.monotonic() < deadline, "the slow posting was never booked"
        time.sleep(0.05)
    [key] = booked
    ledger_ref = gateway.booking_id(key)

    by_hand, found = cli.together(
        ["resolve", "RMB-0001", "--reason", "booked by hand", "--json"],
        ["resolve", "RMB-0002", "--reason", "booked by hand", "--json"],
    )
    assert by_hand.expect(0).json() == {
        "source_id": "RMB-0001",
        "state": "resolved",
        "accounting_ref": None,
    }
    assert found.expect(0).json() == {
        "source_id": "RMB-0002",
        "state": "succeeded",
        "accounting_ref": ledger_ref,
    }

    status, missing = cli.together(
        ["status", "--json"], ["resolve", "NOPE-9", "--reason", "booked by hand", "--json"]
    )
    data = status.expect(0).json()
    assert set(data) == STATUS_KEYS
    assert data["by_state"] == dict.fromkeys(STATES, 0) | {"resolved": 1, "succeeded": 1}
    assert data["by_error_class"] == dict.fromkeys(ERROR_CLASSES, 0)
    assert data["parked"] == 0
    assert "NOPE-9" in missing.expect(2).reason()
    assert gateway.stats()["bookings"] == 1  # resolving never posts


def test_bad_settings_exit_2_naming_each_variable(cli: Cli, gateway: Gateway) -> None:
    dotenv = cli.folder / "with-dotenv"
    dotenv.mkdir()
    (dotenv / ".env").write_text("SYNCBOT_MAX_AUTO_ATTEMPTS=many\n", encoding="utf-8")
    several = {
        "ACCOUNTING_GATEWAY_CONCURRENCY": "0",
        "ACCOUNTING_GATEWAY_TIMEOUT_SECONDS": "-1",
        "SYNCBOT_LEASE_SECONDS": "soon",
    }
    fractions = {
        "SYNCBOT_BACKOFF_BASE_SECONDS": "0.25",
        "SYNCBOT_LEASE_SECONDS": "1.5",
        "ACCOUNTING_GATEWAY_TIMEOUT_SECONDS": "2.5",
        "ACCOUNTING_GATEWAY_RATE_PER_MINUTE": "0",
        "ACCOUNTING_GATEWAY_BATCH_SIZE": "1",
    }
    runs = [
        (["sync", "--json"], {"ACCOUNTING_GATEWAY_BATCH_SIZE": "abc"}, None),
        (["failed", "--json"], several, None),
        (["status", "--json"], {}, dotenv),  # `.env` in the working directory is read too
        (["status", "--json"], fractions, None),
    ]
    started = [(args, cli.start(args, env, cwd)) for args, env, cwd in runs]
    sync, failed, from_dotenv, fine = (cli.finish(args, proc) for args, proc in started)

    assert "ACCOUNTING_GATEWAY_BATCH_SIZE" in sync.expect(2).reason()
    reason = failed.expect(2).reason()
    assert all(variable in reason for variable in several), reason
    assert "SYNCBOT_MAX_AUTO_ATTEMPTS" in from_dotenv.expect(2).reason()
    assert sync.out == failed.out == from_dotenv.out == ""
    assert fine.expect(0).json()["parked"] == 0  # fractions of a second are fine
    assert gateway.stats()["requests"] == 0


def test_bad_options_and_arguments_exit_2_with_a_one_line_reason(
    cli: Cli, gateway: Gateway
) -> None:
    faults = cli.write_json("faults.json", [{"kind": "no_such_fault"}])
    expected = {
        ("failed", "--kind", "gift", "--json"): "--kind",
        ("failed", "--error-class", "bogus", "--json"): "--error-class",
        ("retry", "--everything"): "--everything",
        ("history",): "SOURCE_ID",
        ("resolve", "RMB-0001", "--json"): "--reason",
        ("no-such-command",): "no-such-command",
        ("gateway-sim", "--port", "0", "--faults", str(faults)): "no_such_fault",
    }
    runs = cli.together(*expected)
    for ran, fragment in zip(runs, expected.values(), strict=True):
        assert fragment in ran.expect(2).reason()
        assert ran.out == ""
    assert gateway.stats()["requests"] == 0


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["db"],
        ["db", "upgrade"],
        ["import"],
        ["sync"],
        ["failed"],
        ["retry"],
        ["resolve"],
        ["history"],
        ["status"],
        ["gateway-sim"],
        ["demo"],
    ],
    ids=lambda command: " ".join(command) or "syncbot",
)
def test_help_works_for_every_command(cli: Cli, command: list[str]) -> None:
    ran = cli(*command, "--help").expect(0)
    assert ran.out.startswith("Usage: syncbot")
    if command and command[0] in JSON_COMMANDS:
        assert "--json" in ran.out


def test_demo_runs_offline_and_books_no_key_twice(cli: Cli) -> None:
    ran = cli("demo").expect(0)
    assert re.search(r"keys booked twice: 0\b", ran.out), ran.out[-2000:]


def test_an_outage_is_shown_by_sync_and_status_and_warned_on_a_manual_retry(
    cli: Cli, gateway: Gateway
) -> None:
    rows = [record(f"RMB-{n:04d}") for n in range(1, 7)]
    result = arrange(cli, rows, {"kind": "auth"}, batch_size=1)
    assert result.outage is not None  # an auth failure pauses automatic sends at once

    before = gateway.stats()["requests"]
    paused, plain = cli.together(["sync", "--json"], ["sync"])
    answer = paused.expect(0).json()
    assert answer["outage"]["reason"].startswith("credentials refused")
    assert answer["initial"]["succeeded"] == [] and answer["initial"]["failed"] == []
    with engine_on(cli) as engine:
        held = engine.status().by_state["pending"]
    assert held > 0 and answer["held_back"] == held
    # In words, not as an empty table of first postings.
    assert f"held back {held} record(s)" in plain.expect(0).out
    assert "First postings" not in plain.out and "gateway: DOWN since" in plain.out
    assert gateway.stats()["requests"] == before  # held back: nothing was sent
    status = cli("status").expect(0)
    assert "gateway: DOWN since" in status.out and "credentials refused" in status.out
    assert cli("status", "--json").expect(0).json()["outage"]["probes"] == 0

    refused = cli("retry", "RMB-0001", "--json").expect(1)  # manual retries still send
    assert refused.err.startswith("warning: gateway: DOWN since")
    gateway.fix(kind="auth")
    retried = cli("retry", "RMB-0002", "--json").expect(0)
    assert ids(retried.json()["succeeded"]) == ["RMB-0002"]
    # The gateway's answer ended the outage: no warning, and the rest go out with a sync.
    assert retried.err == ""
    assert cli("status", "--json").expect(0).json()["outage"] is None


UNUSED_BY_QUERIES = ("alembic", "sync_engine.engine", "sync_engine.sender", "prometheus_client")
LOADED = """
import atexit, sys
heavy = sys.argv.pop(1).split(",")
atexit.register(lambda: print(",".join(m for m in heavy if m in sys.modules), file=sys.stderr))
from bot.cli import main
main(sys.argv[1:], prog_name="syncbot")
"""


def test_query_commands_load_no_migrations_and_no_sending_machinery(cli: Cli) -> None:
    arrange(cli, [record("RMB-0001", "VOL-404")], VALIDATION_404)
    heavy = ",".join(UNUSED_BY_QUERIES)
    runs = [["status"], ["failed"], ["history", "RMB-0001", "--json"], ["failed", "--json"]]
    started = [
        subprocess.Popen(
            [sys.executable, "-c", LOADED, heavy, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=cli.env,
            cwd=cli.folder,
        )
        for args in runs
    ]
    status, listed, history, as_json = (
        Cli.finish(args, p) for args, p in zip(runs, started, strict=True)
    )
    for ran in (status, listed, history, as_json):
        assert ran.expect(0).err.strip() == "", f"loaded: {ran.err}"  # none of the heavy ones
    assert "failed 1" in status.out and "RMB-0001" in listed.out
    assert history.json()["source_id"] == "RMB-0001" and ids(as_json.json()) == ["RMB-0001"]
