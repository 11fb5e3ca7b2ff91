"""`syncbot serve` as users run it in HTTP mode: its own process, settings from the environment."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bot.cli import EXIT_FAILED, main
from sync_engine.gateway_sim import Fault
from tests.conftest import TOKEN, posting
from tests.scenario.conftest import (
    ADMIN,
    ALERTS,
    BOT_TOKEN,
    CHANNEL,
    SECRET,
    fail_first_postings,
)
from tests.scenario.harness import Harness

SYNCBOT = Path(sys.executable).with_name("syncbot")
OURS = ("SYNCBOT_", "SLACK_", "ACCOUNTING_")
PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without our settings or proxies, plus `settings`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(OURS) and k.lower() not in PROXIES
    }
    return env | settings


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"syncbot serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    pytest.fail(f"syncbot serve never became healthy:\n{log.read_text()}")


def start_serve(
    log: Path, database_url: str, sim, slack, *, scheduler_interval: str = "3600", **extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`syncbot serve` in HTTP mode on a free port, against the stand-in, the simulator and
    `database_url` (with the settings in `extra` too), logging to `log`; its process and URL."""
    port = free_port()
    env = environment(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.url,
        SYNCBOT_HTTP_HOST="127.0.0.1",
        SYNCBOT_HTTP_PORT=str(port),
        SYNCBOT_ADMIN_USERS=ADMIN,
        SYNCBOT_ALERT_CHANNEL=ALERTS,
        SYNCBOT_ALERT_INTERVAL_SECONDS="0.5",
        SYNCBOT_SCHEDULER_INTERVAL_SECONDS=scheduler_interval,
        SYNCBOT_DATABASE_URL=database_url,
        ACCOUNTING_GATEWAY_URL=sim.url,
        ACCOUNTING_GATEWAY_TOKEN=TOKEN,
        **extra,
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SYNCBOT), "serve"], cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture
def served(database_url, sim, slack, engine, tmp_path) -> Iterator[Harness]:
    """`syncbot serve` on a free port, against the stand-in, the simulator and the test's DB."""
    log = tmp_path / "serve.log"
    proc, url = start_serve(log, database_url, sim, slack)
    try:
        wait_healthy(url, proc, log)
        driver = Harness.over_http(url, SECRET, slack, CHANNEL)
        yield driver
        driver.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()


def test_serve_answers_slack_over_http_with_the_engine_behind_it(
    served, engine, sim, slack, tmp_path
):
    fail_first_postings(engine, sim, 3)
    served.command("retry HON-2026-0001", ADMIN)

    [reply] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params)
    assert "`HON-2026-0001` succeeded" in str(reply.params["blocks"])
    assert engine.history("HON-2026-0001").sync_log_state == "succeeded"
    assert served.http.send(b"token=x", secret="wrong").status_code == 401

    # Structured logs: one JSON line per attempt and per retry event, and no secret anywhere.
    slack.wait_for("views.publish")
    text = (tmp_path / "serve.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    [attempt] = [e for e in lines if e.get("event") == "attempt"]
    assert attempt["source_id"] == "HON-2026-0001" and attempt["outcome"] == "succeeded"
    assert attempt["trigger"] == "manual" and attempt["retry_event_id"]
    [event] = [e for e in lines if e.get("event") == "retry_event"]
    assert (event["kind"], event["via"], event["requested_by"]) == ("selected", "slack", ADMIN)
    for secret in (BOT_TOKEN, SECRET, TOKEN):
        assert secret not in text


def test_a_cli_sync_in_another_process_is_alerted_by_the_running_bot(
    served, database_url, sim, slack, tmp_path
):
    records = tmp_path / "approved.jsonl"
    records.write_text("\n".join(json.dumps(posting(n).to_wire()) for n in (1, 2)) + "\n")
    env = environment(
        SYNCBOT_DATABASE_URL=database_url,
        ACCOUNTING_GATEWAY_URL=sim.url,
        ACCOUNTING_GATEWAY_TOKEN=TOKEN,
    )
    cli = [str(SYNCBOT), "import", str(records)]
    subprocess.run(cli, cwd=tmp_path, env=env, check=True, capture_output=True)
    sim.faults.add(Fault(kind="unavailable"))
    started = time.monotonic()
    synced = subprocess.run(
        [str(SYNCBOT), "sync"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert synced.returncode == EXIT_FAILED, synced.stdout + synced.stderr

    [alert] = slack.wait_for(
        "chat.postMessage", lambda c: c.params.get("channel") == ALERTS, timeout=10
    )
    assert time.monotonic() - started < 10
    assert "2 records failed to sync" in str(alert.params["blocks"])
    assert "RMB-2026-0001" in str(alert.params["blocks"])


def test_serve_refuses_to_start_without_its_tokens(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env file here
    unset = {k: None for k in os.environ if k.startswith(OURS)}
    runner = CliRunner()
    ran = runner.invoke(main, ["serve"], env={**unset, "SYNCBOT_DATABASE_URL": "sqlite://"})
    assert ran.exit_code == 2
    assert ran.stderr.startswith("syncbot: bad setting: SLACK_BOT_TOKEN")
