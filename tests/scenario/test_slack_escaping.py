"""No mrkdwn injection from any source: record data, gateway errors and ledger references, and
what people type reach Slack escaped, in verbatim text objects, with no formatting of their own.

Hostile data goes in where it really comes from (imported records, the gateway simulator's
answers, slash commands) and is checked in what the Slack stand-in received.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from bot.slack.blocks import BACKTICK_LOOKALIKE, clip, data
from bot.slack.ids import Ids
from sync_engine.gateway_sim import Fault
from sync_engine.gateway_sim.ledger import Ledger
from tests.conftest import posting
from tests.scenario.conftest import ADMIN, ALERTS, CHANNEL
from tests.scenario.test_slack_acceptance import open_list

HOSTILE = "<!channel> *bold* _it_ ~s~ `code` <https://evil|click> &amp;"
# Source ids cannot hold spaces in a slash command, so theirs is the same without them.
IDS = [
    "RMB-<!here>*bold*_it_~s~`code`<https://evil|click>&amp;",
    "HON-<!channel>*bold*_it_~s~`code`&amp;",
    "RMB-<#C0FINANCE>_it_~s~&amp;",
]
REFERENCE = "ACC-<!everyone>*bold*_it_~s~`code`<https://evil|click>&amp;"
# The bot's own tokens: mentions, channels, dates, the permalink the Home tab links to.
OWN_TOKENS = re.compile(
    r"<(?:@[UW][A-Z0-9]+|#[CDG][A-Z0-9]+|!date\^\d+\^[^<>|]*\|[^<>|]*"
    r"|https://volunteers\.slack\.com/archives/[^<>|]*\|[^<>|]*)>"
)
BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
FORMATTING = ("*bold*", "_it_", "~s~", "evil", "!channel", "!here", "!everyone", "#C0FINANCE")


class HostileLedger(Ledger):
    """The simulator's ledger, naming its bookings with a hostile reference."""

    def book(self, key: str, posting: Any, *rest: Any) -> Any:
        """Book as the simulator does; answer the hostile reference."""
        return replace(super().book(key, posting, *rest), id=REFERENCE)


@pytest.fixture
def engine(make_engine_for):
    """The engine; one transient failure is an outage, so the outage message is drawn too."""
    return make_engine_for(outage_threshold=1, backoff_base_seconds=3600)


def text_objects(node: Any) -> list[dict[str, Any]]:
    """Every text object (`{"type": "mrkdwn" | "plain_text", "text": ...}`) in a block tree."""
    if isinstance(node, dict):
        own = [node] if node.get("type") in ("mrkdwn", "plain_text") else []
        return own + [o for v in node.values() for o in text_objects(v)]
    if isinstance(node, list):
        return [o for item in node for o in text_objects(item)]
    return []


def sent(slack) -> list[tuple[str, str | None, list[dict[str, Any]]]]:
    """(method, top-level text, text objects) of every message and view the bot sent."""
    out = []
    for call in slack.calls():
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            out.append(
                (
                    call.method,
                    call.params.get("text"),
                    text_objects(call.params.get("blocks") or []),
                )
            )
        elif call.method == "views.publish":
            out.append((call.method, None, text_objects(call.params["view"]["blocks"])))
    return out


def assert_escaped(text: str) -> None:
    """No `<`, `>` or bare `&` but in the bot's own tokens."""
    bare = OWN_TOKENS.sub("", text)
    assert "<" not in bare and ">" not in bare, text
    assert not BARE_AMPERSAND.search(text), text


def assert_inert(obj: dict[str, Any]) -> None:
    """A mrkdwn object: verbatim, and hostile text only inside inline-code spans."""
    text = obj["text"]
    assert obj.get("verbatim") is True, text
    outside = "".join(text.split("`")[0::2])
    assert not any(f in outside for f in FORMATTING), text


def test_hostile_records_errors_references_and_reasons_reach_slack_inert(
    bot, harness, engine, sim, slack
):
    engine.submit([posting(n, source_id=s, payee_name=HOSTILE) for n, s in enumerate(IDS, 1)])
    sim.faults.add(Fault(kind="validation", detail=HOSTILE))
    engine.sync(requested_by="scheduler", via="scheduler")
    sim.faults.clear()
    assert bot.alert_poster.flush() == 1  # the failure alert

    listed = open_list(harness, slack)
    sim._ledger = HostileLedger()  # the gateway's references from now on
    sim.faults.add(Fault(kind="validation", detail=HOSTILE, source_ids=(IDS[1],)))
    harness.click(listed, Ids.RETRY_SELECTED, ADMIN, tick={IDS[0], IDS[1]})
    slack.wait_for("chat.postMessage", lambda c: c.params.get("thread_ts") == listed["ts"])
    harness.command(f"retry {IDS[2]}", ADMIN)  # under its own parent message
    slack.wait_for("chat.postMessage", lambda c: "thread_ts" in c.params, count=2)

    for n, text in enumerate([f"history {IDS[0]}", f"resolve {IDS[1]} {HOSTILE}"], 1):
        harness.command(text, ADMIN)
        slack.wait_for("chat.postEphemeral", count=n)
    harness.command(f"history {IDS[1]}", ADMIN)
    slack.wait_for("chat.postEphemeral", count=3)

    sim.faults.clear()
    sim.faults.add(Fault(kind="unavailable", detail=HOSTILE))
    engine.submit([posting(9, payee_name=HOSTILE)])
    assert engine.sync(requested_by="scheduler", via="scheduler").outage is not None
    bot.alert_poster.flush()  # the outage message
    harness.command("status", ADMIN)
    ephemerals = slack.wait_for("chat.postEphemeral", count=4)
    harness.open_home(ADMIN)
    home = slack.wait_for("views.publish", lambda c: "Gateway down" in str(c.params), count=1)

    messages = sent(slack)
    assert slack.refused() == []
    for _method, text, objects in messages:
        if text is not None:
            assert_escaped(text)
        for obj in objects:
            assert_escaped(obj["text"])
            if obj["type"] == "mrkdwn":
                assert_inert(obj)

    # The hostile text did arrive, shown literally, wherever it was meant to.
    shown = data(HOSTILE)
    assert shown.startswith("`&lt;!channel&gt; *bold* _it_ ~s~ ")
    assert f"{BACKTICK_LOOKALIKE}code{BACKTICK_LOOKALIKE}" in shown
    alert = next(c for c in slack.calls("chat.postMessage") if c.params["channel"] == ALERTS)
    down = [c for c in slack.calls("chat.postMessage") if "is down" in str(c.params["text"])]
    history, resolved, history2, status = (c.params["text"] for c in ephemerals)
    replies = [str(m["blocks"]) for m in slack.thread(CHANNEL, listed["ts"])]
    for where, text in {
        "alert": str(alert.params["blocks"]),
        "list": str(listed["blocks"]),
        "thread": replies[0],
        "history": history,
        "resolve": resolved,
        "history of the resolved": history2,
        "status": status,
        "home": str(home[-1].params["view"]),
        "outage fallback": down[0].params["text"],
    }.items():
        assert "&lt;!channel&gt;" in text or "&lt;!here&gt;" in text, where
    assert data(REFERENCE) in replies[0] and data(REFERENCE) in history
    assert "resolve" in history2 and clip(data(HOSTILE, 300), 400) in history2
