"""End to end: the `syncbot` console script run as subprocesses, on a SQLite file, against
`syncbot gateway-sim` running in its own process.

Every command under test runs as the real console script. Where a test only needs records in
some state first, it arranges them with an in-process `SyncEngine` on the same database and
simulator (each CLI start costs over a second, mostly imports); what it checks always goes
through the console script. Independent commands run side by side to keep the file quick.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

SYNCBOT = Path(sys.executable).with_name("syncbot")
TOKEN = "cli-test-token"
USER = "cli-tester"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")
STATES = ("pending", "syncing", "succeeded", "failed", "resolved")
ERROR_CLASSES = ("transient", "needs_attention", "auth")
FAILED_KEYS = {
    "source_id",
    "kind",
    "payee_id",
    "payee_name",
    "amount",
    "currency",
    "error_class",
    "last_error",
    "errors",
    "retry_count",
    "next_attempt_at",
}
JSON_COMMANDS = {"import", "sync", "failed", "retry", "resolve", "history", "status"}
RETRY_KEYS = {"retry_event_id", "succeeded", "failed", "skipped"}
ATTEMPT_KEYS = {"at", "trigger", "outcome", "error", "error_class", "retry_event_id"}
RETRY_EVENT_KEYS = {"id", "kind", "requested_by", "via", "at"}
STATUS_KEYS = {
    "by_state",
    "by_error_class",
    "parked",
    "last_success_at",
    "outage",
    "last_gateway_answer",
    "last_gateway_answer_at",
}
# Settings a developer's shell might carry; the tests set their own.
OUR_PREFIXES = ("SYNCBOT_", "ACCOUNTING_GATEWAY_")
PROXIES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


# -- the simulator in its own process --------------------------------------------------------


class Gateway:
    """A `syncbot gateway-sim` process, driven through its admin endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """One JSON request; the answer's JSON body."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        with self._opener.open(request, timeout=10) as answer:
            return json.loads(answer.read())

    def stats(self, keys: bool = False) -> dict[str, Any]:
        """Requests, bookings and duplicate bookings so far (with `keys`, counts per key)."""
        return self.call("GET", "/_sim/stats?keys=1" if keys else "/_sim/stats")  # type: ignore[no-any-return]

    def add_faults(self, *faults: dict[str, Any]) -> None:
        """Inject faults."""
        self.call("POST", "/_sim/faults", list(faults))

    def fix(self, **what: str) -> None:
        """Remove faults: all of them, those of a `kind`, or those aimed at a `source_id`."""
        self.call("POST", "/_sim/fix", what)

    def reset(self) -> None:
        """Forget bookings, requests and faults."""
        self.call("POST", "/_sim/reset", {})

    def booking_id(self, key: str) -> str:
        """The ledger's id for what was booked under `key` (the contract's lookup)."""
        return self.call("GET", f"/v1/postings/{key}", token=TOKEN)["id"]  # type: ignore[no-any-return]


def clean_env() -> dict[str, str]:
    """This process's environment without syncbot settings or proxies, as user USER."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(OUR_PREFIXES) and k.lower() not in PROXIES
    }
    env |= {"LOGNAME": USER, "USER": USER, "COLUMNS": "200"}
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`syncbot gateway-sim` on a free port, with a token and a little latency."""
    folder = tmp_path_factory.mktemp("gateway")
    log = folder / "gateway-sim.log"
    port = free_port()
    command = [str(SYNCBOT), "gateway-sim", "--port", str(port), "--latency-ms", "2"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, "--token", TOKEN],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
            cwd=folder,
        )
    sim = Gateway(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gateway-sim exited with {proc.returncode}:\n{log.read_text()}")
            try:
                sim.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gateway-sim did not answer in 30 s:\n{log.read_text()}")
                time.sleep(0.05)
        yield sim
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(autouse=True)
def fresh_gateway(gateway: Gateway) -> Gateway:
    """Each test starts with no bookings, requests or faults."""
    gateway.reset()
    return gateway


# -- the console script ----------------------------------------------------------------------


@dataclass
class Ran:
    """One finished `syncbot` run."""

    args: list[str]
    code: int
    out: str
    err: str

    def expect(self, code: int) -> Ran:
        """Assert the exit code, showing the output if it is not `code`."""
        assert self.code == code, (
            f"syncbot {' '.join(self.args)} exited {self.code}, expected {code}\n"
            f"stdout:\n{self.out}\nstderr:\n{self.err}"
        )
        return self

    def json(self) -> Any:
        """stdout as JSON."""
        return json.loads(self.out)

    def reason(self) -> str:
        """The one-line reason on stderr."""
        lines = self.err.strip().splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got:\n{self.err}"
        assert lines[0].startswith("syncbot: "), lines[0]
        return lines[0]


class Cli:
    """Runs `syncbot` with its settings pointing at a tmp_path database and the simulator."""

    def __init__(self, folder: Path, gateway: Gateway) -> None:
        self.folder = folder
        self.gateway = gateway
        self.db_file = folder / "syncbot.db"
        self.database_url = f"sqlite:///{self.db_file}"
        self.env = clean_env() | {
            "SYNCBOT_DATABASE_URL": self.database_url,
            "ACCOUNTING_GATEWAY_URL": gateway.url,
            "ACCOUNTING_GATEWAY_TOKEN": TOKEN,
            "ACCOUNTING_GATEWAY_TIMEOUT_SECONDS": "5",
        }

    def start(
        self, args: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[str]:
        """Start one run; cwd is tmp_path unless given, so no stray `.env` is read."""
        return subprocess.Popen(
            [str(SYNCBOT), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env | (env or {}),
            cwd=cwd or self.folder,
        )

    @staticmethod
    def finish(args: Sequence[str], proc: subprocess.Popen[str]) -> Ran:
        """Wait for a started run."""
        try:
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        return Ran(list(args), proc.returncode, out, err)

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        """Run `syncbot ARGS...` and wait for it."""
        return self.finish(args, self.start(args, env))

    def together(self, *runs: Sequence[str], env: dict[str, str] | None = None) -> list[Ran]:
        """Run independent commands side by side; their results in the same order."""
        started = [(args, self.start(args, env)) for args in runs]
        return [self.finish(args, proc) for args, proc in started]

    def write_json(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """A JSON array file."""
        path = self.folder / name
        path.write_text(json.dumps(rows, indent=1), encoding="utf-8")
        return path

    def write_jsonl(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """A JSON lines file."""
        path = self.folder / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path

    def write_csv(self, name: str, rows: list[dict[str, Any]]) -> Path:
        """A CSV file with flat payee columns and the optional ones."""
        path = self.folder / name
        columns = [
            "source_id",
            "kind",
            "payee_id",
            "payee_name",
            "amount",
            "currency",
            "description",
            "approved_at",
            "approved_by",
            "account_code",
            "memo",
        ]
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            for row in rows:
                flat = {k: v for k, v in row.items() if k != "payee"}
                flat |= {"payee_id": row["payee"]["id"], "payee_name": row["payee"]["name"]}
                writer.writerow(flat)
        return path


@pytest.fixture
def cli(tmp_path: Path, gateway: Gateway) -> Cli:
    """`syncbot` on a fresh SQLite file in tmp_path."""
    return Cli(tmp_path, gateway)


@contextmanager
def engine_on(cli: Cli, **overrides: Any) -> Iterator[Any]:
    """An in-process engine on the CLI's database and simulator, to arrange records quickly."""
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings

    values: dict[str, Any] = {
        "database_url": cli.database_url,
        "gateway_url": cli.gateway.url,
        "gateway_token": TOKEN,
        "timeout_seconds": 5.0,
    }
    engine = SyncEngine(Settings(**(values | overrides)))
    try:
        yield engine
    finally:
        engine.close()
        engine.sessions.kw["bind"].dispose()


def arrange(cli: Cli, rows: list[dict[str, Any]], *faults: dict[str, Any], **settings: Any) -> Any:
    """Import `rows` and sync them once with `faults` injected (in process); the SyncResult."""
    path = cli.write_json("arranged.json", rows)
    cli.gateway.add_faults(*faults)
    with engine_on(cli, **settings) as engine:
        engine.import_file(path, by="arrange")
        return engine.sync(requested_by="arrange", via="cli")


def record(
    source_id: str,
    payee_id: str = "VOL-11",
    amount: str = "42.50",
    kind: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An approved record as an approval system exports it, the payee as an object."""
    kind = kind or ("honorarium" if source_id.startswith("HON") else "reimbursement")
    return {
        "source_id": source_id,
        "kind": kind,
        "payee": {"id": payee_id, "name": f"Volunteer {payee_id}"},
        "amount": amount,
        "currency": "USD",
        "description": f"Food bank drive ({source_id})",
        "approved_at": "2026-11-20T15:04:05Z",
        **extra,
    }


def utc(value: str) -> datetime:
    """Parse an ISO 8601 UTC time from the CLI's JSON."""
    assert isinstance(value, str) and ISO_UTC.match(value), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ids(items: list[dict[str, Any]]) -> list[str]:
    """The source_ids of a list of JSON objects, in order."""
    return [item["source_id"] for item in items]


VALIDATION_404 = {"kind": "validation", "payee_ids": ["VOL-404"]}


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


def test_sync_failures_then_failed_json_and_its_filters(cli: Cli, gateway: Gateway) -> None:
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
    # One posting per request, so the 503 aimed at RMB-0003 spares the others.
    settings = {"ACCOUNTING_GATEWAY_BATCH_SIZE": "1", "SYNCBOT_BACKOFF_BASE_SECONDS": "1.5"}

    ran = cli("sync", "--json", env=settings).expect(1).json()
    assert set(ran) == {"initial", "retries", "recovered_leases", "outage"}
    assert ran["outage"] is None
    initial = ran["initial"]
    assert set(initial) == RETRY_KEYS and initial["retry_event_id"] is None
    assert ids(initial["succeeded"]) == ["RMB-0001"]
    assert initial["succeeded"][0]["accounting_ref"]
    assert sorted(ids(initial["failed"])) == ["HON-0002", "RMB-0003", "RMB-0004"]

    everything, transient, stuck = cli.together(
        ["failed", "--json"],
        ["failed", "--error-class", "transient", "--json"],
        ["failed", "--kind", "reimbursement", "--error-class", "needs_attention", "--json"],
    )
    rows = everything.expect(0).json()
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
    next_try = utc(slow["next_attempt_at"])
    # If the first sync happened to find its own backoff due at once, it retried once already.
    assert slow["retry_count"] in (0, 1) and len(slow["errors"]) == slow["retry_count"] + 1

    assert ids(transient.expect(0).json()) == ["RMB-0003"]
    assert ids(stuck.expect(0).json()) == ["RMB-0004"]

    # The ledger is back: once its backoff is due, the next sync retries RMB-0003 on its own;
    # needs_attention records wait for a person.
    gateway.fix(kind="unavailable")
    time.sleep(max(0.0, (next_try + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()))
    again = cli("sync", "--json", env=settings).expect(0).json()
    assert again["initial"]["succeeded"] == [] and again["initial"]["failed"] == []
    event = again["retries"]["retry_event_id"]
    assert isinstance(event, int)
    assert ids(again["retries"]["succeeded"]) == ["RMB-0003"]
    assert again["retries"]["failed"] == []

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


def test_retry_selected_unknown_ids_and_history(cli: Cli, gateway: Gateway) -> None:
    arrange(cli, [record("RMB-0001", "VOL-404"), record("HON-0002", "VOL-404")], VALIDATION_404)
    before = gateway.stats()

    unknown, no_ids, both = cli.together(
        ["retry", "NOPE-9", "RMB-0001", "--json"], ["retry"], ["retry", "--all", "RMB-0001"]
    )
    assert "NOPE-9" in unknown.expect(2).reason() and "RMB-0001" not in unknown.reason()
    assert unknown.out == ""
    no_ids.expect(2).reason()
    both.expect(2).reason()
    assert gateway.stats() == before  # nothing was sent, not even RMB-0001

    gateway.fix(kind="validation")
    answer = cli("retry", "RMB-0001", "--json").expect(0).json()
    assert set(answer) == RETRY_KEYS
    event = answer["retry_event_id"]
    assert isinstance(event, int)
    assert ids(answer["succeeded"]) == ["RMB-0001"]
    ref = answer["succeeded"][0]["accounting_ref"]
    assert isinstance(ref, str) and ref
    assert answer["failed"] == [] and answer["skipped"] == []
    after = gateway.stats(keys=True)
    assert after["bookings"] == 1 and after["duplicate_bookings"] == 0  # HON-0002 stayed put

    history, missing = cli.together(
        ["history", "RMB-0001", "--json"], ["history", "NOPE-9", "--json"]
    )
    data = history.expect(0).json()
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
    assert "NOPE-9" in missing.expect(2).reason()


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

    paused = cli("sync", "--json").expect(0).json()
    assert paused["outage"]["reason"].startswith("credentials refused")
    assert paused["initial"]["succeeded"] == [] and paused["initial"]["failed"] == []
    status = cli("status").expect(0)
    assert "gateway: DOWN since" in status.out and "credentials refused" in status.out
    assert cli("status", "--json").expect(0).json()["outage"]["probes"] == 0

    gateway.fix(kind="auth")
    retried = cli("retry", "RMB-0002", "--json").expect(0)
    assert ids(retried.json()["succeeded"]) == ["RMB-0002"]  # manual retries still send
    assert retried.err.startswith("warning: gateway: DOWN since")
