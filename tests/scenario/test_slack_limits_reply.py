"""Every reply fits Slack's limits whatever the data: the stand-in refuses what Slack refuses,
and the longest ids and errors are driven through the real bot."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from bench.slack_standin.limits import block_text_chars, problems
from bot.slack.app import build_bot
from bot.slack.blocks import as_dicts
from bot.slack.retry_reply import retry_parent, retry_reply
from bot.slack.server import HttpServer
from sync_engine.gateway_sim import Fault
from sync_engine.results import Failed, Outage, RetryResult, Skipped
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, CHANNEL, SECRET
from tests.scenario.harness import Harness

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LONG_ERROR = "ledger <offline> & " + "the upstream journal refused the batch; " * 40


def long_id(n: int) -> str:
    """A source id of 128 characters, the longest a record can have."""
    return f"RMB-{n:03d}-" + "&" * 20 + "X" * 100


def final_update(slack, timeout: float = 20.0):
    """The retry's last reply update, whether Slack took it or refused it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [c for c in slack.calls("chat.update") if "skipped" in str(c.params.get("text"))]
        if done:
            return done[-1]
        time.sleep(0.05)
    raise AssertionError(f"no final reply; saw {[(c.method, c.error) for c in slack.calls()]}")


@pytest.fixture
def held_bot(slack_settings, make_engine_for):
    """The bot on an engine that sees the gateway down after one transient failure."""
    engine = make_engine_for(outage_threshold=1, backoff_base_seconds=3600)
    bot = build_bot(slack_settings, engine)
    yield bot, engine
    bot.close()


def test_a_summary_of_25_failures_and_20_skipped_long_ids_with_the_outage_is_accepted(
    held_bot, make_engine_for, sim, slack
):
    bot, engine = held_bot
    ids = [long_id(n) for n in range(45)]
    engine.submit([posting(n, source_id=s) for n, s in enumerate(ids, 1)])
    sim.faults.add(Fault(kind="unavailable", detail=LONG_ERROR))
    engine.sync(requested_by="scheduler", via="scheduler")
    assert engine.outage() is not None and engine.count_failed() == 45

    # Another retry holds 20 of them: the Slack retry finds them in flight and skips them.
    held, release = threading.Event(), threading.Event()

    def hold(name: str, _ids: list[str]) -> None:
        if name == "claimed":
            held.set()
            release.wait(20)

    holder = make_engine_for(checkpoint=hold, batch_size=30)
    worker = threading.Thread(
        target=holder.retry_selected, args=(ids[:20],), kwargs={"requested_by": "A", "via": "cli"}
    )
    worker.start()
    assert held.wait(10)

    server = HttpServer(bot, "127.0.0.1", 0)
    server.start()
    harness = Harness.over_http(f"http://127.0.0.1:{server.port}", SECRET, slack, CHANNEL)
    try:
        harness.command("retry all", ADMIN)
        [parent] = slack.wait_for("chat.postMessage", lambda c: "thread_ts" not in c.params)
        summary = final_update(slack)
    finally:
        release.set()
        worker.join(20)
        harness.close()
        server.stop()

    assert summary.error is None and slack.refused() == []
    [reply] = slack.thread(CHANNEL, parent.answer["ts"])
    blocks = reply["blocks"]
    assert blocks == summary.params["blocks"] and problems(blocks) == []
    text = str(blocks)
    assert "25 failed again, 20 skipped" in text and "Gateway down" in text
    rows = [b for b in blocks if b["block_id"].startswith("result_row")]
    assert len(rows) == 20  # the first 20 failures, each whole
    assert "5 more failed again" in text
    assert "Skipped (already in flight" in text and "more" in text


@pytest.mark.parametrize(("failed", "skipped"), [(20, 0), (0, 20), (25, 20), (500, 500)])
def test_result_replies_of_the_longest_ids_and_errors_fit(failed, skipped):
    outage = Outage(WHEN, "x" * 256, WHEN, 3)
    result = RetryResult(
        9,
        failed=tuple(Failed(long_id(i), LONG_ERROR, "transient", 7, WHEN) for i in range(failed)),
        skipped=tuple(Skipped(long_id(i), "already in flight") for i in range(skipped)),
    )
    blocks = as_dicts(retry_reply(result, requested_by="U1", kind="all", nonce="n", outage=outage))
    assert problems(blocks) == [] and block_text_chars(blocks) <= 12_000
    rows = [b for b in blocks if b["block_id"].startswith("result_row")]
    # Up to 20 records each get a row; a longer retry shows its first 20 failures.
    assert len(rows) == (failed + skipped if failed + skipped <= 20 else min(failed, 20))


def test_a_retry_parent_of_100_long_ids_fits():
    blocks = as_dicts(retry_parent("U1", tuple(long_id(i) for i in range(100)), 100, "n"))
    assert problems(blocks) == [] and "more" in blocks[0]["text"]["text"]
