"""Short answers for one person (ephemeral): refusals, hints, status, a record's history."""

from __future__ import annotations

from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    clip,
    money,
    outage_words,
    plain,
    slack_date,
    user,
)
from bot.slack.ids import COMMAND
from sync_engine.results import History, ResolveResult, Status

MAX_ANSWER = 3500
HISTORY_ATTEMPTS = 15

REFUSED = (
    ":no_entry: Only syncbot's administrators can see accounting records or retry them. "
    "Nothing was done."
)
NOTHING_TICKED = "Tick at least one record's *Select* box, then click *Retry Selected*."
STALE_BUTTON = "That button belongs to an older version of this message; please use a fresh list."


def invite_hint(channel: str) -> str:
    """The bot is not in the channel, so it cannot post a list there that it can update."""
    return (
        f"I can't post in <#{channel}> because I'm not a member. Invite me with "
        "`/invite @syncbot`, then try again."
    )


def retry_started(count: int | None) -> str:
    """The acknowledgement of a retry that will answer in a thread."""
    what = "all failed records" if count is None else f"{count} record(s)"
    return f"Retrying {what} now; the results will be posted in the thread."


def not_retryable(problems: dict[str, str]) -> str:
    """Why a `/accounting retry` was refused as a whole: each id and what is wrong with it."""
    lines = [f"• `{plain(s, 128)}`: {reason}" for s, reason in list(problems.items())[:20]]
    more = len(problems) - len(lines)
    tail = f"\n…and {more} more" if more > 0 else ""
    return "Nothing was retried:\n" + "\n".join(lines) + tail


def status_text(status: Status) -> str:
    """Counts by state and error class, last success, the gateway's last answer."""
    states = " · ".join(f"{k} {v}" for k, v in status.by_state.items())
    classes = " · ".join(f"{k} {v}" for k, v in status.by_error_class.items())
    answer = plain(status.last_gateway_answer, 300) if status.last_gateway_answer else "none yet"
    return (
        f"*Accounting sync status*\nRecords: {states} · parked {status.parked}\n"
        f"Failed queue by error class: {classes}\n"
        f"Last successful sync: {slack_date(status.last_success_at, 'never')}\n"
        f"Gateway's last answer: {answer} "
        f"({slack_date(status.last_gateway_answer_at, 'never')})\n"
        f"{outage_words(status.outage)}"
    )


def who(requested_by: str, via: str) -> str:
    """A Slack user as a mention; the CLI's OS user or the scheduler as plain text."""
    return user(requested_by) if via == "slack" else plain(requested_by, 64)


def history_text(h: History) -> str:
    """Attempts, errors, retry events and changes of one record, newest attempts kept."""
    ref = f" as `{plain(h.accounting_ref, 128)}`" if h.accounting_ref else ""
    lines = [
        f"*{plain(h.source_id, 128)}*: {h.state}{ref} · {h.kind} · "
        f"{money(h.amount, h.currency)} to {plain(h.payee_name, 60)} · retries {h.retry_count}",
        "*Attempts*",
    ]
    skipped = max(0, len(h.attempts) - HISTORY_ATTEMPTS)
    if skipped:
        lines.append(f"…{skipped} earlier attempt(s) not shown")
    for a in h.attempts[skipped:]:
        detail = plain(a.error, MAX_ERROR_CHARS) if a.error else (a.accounting_ref or "")
        status = f"HTTP {a.http_status}" if a.http_status else "no HTTP answer"
        event = f" · retry event {a.retry_event_id}" if a.retry_event_id else ""
        lines.append(f"• {slack_date(a.at)} {a.trigger} → {a.outcome} · {status} · {detail}{event}")
    if h.retry_events:
        lines.append("*Retry events*")
        lines += [
            f"• {e.id}: {e.kind} by {who(e.requested_by, e.via)} via {e.via} at "
            f"{slack_date(e.at)} → {e.result or 'pending'}"
            for e in h.retry_events[-HISTORY_ATTEMPTS:]
        ]
    if h.changes:
        lines.append("*Changes*")
        lines += [
            f"• {c.action} by {plain(c.by, 64)} at {slack_date(c.at)}: {plain(c.reason or '', 300)}"
            for c in h.changes
        ]
    return clip("\n".join(lines), MAX_ANSWER)


def resolved_text(result: ResolveResult, reason: str) -> str:
    """How a resolve ended."""
    if result.state == "succeeded":
        return (
            f"`{plain(result.source_id, 128)}` was already booked as "
            f"`{plain(result.accounting_ref or '', 128)}`: marked succeeded, not resolved."
        )
    return f"`{plain(result.source_id, 128)}` resolved by hand: {plain(reason, 300)}"


def trouble(message: str) -> str:
    """An engine error, said plainly."""
    return f":warning: {plain(message, 2000)}"


def crashed(error_id: str) -> str:
    """Our own bug: no stack trace, an id to quote."""
    return (
        f":warning: Something went wrong inside syncbot (error id `{error_id}`). "
        "Please quote that id to whoever runs syncbot. "
        f"`{COMMAND} status` shows where things stand."
    )
