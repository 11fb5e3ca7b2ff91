"""Short answers for one person (ephemeral): refusals, hints, status, a record's history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.ledger_names import capital, ledger_name
from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    MAX_NAME_CHARS,
    clip,
    data,
    escape,
    fit,
    ledger_words,
    money,
    outage_words,
    plain,
    shares,
    slack_date,
    user,
)
from bot.slack.ids import COMMAND
from bot.slack.pause_message import pause_words
from sync_engine import State, Via
from sync_engine.results import (
    AttemptView,
    ChangeView,
    History,
    ResolveResult,
    RetryEventView,
    Status,
)

MAX_ANSWER = 3500
SLACK_CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{1,30}")
# Room kept in a clipped history section for the line that says how many are left out.
LEFT_OUT_ROOM = 60

REFUSED = (
    ":no_entry: Only syncbot's administrators can see accounting records or retry them. "
    "Nothing was done."
)
NOTHING_TICKED = "Tick at least one record's *Select* box, then click *Retry Selected*."
STALE_BUTTON = "That button belongs to an older version of this message; please use a fresh list."


def invite_hint(channel: str) -> str:
    """The bot is not in the channel, so it cannot post a list there that it can update."""
    where = f"<#{channel}>" if SLACK_CHANNEL_ID.fullmatch(channel) else data(channel, 40)
    return (
        f"I can't post in {where} because I'm not a member. Invite me with "
        "`/invite @syncbot`, then try again."
    )


def not_retryable(problems: dict[str, str]) -> str:
    """Why a `/accounting retry` was refused as a whole: each id and what is wrong with it."""
    lines = [f"• {data(s)}: {plain(reason, 200)}" for s, reason in list(problems.items())[:20]]
    kept, _ = fit(lines, MAX_ANSWER - 60)
    more = len(problems) - len(kept)
    tail = f"\n…and {more} more" if more > 0 else ""
    return "Nothing was retried:\n" + "\n".join(kept) + tail


def status_text(status: Status) -> str:
    """Counts by state and error class, last success, the gateway's last answer."""
    states = " · ".join(f"{k} {v}" for k, v in status.by_state.items())
    classes = " · ".join(f"{k} {v}" for k, v in status.by_error_class.items())
    last = status.last_gateway_answer
    answer = data(last, MAX_ERROR_CHARS) if last else "none yet"
    return (
        f"*Accounting sync status*\nRecords: {states} · parked {status.parked}\n"
        f"Failed queue by error class: {classes}\n"
        f"Last successful sync: {slack_date(status.last_success_at, 'never')}\n"
        f"{escape(capital(ledger_name(status.ledger)))}'s last answer: {answer} "
        f"({slack_date(status.last_gateway_answer_at, 'never')})\n"
        f"{outage_words(status.outage, status.ledger)}\n"
        f"{_pause_line(status)}"
        f"{ledger_words(status.ledger)}"
    )


def _pause_line(status: Status) -> str:
    """The pause the ledger imposes, as a line of its own; empty when there is none."""
    words = pause_words(status.paused)
    return f"{words}\n" if words else ""


def who(requested_by: str, via: str) -> str:
    """A Slack user as a mention; the CLI's OS user or the scheduler as data."""
    return user(requested_by) if via == Via.SLACK else data(requested_by, 64)


def attempt_line(a: AttemptView) -> str:
    """One attempt: when, why, how it ended, the error or the ledger's reference."""
    detail = data(a.error, MAX_ERROR_CHARS) if a.error else data(a.accounting_ref)
    status = f"HTTP {a.http_status}" if a.http_status else "no HTTP answer"
    event = f" · retry event {a.retry_event_id}" if a.retry_event_id else ""
    return f"• {slack_date(a.at)} {a.trigger} → {a.outcome} · {status} · {detail}{event}"


def event_line(e: RetryEventView) -> str:
    """One retry event: which, who asked, through what, when, how it ended for this record."""
    return (
        f"• {e.id}: {e.kind} by {who(e.requested_by, e.via)} via {plain(e.via, 20)} at "
        f"{slack_date(e.at)} → {plain(e.result or 'pending', 40)}"
    )


def change_line(c: ChangeView) -> str:
    """One change by a person: what, who (a Slack user as a mention), when, why."""
    return f"• {plain(c.action, 40)} by {user(c.by)} at {slack_date(c.at)}: {data(c.reason, 300)}"


def history_text(h: History) -> str:
    """Attempts, retry events and changes of one record, newest first, each section within its
    share of the answer, so long errors never push the audit trail out."""
    ref = f" as {data(h.accounting_ref)}" if h.accounting_ref else ""
    head = (
        f"{data(h.source_id)}: {h.state}{ref} · {h.kind} · {money(h.amount, h.currency)} to "
        f"{data(h.payee_name, MAX_NAME_CHARS)} ({data(h.payee_id, MAX_NAME_CHARS)}) · "
        f"retries {h.retry_count}"
    )
    sections = [
        ("*Attempts* (newest first)", "attempt(s)", [attempt_line(a) for a in h.attempts]),
        (
            "*Retry events* (newest first)",
            "retry event(s)",
            [event_line(e) for e in h.retry_events],
        ),
        ("*Changes* (newest first)", "change(s)", [change_line(c) for c in h.changes]),
    ]
    # Attempts always have a section (an empty one says so); the others only when they happened.
    sections = [s for i, s in enumerate(sections) if i == 0 or s[2]]
    needs = [len(title) + sum(len(line) + 1 for line in lines) + 1 for title, _, lines in sections]
    budgets = shares(needs, MAX_ANSWER - len(head) - 1)
    parts = [head]
    for (title, noun, lines), budget in zip(sections, budgets, strict=True):
        parts.append(section_text(title, noun, lines[::-1], budget))
    return clip("\n".join(parts), MAX_ANSWER)


def section_text(title: str, noun: str, lines: Sequence[str], budget: int) -> str:
    """A titled section of whole lines within `budget`, saying how many older ones are left out."""
    if not lines:
        return f"{title}\nnone yet"
    room = budget - len(title) - 1
    kept, left_out = fit(lines, room)
    if left_out:
        kept, left_out = fit(lines, room - LEFT_OUT_ROOM)
        kept.append(f"…{left_out} older {noun} not shown")
    return "\n".join([title, *kept])


def resolved_text(result: ResolveResult, reason: str) -> str:
    """How a resolve ended."""
    if result.state == State.SUCCEEDED:
        return (
            f"{data(result.source_id)} was already booked as "
            f"{data(result.accounting_ref)}: marked succeeded, not resolved."
        )
    return f"{data(result.source_id)} resolved by hand: {data(reason, 300)}"


def trouble(message: str) -> str:
    """An engine error, said plainly (its words may quote record or gateway text)."""
    return f":warning: {data(message, 2000)}"


def crashed(error_id: str) -> str:
    """Our own bug: no stack trace, an id to quote."""
    return (
        f":warning: Something went wrong inside syncbot (error id `{error_id}`). "
        "Please quote that id to whoever runs syncbot. "
        f"`{COMMAND} status` shows where things stand."
    )
