"""The ledger port: `ACCOUNTING_LEDGER` picks the adapter, and the engine speaks only through it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from storage.vocabulary import Outcome
from sync_engine.build import build_engine
from sync_engine.contract import Posting
from sync_engine.errors import GatewayUnreachable
from sync_engine.gateway import PROBE_KEY_PREFIX, GatewayClient
from sync_engine.gateway_sim import Fault
from sync_engine.ledger import Ledger, LedgerLimits, LedgerPause, make_ledger
from sync_engine.post_result import PostResult
from tests.conftest import posting, settings_for
from tests.integration.cli_harness import SYNCBOT, clean_env

ONE_LINE = (
    "syncbot: bad setting: ACCOUNTING_LEDGER: Input should be 'gateway', 'quickbooks' or 'xero'\n"
)


@dataclass
class Recording:
    """A ledger adapter that hands every call to another one and notes its name: what the
    engine asks of a ledger, seen from the ledger's side of the port."""

    inner: Ledger
    calls: list[str] = field(default_factory=list)

    @property
    def limits(self) -> LedgerLimits:
        return self.inner.limits

    def reserve(self) -> None:
        self.calls.append("reserve")
        self.inner.reserve()

    def post(self, key: str, posting: Posting) -> PostResult:
        self.calls.append("post")
        return self.inner.post(key, posting)

    def post_batch(self, items: list[tuple[str, Posting]]) -> list[PostResult]:
        self.calls.append("post_batch")
        return self.inner.post_batch(items)

    def lookup(self, key: str) -> str | None:
        self.calls.append("lookup")
        return self.inner.lookup(key)

    def probe(self) -> None:
        self.calls.append("probe")
        self.inner.probe()

    def paused(self) -> LedgerPause | None:
        return self.inner.paused()  # asked before every run and chunk: not noted as a call

    def close(self) -> None:
        self.calls.append("close")
        self.inner.close()


def test_the_default_ledger_is_the_gateway_with_the_configured_limits(sqlite_url, sim):
    settings = settings_for(sqlite_url, sim.url, batch_size=7, concurrency=3, timeout_seconds=2.5)
    ledger = make_ledger(settings)
    try:
        assert isinstance(ledger, GatewayClient)
        assert ledger.limits == LedgerLimits(max_batch=7, concurrency=3, timeout_seconds=2.5)
        result = ledger.post("k-1", posting(1))
        assert (result.outcome, ledger.lookup("k-1")) == (Outcome.SUCCEEDED, result.accounting_ref)
    finally:
        ledger.close()
    assert [(r.method, r.path) for r in sim.requests()] == [
        ("POST", "/v1/postings"),
        ("GET", "/v1/postings/k-1"),
    ]


def test_a_probe_looks_up_a_key_no_record_has(sqlite_url, sim):
    ledger = make_ledger(settings_for(sqlite_url, sim.url))
    try:
        ledger.probe()  # a 404: the gateway answers and takes our token
    finally:
        ledger.close()
    (probe,) = sim.requests()
    assert probe.method == "GET" and probe.path.startswith("/v1/postings/" + PROBE_KEY_PREFIX)
    assert probe.status == 404


def test_a_probe_the_gateway_refuses_raises(sqlite_url, sim):
    ledger = make_ledger(settings_for(sqlite_url, sim.url, gateway_token="revoked"))
    try:
        with pytest.raises(GatewayUnreachable, match="403 forbidden"):
            ledger.probe()
    finally:
        ledger.close()


def test_the_engine_posts_probes_and_looks_up_through_the_port_only(database_url, sim, clock):
    settings = settings_for(database_url, sim.url, batch_size=1, outage_threshold=1)
    ledger = Recording(make_ledger(settings))
    with build_engine(settings, ledger=ledger, clock=clock) as engine:
        engine.submit([posting(1), posting(2), posting(3)])
        engine.resolve(posting(3).source_id, "paid by cheque", by="t")
        sim.faults.add(Fault(kind="unavailable", count=1))
        assert engine.sync(requested_by="t", via="cli").outage is not None
        clock.advance(seconds=3600)
        assert engine.sync(requested_by="t", via="cli").outage is None  # the probe ended it
    assert ledger.calls == [
        "lookup",  # resolve asks the ledger first
        *("reserve", "post"),  # the first posting fails: the outage begins, nothing more sent
        "probe",
        *("reserve", "post", "reserve", "post"),  # the sync after the outage sends both
        "close",
    ]
    assert [r.method for r in sim.requests()].count("POST") == 3


@pytest.mark.parametrize("command", [["status"], ["sync"]], ids=["query", "engine"])
def test_an_unknown_ledger_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    env = clean_env() | {
        "ACCOUNTING_LEDGER": "sage",
        "SYNCBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'syncbot.db'}",
    }
    ran = subprocess.run(
        [str(SYNCBOT), *command], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (2, "", ONE_LINE)
    assert not (tmp_path / "syncbot.db").exists()  # refused before anything was opened


def test_importing_the_engine_imports_no_ledger_client():
    code = (
        "import sys, sync_engine.engine; "
        "print(sorted({'httpx', 'sync_engine.gateway'} & set(sys.modules)))"
    )
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert ran.stdout == "[]\n"
