"""The harness of the `syncbot` console-script tests: the simulator as its own process, the
command run as a subprocess, records arranged in process.

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
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LongestWait

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
    "ledger",
    "by_state",
    "by_error_class",
    "parked",
    "last_success_at",
    "outage",
    "last_gateway_answer",
    "last_gateway_answer_at",
    "paused",
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

    def __init__(self, folder: Path, gateway: Gateway, database_url: str | None = None) -> None:
        self.folder = folder
        self.gateway = gateway
        self.db_file = folder / "syncbot.db"
        self.database_url = database_url or f"sqlite:///{self.db_file}"
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


@pytest.fixture
def cli_on(tmp_path: Path, gateway: Gateway, database_url: str) -> Cli:
    """`syncbot` on a fresh database of each kind (a SQLite file, a PostgreSQL schema)."""
    return Cli(tmp_path, gateway, database_url)


@contextmanager
def engine_on(cli: Cli, *, rng: Any = None, **overrides: Any) -> Iterator[Any]:
    """An in-process engine on the CLI's database and simulator, to arrange records quickly
    (`rng`: its jitter source, if not a fresh one)."""
    from sync_engine.build import build_engine
    from sync_engine.settings import Settings

    values: dict[str, Any] = {
        "database_url": cli.database_url,
        "gateway_url": cli.gateway.url,
        "gateway_token": TOKEN,
        "timeout_seconds": 5.0,
    }
    options = {} if rng is None else {"rng": rng}
    engine = build_engine(Settings(**(values | overrides)), **options)
    try:
        yield engine
    finally:
        engine.close()


def arrange(cli: Cli, rows: list[dict[str, Any]], *faults: dict[str, Any], **settings: Any) -> Any:
    """Import `rows` and sync them once with `faults` injected (in process); the SyncResult.
    Failures wait their longest backoff, so none is due again within the same sync."""
    path = cli.write_json("arranged.json", rows)
    cli.gateway.add_faults(*faults)
    with engine_on(cli, rng=LongestWait(), **settings) as engine:
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
