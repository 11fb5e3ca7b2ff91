"""How fast the bot acknowledges Slack, and how few Web API calls a big Retry All makes.

Runs `syncbot serve` in HTTP mode as its own process, against the gateway simulator (its own
process) and a local stand-in for Slack's Web API (in this process, recording every call), on
a fresh database. Then:

1. open loop: signed requests (`/accounting failed`, View Failed Records, Retry Selected, in
   turn) sent at a steady rate, each on schedule whether or not earlier ones were answered;
   latency is counted from the moment a request was due to leave until its acknowledgement;
2. closed loop: the same requests from N clients, each sending its next as soon as it is
   answered;
3. one Retry All Failed of a full queue, counting the Web API calls the bot makes for it
   (bound: 5, plus one per 3 seconds of work).

    .venv/bin/python -m bench.slack_ack                 # --db sqlite|postgres, --requests 500
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.common import (
    SYNCBOT,
    TOKEN,
    Simulator,
    drop_database,
    fill,
    free_port,
    fresh_database,
    machine,
    show_table,
)
from bench.slack_standin import payloads
from bench.slack_standin.server import SlackStandIn
from storage.db import make_engine
from storage.models import RetryEvent

BOT_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret-0123456789ab"
ADMIN = "UBENCHADMIN"
CHANNEL = "C0BENCH"
ACK_BOUND_MS = 100


class Bot:
    """`syncbot serve` in HTTP mode, pointed at the stand-in, the simulator and the database."""

    def __init__(self, db_url: str, slack: SlackStandIn, sim: Simulator, log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCBOT_", "SLACK_"))}
        env |= {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.url,
            "SYNCBOT_HTTP_HOST": "127.0.0.1",
            "SYNCBOT_HTTP_PORT": str(port),
            "SYNCBOT_ADMIN_USERS": ADMIN,
            "SYNCBOT_DATABASE_URL": db_url,
            "ACCOUNTING_GATEWAY_URL": sim.url,
            "ACCOUNTING_GATEWAY_TOKEN": TOKEN,
            "ACCOUNTING_GATEWAY_CONCURRENCY": "5",
        }
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [SYNCBOT, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"syncbot serve did not start:\n{log.read_text()}")

    def stop(self) -> None:
        """Ctrl-C, as a person would stop it."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(30)


def signed(kind: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A request body and its headers, signed now."""
    body, content_type = payloads.form_body(kind, payload)
    headers = payloads.signed_headers(body, SECRET) | {"Content-Type": content_type}
    return body, headers


def click(slack: SlackStandIn, message: dict[str, Any], action_id: str, tick: set[str]) -> Any:
    """The `block_actions` payload of a click on `message`, with `tick` ticked."""
    block, element = payloads.find_element(message["blocks"], action_id)
    action = payloads.element_action(block, element, None)
    state = payloads.state_values(message["blocks"], tick)
    return payloads.message_action(ADMIN, message, action, state, slack.response_url("b"))


def requests_mix(
    slack: SlackStandIn, listed: dict[str, Any], home: dict[str, Any], n: int
) -> list[tuple[str, Any]]:
    """`n` requests: the slash command, View Failed Records, Retry Selected of one row, in turn.

    View Failed Records is clicked in the Home tab (`home`), Retry Selected in the list.
    """
    rows = [
        b["accessory"]["options"][0]["value"]
        for b in listed["blocks"]
        if b.get("accessory", {}).get("type") == "checkboxes"
    ]
    made: list[tuple[str, Any]] = []
    for i in range(n):
        turn = i % 3
        if turn == 0:
            fields = payloads.slash_command("failed", ADMIN, CHANNEL, slack.response_url("c"))
            made.append(("slash_commands", fields))
        elif turn == 1:
            block, element = payloads.find_element(home["blocks"], "view_failed")
            action = payloads.element_action(block, element, None)
            made.append(("interactive", payloads.home_action(ADMIN, home, action)))
        else:
            tick = {rows[(i // 3) % len(rows)]}
            made.append(("interactive", click(slack, listed, "retry_selected", tick)))
    return made


def send(client: httpx.Client, url: str, kind: str, payload: Any) -> int:
    """One signed request; its HTTP status."""
    body, headers = signed(kind, payload)
    return client.post(url + "/slack/events", content=body, headers=headers).status_code


def open_loop(url: str, requests: list[tuple[str, Any]], rate: float) -> dict[str, Any]:
    """Send on a fixed schedule; latency from when each was due to its acknowledgement."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=200))
    start = time.perf_counter() + 0.2

    def one(due: float, kind: str, payload: Any) -> None:
        status = send(client, url, kind, payload)
        took = time.perf_counter() - due
        with lock:
            latencies.append(took)
            statuses[status] += 1

    with ThreadPoolExecutor(200) as pool:
        for i, (kind, payload) in enumerate(requests):
            due = start + i / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            pool.submit(one, due, kind, payload)
    client.close()
    return summary(f"open loop, {rate:g}/s", latencies, statuses, time.perf_counter() - start)


def closed_loop(url: str, requests: list[tuple[str, Any]], clients: int) -> dict[str, Any]:
    """`clients` senders, each sending its next request when the last was answered."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    work = list(requests)
    client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=clients))

    def sender() -> None:
        while True:
            with lock:
                if not work:
                    return
                kind, payload = work.pop()
            began = time.perf_counter()
            status = send(client, url, kind, payload)
            with lock:
                latencies.append(time.perf_counter() - began)
                statuses[status] += 1

    start = time.perf_counter()
    threads = [threading.Thread(target=sender) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    wall = time.perf_counter() - start
    return summary(f"closed loop, {clients} clients", latencies, statuses, wall)


def summary(
    name: str, latencies: list[float], statuses: Counter[int], wall: float
) -> dict[str, Any]:
    """One row of the acknowledgement table."""
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return {
        "load": name,
        "requests": len(ms),
        "req/s": round(len(ms) / wall, 1),
        "p50 ms": round(statistics.median(ms), 1),
        "p99 ms": round(p99, 1),
        "max ms": round(ms[-1], 1),
        "bound ms": ACK_BOUND_MS,
        "p99/bound": round(p99 / ACK_BOUND_MS, 2),
        "non-200": sum(n for s, n in statuses.items() if s != 200),
    }


def home_view(slack: SlackStandIn, url: str) -> dict[str, Any]:
    """Open the Home tab once and return the view the bot published."""
    with httpx.Client(timeout=10) as client:
        assert send(client, url, "events_api", payloads.app_home_opened(ADMIN)) == 200
    [call] = slack.wait_for("views.publish")
    view = call.params["view"]
    return view if isinstance(view, dict) else json.loads(view)


def first_list(slack: SlackStandIn, url: str) -> dict[str, Any]:
    """Ask for the list once and return the message Slack got."""
    with httpx.Client(timeout=10) as client:
        fields = payloads.slash_command("failed", ADMIN, CHANNEL, slack.response_url("c"))
        assert send(client, url, "slash_commands", fields) == 200
    [call] = slack.wait_for("chat.postMessage", lambda c: c.params.get("channel") == CHANNEL)
    return slack.message(CHANNEL, call.answer["ts"])


def retry_all_calls(slack: SlackStandIn, url: str, db_url: str) -> dict[str, Any]:
    """Click Retry All Failed on a list; count the Web API calls until everything is answered."""
    listed = first_list(slack, url)
    before = len(slack.calls())
    with httpx.Client(timeout=10) as client:
        assert send(client, url, "interactive", click(slack, listed, "retry_all", set())) == 200
    engine = make_engine(db_url)
    query = select(RetryEvent.at, RetryEvent.finished_at, RetryEvent.succeeded).where(
        RetryEvent.kind == "all", RetryEvent.via == "slack"
    )
    while True:
        with engine.connect() as conn:
            row = conn.execute(query).first()
        if row is not None and row.finished_at is not None:
            break
        time.sleep(0.2)
    engine.dispose()
    # The answer comes after the engine's last commit: the final reply, the list, the Home tab.
    slack.wait_for("views.publish", timeout=30)
    time.sleep(1.0)
    calls = slack.calls()[before:]
    work = (row.finished_at - row.at).total_seconds()
    bound = 5 + int(work // 3)
    by_method = Counter(c.method for c in calls)
    return {
        "records": row.succeeded,
        "work s": round(work, 2),
        "Web API calls": len(calls),
        "bound (5 + 1 per 3 s)": bound,
        "within": "yes" if len(calls) <= bound else "NO",
        "by method": ", ".join(f"{m} {n}" for m, n in sorted(by_method.items())),
    }


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Both measurements on fresh databases; the acknowledgement rows and the Retry All row."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "syncbot-bench-serve.log"
    acks: list[dict[str, Any]] = []
    db_url = fresh_database(args.db)
    try:
        fill(db_url, 2_000, failed_every=10)
        with SlackStandIn(BOT_TOKEN) as slack, Simulator(latency_ms=args.latency_ms) as sim:
            bot = Bot(db_url, slack, sim, log)
            try:
                listed, home = first_list(slack, bot.url), home_view(slack, bot.url)
                mix = requests_mix(slack, listed, home, args.requests)
                acks.append(open_loop(bot.url, mix, args.rate))
                time.sleep(2)  # let the retries it started finish
                acks.append(closed_loop(bot.url, mix, args.clients))
            finally:
                bot.stop()
    finally:
        drop_database(db_url)
    db_url = fresh_database(args.db)
    try:
        fill(db_url, args.retry_all)
        with SlackStandIn(BOT_TOKEN) as slack, Simulator(latency_ms=args.latency_ms) as sim:
            bot = Bot(db_url, slack, sim, log)
            try:
                calls = retry_all_calls(slack, bot.url, db_url)
            finally:
                bot.stop()
    finally:
        drop_database(db_url)
    return acks, calls


def main() -> None:
    """Parse the options, run, print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--retry-all", type=int, default=5_000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    args = parser.parse_args()
    acks, calls = run(args)
    show_table(f"Acknowledgements, HTTP mode, {args.db} ({machine()})", acks)
    show_table(f"Slack Web API calls for one Retry All Failed ({args.db})", [calls])


if __name__ == "__main__":
    main()
