"""`/accounting history` keeps its audit trail whatever the length of the errors: retry events
(who, via, when) and changes (who, why) are always shown, attempts newest first, with how many
older ones are left out, and nothing is cut inside a token."""

from __future__ import annotations

import re

from bench.slack_standin.limits import problems
from bot.slack.answers import MAX_ANSWER
from sync_engine.gateway_sim import Fault
from tests.conftest import posting
from tests.scenario.conftest import ADMIN

RECORD = "HON-2026-0001"
RETRIES = 24
LONG_ERROR = "the period <2026-10> & its journal are closed; " * 40  # ~1,900 characters
TOKEN = re.compile(r"<[^<>]*>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def test_history_shows_events_and_changes_however_long_the_errors(harness, engine, sim, slack):
    engine.submit([posting(1, kind="honorarium")])
    sim.faults.add(Fault(kind="validation", detail=LONG_ERROR))
    engine.sync(requested_by="scheduler", via="scheduler")
    for n in range(RETRIES):
        by, via = (ADMIN, "slack") if n % 2 else ("alice", "cli")
        engine.retry_selected([RECORD], requested_by=by, via=via)
    sim.faults.clear()
    harness.command(f"resolve {RECORD} booked by hand, see ticket 7", ADMIN)
    slack.wait_for("chat.postEphemeral")
    events = engine.history(RECORD).retry_events

    harness.command(f"history {RECORD}", ADMIN)
    answer = slack.wait_for("chat.postEphemeral", count=2)[-1]
    text = answer.params["text"]

    assert "*Retry events* (newest first)" in text and "*Changes* (newest first)" in text
    assert len(text) <= MAX_ANSWER and problems(answer.params["blocks"]) == []
    assert "\n".join(b["text"]["text"] for b in answer.params["blocks"]) == text
    attempts, retry_events, changes = (
        text.split(f"*{title}* (newest first)\n")[1].split("\n*")[0].split("\n")
        for title in ("Attempts", "Retry events", "Changes")
    )
    # Attempts: the newest first (the last retry's), then how many older ones are left out.
    assert attempts[0].split(" · ")[-1] == f"retry event {events[-1].id}"
    shown = [line for line in attempts if line.startswith("• ")]
    assert attempts[-1] == f"…{1 + RETRIES - len(shown)} older attempt(s) not shown"
    # Retry events: the newest first, with who (a mention, or the CLI user), via, when.
    assert retry_events[0].startswith(
        f"• {events[-1].id}: selected by <@{ADMIN}> via slack at <!date^"
    )
    assert retry_events[1].startswith(f"• {events[-2].id}: selected by `alice` via cli at <!date^")
    # Changes: who resolved it and why.
    assert changes[0].startswith("• resolve") and f"by <@{ADMIN}>" in changes[0]
    assert changes[0].endswith(": `booked by hand, see ticket 7`")
    # Nothing cut inside a token, an entity or a code span.
    for line in text.split("\n"):
        assert "<" not in TOKEN.sub("", line) and ">" not in TOKEN.sub("", line), line
        assert "&" not in ENTITY.sub("", line), line
        assert line.count("`") % 2 == 0, line
