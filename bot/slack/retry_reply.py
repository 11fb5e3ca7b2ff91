"""The one thread reply each retry event gets: per record up to 20, else progress then a summary."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.slack.blocks import (
    MAX_ERROR_CHARS,
    block_id,
    context,
    mrkdwn_section,
    plain,
    slack_date,
    user,
)
from bot.slack.ids import Ids
from sync_engine.results import Failed, RetryResult, Skipped, Succeeded

DETAIL_LIMIT = 20
WHAT = {"selected": "Retry Selected", "all": "Retry All Failed"}


def counts(result: RetryResult) -> str:
    """Succeeded, failed and skipped counts in words."""
    return (
        f"{len(result.succeeded)} succeeded, {len(result.failed)} failed again, "
        f"{len(result.skipped)} skipped"
    )


def headline(result: RetryResult, requested_by: str, kind: str) -> str:
    """Which retry event, who asked, how it ended."""
    event = f"retry event {result.retry_event_id}" if result.retry_event_id else "retry"
    return f"*{WHAT.get(kind, 'Retry')}* by {user(requested_by)} ({event}): {counts(result)}"


def succeeded_line(item: Succeeded) -> str:
    """A record the retry booked, with the ledger's reference."""
    return (
        f":white_check_mark: *{plain(item.source_id, 128)}* succeeded: booked as "
        f"`{plain(item.accounting_ref, 128)}`"
    )


def failed_line(item: Failed) -> str:
    """A record that failed again: the new error, its class, retry count and next retry."""
    if item.parked:
        nxt = "parked: no automatic retry until someone acts"
    elif item.next_attempt_at is None:
        nxt = "none: waits for a person"
    else:
        nxt = slack_date(item.next_attempt_at)
    return (
        f":x: *{plain(item.source_id, 128)}* failed again: {plain(item.error, MAX_ERROR_CHARS)} "
        f"(_{item.error_class}_)\nretry count {item.retry_count} · next automatic retry: {nxt}"
    )


def skipped_line(item: Skipped) -> str:
    """A record the retry did not send, and why."""
    return f":fast_forward: *{plain(item.source_id, 128)}* skipped: {plain(item.reason, 200)}"


def retry_reply(result: RetryResult, *, requested_by: str, kind: str, nonce: str) -> list[Block]:
    """Each record's result (up to 20 records), else a summary with the first 20 failures."""
    head = mrkdwn_section(headline(result, requested_by, kind), block_id(Ids.RESULT_HEAD, nonce))
    if result.attempted + len(result.skipped) == 0:
        text = "Nothing to retry: the failed queue was empty."
        return [head, context([text], block_id(Ids.RESULT_FOOT, nonce))]
    if result.attempted + len(result.skipped) <= DETAIL_LIMIT:
        lines = [succeeded_line(s) for s in result.succeeded]
        lines += [failed_line(f) for f in result.failed]
        lines += [skipped_line(k) for k in result.skipped]
        rows = [mrkdwn_section(t, block_id(Ids.RESULT_ROW, nonce, i)) for i, t in enumerate(lines)]
        return [head, *rows]
    return [head, *summary_rows(result, nonce)]


def summary_rows(result: RetryResult, nonce: str) -> list[Block]:
    """The first 20 failures one per block, the skipped by name, where to see the rest."""
    shown = result.failed[:DETAIL_LIMIT]
    rows: list[Block] = [
        mrkdwn_section(failed_line(f), block_id(Ids.RESULT_ROW, nonce, i))
        for i, f in enumerate(shown)
    ]
    if result.skipped:
        names = ", ".join(plain(k.source_id, 128) for k in result.skipped[:DETAIL_LIMIT])
        more = len(result.skipped) - DETAIL_LIMIT
        tail = f" and {more} more" if more > 0 else ""
        reason = plain(result.skipped[0].reason, 200)
        text = f":fast_forward: Skipped ({reason}): {names}{tail}"
        rows.append(mrkdwn_section(text, block_id(Ids.RESULT_MORE, nonce)))
    rest = len(result.failed) - len(shown)
    foot = "Records still failing stay in the list above; `/accounting failed` lists them all."
    if rest > 0:
        foot = f"{rest} more failed again and are not shown here. " + foot
    rows.append(context([foot], block_id(Ids.RESULT_FOOT, nonce)))
    return rows


def retry_reply_text(result: RetryResult, kind: str) -> str:
    """The notification fallback of a result reply."""
    return f"{WHAT.get(kind, 'Retry')}: {counts(result)}"


def progress_reply(done: int, total: int, requested_by: str, kind: str, nonce: str) -> list[Block]:
    """The progress reply of a long retry, updated at most every few seconds."""
    text = (
        f":hourglass_flowing_sand: *{WHAT.get(kind, 'Retry')}* by {user(requested_by)}: "
        f"{done} of {total} record(s) done…"
    )
    return [mrkdwn_section(text, block_id(Ids.RESULT_HEAD, nonce))]


def progress_text(done: int, total: int) -> str:
    """The notification fallback of a progress reply."""
    return f"Retrying: {done} of {total} record(s) done"


def trouble_reply(message: str, nonce: str) -> list[Block]:
    """A retry the engine refused or could not finish, said in the thread."""
    return [mrkdwn_section(f":warning: {plain(message, 2000)}", block_id(Ids.RESULT_HEAD, nonce))]


def retry_parent(
    requested_by: str, source_ids: tuple[str, ...] | None, count: int, nonce: str
) -> list[Block]:
    """The channel message a slash-command or Home-tab retry answers under (it has no list)."""
    if source_ids is None:
        what = f"all {count} failed record(s)"
    else:
        names = ", ".join(plain(s, 128) for s in source_ids[:DETAIL_LIMIT])
        more = len(source_ids) - DETAIL_LIMIT
        what = f"{len(source_ids)} record(s): {names}" + (f" and {more} more" if more > 0 else "")
    text = f":repeat: {user(requested_by)} is retrying {what}. Results follow in this thread."
    return [mrkdwn_section(text, block_id(Ids.RESULT_HEAD, nonce))]
