"""The one thread reply each retry event gets: per record up to 20, else progress then a summary.

Every reply is built to fit Slack's limits whatever the records hold (ids of 128 characters,
long gateway errors, the outage warning): lines are whole or left out, and a reply says how many
it left out and where to see them.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.slack.blocks import (
    BLOCK_TEXT_BUDGET,
    MAX_ERROR_CHARS,
    SECTION_BUDGET,
    block_id,
    context,
    data,
    fit,
    listed,
    mrkdwn_section,
    next_retry,
    outage_words,
    plain,
    user,
)
from bot.slack.ids import COMMAND, Ids
from sync_engine import RetryKind
from sync_engine.results import Failed, LedgerView, Outage, RetryResult, Skipped, Succeeded

DETAIL_LIMIT = 20
WHAT: dict[str, str] = {RetryKind.SELECTED: "Retry Selected", RetryKind.ALL: "Retry All Failed"}
# A summary's failures are shorter than a detailed reply's, so 20 of them with the longest ids
# leave room for the skipped records and the outage warning.
SUMMARY_ERROR_CHARS = 150
# What the skipped records' names keep beside 20 failures at their longest.
SKIPPED_RESERVE = 700
STILL_FAILING = f"Records still failing stay in the list above; `{COMMAND} failed` lists them all."


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
        f":white_check_mark: {data(item.source_id)} succeeded: booked as "
        f"{data(item.accounting_ref)}"
    )


def failed_line(item: Failed, error_chars: int = MAX_ERROR_CHARS) -> str:
    """A record that failed again: the new error, its class, retry count and next retry."""
    nxt = next_retry(item.parked, item.next_attempt_at)
    return (
        f":x: {data(item.source_id)} failed again: {data(item.error, error_chars)} "
        f"(_{plain(item.error_class, 40)}_)\nretry count {item.retry_count} · "
        f"next automatic retry: {nxt}"
    )


def skipped_line(item: Skipped) -> str:
    """A record the retry did not send, and why."""
    return f":fast_forward: {data(item.source_id)} skipped: {plain(item.reason, 200)}"


def retry_reply(
    result: RetryResult,
    *,
    requested_by: str,
    kind: str,
    nonce: str,
    outage: Outage | None = None,
    ledger: LedgerView | None = None,
) -> list[Block]:
    """Each record's result (up to 20 records), else a summary with the first 20 failures;
    with a warning while the ledger (the gateway when `ledger` is None) is held to be down."""
    head = [headline(result, requested_by, kind)]
    blocks: list[Block] = [mrkdwn_section(head[0], block_id(Ids.RESULT_HEAD, nonce))]
    if outage is not None:
        head.append(outage_words(outage, ledger))
        blocks.append(context([head[1]], block_id(Ids.RESULT_OUTAGE, nonce)))
    budget = BLOCK_TEXT_BUDGET - sum(len(t) for t in head)
    if result.attempted + len(result.skipped) == 0:
        text = "Nothing to retry: the failed queue was empty."
        return [*blocks, context([text], block_id(Ids.RESULT_FOOT, nonce))]
    if result.attempted + len(result.skipped) <= DETAIL_LIMIT:
        return blocks + detail_rows(result, budget, nonce)
    return blocks + summary_rows(result, budget, nonce)


def detail_rows(result: RetryResult, budget: int, nonce: str) -> list[Block]:
    """One section per record, as many as the budget holds (all of them but in extremes)."""
    lines = [succeeded_line(s) for s in result.succeeded]
    lines += [failed_line(f) for f in result.failed]
    lines += [skipped_line(k) for k in result.skipped]
    kept, left_out = fit(lines, budget - len(STILL_FAILING) - 60)
    rows: list[Block] = [
        mrkdwn_section(t, block_id(Ids.RESULT_ROW, nonce, i)) for i, t in enumerate(kept)
    ]
    if left_out:
        foot = f"{left_out} more result(s) are not shown here. {STILL_FAILING}"
        rows.append(context([foot], block_id(Ids.RESULT_FOOT, nonce)))
    return rows


def summary_rows(result: RetryResult, budget: int, nonce: str) -> list[Block]:
    """The first 20 failures one per block, the skipped by name, where to see the rest."""
    lines = [failed_line(f, SUMMARY_ERROR_CHARS) for f in result.failed[:DETAIL_LIMIT]]
    budget -= len(STILL_FAILING) + 60
    kept, _ = fit(lines, budget - (SKIPPED_RESERVE if result.skipped else 0))
    rows: list[Block] = [
        mrkdwn_section(t, block_id(Ids.RESULT_ROW, nonce, i)) for i, t in enumerate(kept)
    ]
    if result.skipped:
        room = min(SECTION_BUDGET, budget - sum(len(t) + 1 for t in kept))
        rows.append(
            mrkdwn_section(skipped_names(result.skipped, room), block_id(Ids.RESULT_MORE, nonce))
        )
    rest = len(result.failed) - len(kept)
    foot = STILL_FAILING
    if rest > 0:
        foot = f"{rest} more failed again and are not shown here. " + foot
    rows.append(context([foot], block_id(Ids.RESULT_FOOT, nonce)))
    return rows


def skipped_names(skipped: tuple[Skipped, ...], room: int) -> str:
    """The skipped records by name, as many as `room` holds, and why the first was skipped."""
    start = f":fast_forward: Skipped ({plain(skipped[0].reason, 200)}): "
    names = [data(k.source_id) for k in skipped[:DETAIL_LIMIT]]
    return start + listed(names, room - len(start), len(skipped))


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
    return [mrkdwn_section(f":warning: {data(message, 2000)}", block_id(Ids.RESULT_HEAD, nonce))]


def trouble_text(message: str) -> str:
    """The notification fallback of a trouble reply (the engine's words may quote data)."""
    return f"The retry did not finish: {plain(message, 300)}"


def retry_parent(
    requested_by: str, source_ids: tuple[str, ...] | None, count: int, nonce: str
) -> list[Block]:
    """The channel message a slash-command or Home-tab retry answers under (it has no list)."""
    start = f":repeat: {user(requested_by)} is retrying "
    end = ". Results follow in this thread."
    if source_ids is None:
        what = f"all {count} failed record(s)"
    else:
        prefix = f"{len(source_ids)} record(s): "
        names = [data(s) for s in source_ids[:DETAIL_LIMIT]]
        room = SECTION_BUDGET - len(start) - len(end) - len(prefix)
        what = prefix + listed(names, room, len(source_ids))
    return [mrkdwn_section(start + what + end, block_id(Ids.RESULT_HEAD, nonce))]
