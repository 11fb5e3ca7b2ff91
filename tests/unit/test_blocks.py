"""The pure Block Kit builders stay inside Slack's limits, whatever the records hold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bench.slack_standin.limits import block_text_chars, problems
from bot.slack.alert_message import alert_blocks
from bot.slack.blocks import as_dicts
from bot.slack.failed_list import failed_list, failed_list_text
from bot.slack.home import home_refused, home_view
from bot.slack.ids import Ids
from bot.slack.list_state import BadListState, ListState
from bot.slack.retry_reply import progress_reply, retry_parent, retry_reply
from bot.slack.settings import MAX_PAGE_SIZE
from sync_engine.alerts import AlertDraft
from sync_engine.results import Failed as FailedResult
from sync_engine.results import FailedPage, FailedRecord, RetryResult, Skipped, Status, Succeeded

WHEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LONG_ERROR = "422 validation_failed: " + "<payee> & <period> are wrong; " * 200


def record(n: int, *, long: bool = False, **extra: object) -> FailedRecord:
    """A failed record; `long` fills every text field to its longest."""
    values: dict[str, object] = {
        "source_id": (f"RMB-{n:04d}-" + "X" * 118) if long else f"RMB-2026-{n:04d}",
        "kind": "reimbursement",
        "payee_id": "P" * 128 if long else "VOL-1",
        "payee_name": ("<!channel> " + "N" * 250) if long else "Ada Lovelace",
        "amount": Decimal("123456789012.25"),
        "currency": "USD",
        "error_class": "needs_attention",
        "last_error": LONG_ERROR if long else "503 the ledger is offline",
        "errors": (LONG_ERROR,),
        "retry_count": 7,
        "next_attempt_at": WHEN,
        "parked": False,
        "state": "failed",
    }
    values.update(extra)
    return FailedRecord(**values)  # type: ignore[arg-type]


def page_of(n: int, *, long: bool = False, total: int = 200, cursor: int | None = 99) -> FailedPage:
    return FailedPage(tuple(record(i, long=long) for i in range(n)), total, cursor)


def render(page: FailedPage, state: ListState | None = None, nonce: str = "n1", size: int = 10):
    state = state or ListState()
    return as_dicts(failed_list(page, state, page_size=size, queue_total=200, nonce=nonce))


def elements(blocks: list[dict], action_id: str) -> list[dict]:
    found = []
    for block in blocks:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if element and element.get("action_id") == action_id:
                found.append(element)
    return found


@pytest.mark.parametrize("size", [1, 10, MAX_PAGE_SIZE])
def test_a_full_page_of_the_longest_records_fits_slacks_limits(size):
    blocks = render(page_of(size, long=True), ListState(page=3, after=40), size=size)
    assert problems(blocks) == []
    assert len(blocks) <= 50
    assert block_text_chars(blocks) <= 12_000
    assert all(len(e["options"]) <= 10 for e in elements(blocks, Ids.ROW_CHECK))
    assert len(elements(blocks, Ids.ROW_CHECK)) == size


def test_each_row_shows_what_an_admin_needs():
    blocks = render(page_of(1))
    row = next(b for b in blocks if b["block_id"].startswith(Ids.LIST_ROW))
    text = row["text"]["text"]
    for part in ("RMB-2026-0000", "reimbursement", "Ada Lovelace", "123456789012.25 USD"):
        assert part in text
    assert "503 the ledger is offline" in text and "needs_attention" in text
    assert "retries: 7" in text and "<!date^1795424400^" in text
    assert row["accessory"]["options"][0]["value"] == "RMB-2026-0000"


def test_untrusted_text_cannot_ping_or_break_the_markup():
    blocks = render(page_of(1, long=True))
    row = next(b for b in blocks if b["block_id"].startswith(Ids.LIST_ROW))
    assert "<!channel>" not in row["text"]["text"]
    assert "&lt;!channel&gt;" in row["text"]["text"]


def test_every_render_has_new_unique_block_ids():
    first, second = render(page_of(10), nonce="aaaa"), render(page_of(10), nonce="bbbb")
    ids_first = [b["block_id"] for b in first]
    assert len(ids_first) == len(set(ids_first))
    assert not set(ids_first) & {b["block_id"] for b in second}


def test_buttons_page_and_retry_with_the_list_state():
    blocks = render(page_of(10, cursor=57), ListState(kind="honorarium", after=12, page=2))
    [retry_all] = elements(blocks, Ids.RETRY_ALL)
    # A figure of the moment the list was drawn; the button itself promises no number.
    assert "200 records were in the queue when this list was drawn" in str(retry_all["confirm"])
    assert retry_all["confirm"]["confirm"]["text"] == "Retry all"
    [ahead] = elements(blocks, Ids.PAGE_NEXT)
    assert ListState.decode(ahead["value"]) == ListState("honorarium", None, 57, 3)
    [back] = elements(blocks, Ids.PAGE_PREV)
    assert ListState.decode(back["value"]) == ListState("honorarium", None, None, 1)
    [selected] = elements(blocks, Ids.RETRY_SELECTED)
    assert ListState.decode(selected["value"]) == ListState("honorarium", None, 12, 2)


@pytest.mark.parametrize("queued", [1, 12])
def test_retry_all_confirms_promise_no_count_the_click_cannot_keep(queued):
    """The click retries the queue as it is then: each surface says how many were in it when
    it was drawn, and the confirm button carries no number."""
    page = page_of(1, total=queued)
    drawn = {
        "list": as_dicts(
            failed_list(page, ListState(), page_size=10, queue_total=queued, nonce="n")
        ),
        "alert": as_dicts(
            alert_blocks(AlertDraft(None, "C1", None, WHEN, 1, 0, (), (), queued), "n")
        ),
        "dashboard": home_view(status(), queue_total=queued, list_link=None, nonce="n").to_dict()[
            "blocks"
        ],
    }
    were = "1 record was" if queued == 1 else f"{queued} records were"
    for surface, blocks in drawn.items():
        [button] = elements(blocks, Ids.RETRY_ALL)
        confirm = button["confirm"]
        assert f"{were} in the queue when this {surface} was drawn." in confirm["text"]["text"]
        assert "at the moment you confirm" in confirm["text"]["text"]
        assert not any(ch.isdigit() for ch in confirm["confirm"]["text"] + confirm["title"]["text"])
        assert problems(blocks, surface="view" if surface == "dashboard" else "message") == []


def test_filters_lead_to_the_first_page_with_the_other_filter_kept():
    blocks = render(page_of(3), ListState(kind="honorarium", error_class="auth", after=9, page=4))
    [kinds] = elements(blocks, Ids.FILTER_KIND)
    [classes] = elements(blocks, Ids.FILTER_CLASS)
    assert kinds["initial_option"]["text"]["text"] == "honorarium"
    assert classes["initial_option"]["text"]["text"] == "auth"
    states = [ListState.decode(o["value"]) for o in kinds["options"]]
    assert states == [ListState(k, "auth") for k in (None, "reimbursement", "honorarium")]


def test_first_and_last_pages_have_no_way_further():
    blocks = render(page_of(3, total=3, cursor=None))
    assert not elements(blocks, Ids.PAGE_PREV) and not elements(blocks, Ids.PAGE_NEXT)
    assert "page 1 of 1" in blocks[1]["elements"][0]["text"]


def test_an_empty_queue_offers_no_retry():
    page = FailedPage((), 0, None)
    blocks = as_dicts(failed_list(page, ListState(), page_size=10, queue_total=0, nonce="n"))
    assert not elements(blocks, Ids.RETRY_ALL) and not elements(blocks, Ids.RETRY_SELECTED)
    assert any("empty" in (b.get("text") or {}).get("text", "") for b in blocks)
    assert failed_list_text(page, ListState()) == "0 failed accounting sync(s)"


def failures(n: int, long: bool = False) -> tuple[FailedResult, ...]:
    error = LONG_ERROR if long else "422 period closed"
    return tuple(
        FailedResult(f"RMB-2026-{i:04d}", error, "needs_attention", i, WHEN) for i in range(n)
    )


def test_a_short_retry_reply_names_each_record():
    result = RetryResult(
        7,
        (Succeeded("RMB-1", "LEDGER-42"),),
        failures(2),
        (Skipped("RMB-9", "already in flight (another retry holds it)"),),
    )
    blocks = as_dicts(retry_reply(result, requested_by="UADMIN1", kind="selected", nonce="n"))
    text = "\n".join(b["text"]["text"] for b in blocks)
    assert "retry event 7" in text and "<@UADMIN1>" in text
    assert "`RMB-1` succeeded: booked as `LEDGER-42`" in text
    assert "422 period closed" in text and "retry count 1" in text
    assert "`RMB-9` skipped: already in flight" in text
    assert len(blocks) == 1 + 4 and problems(blocks) == []


@pytest.mark.parametrize("n", [21, 500, 5000])
def test_a_long_retry_reply_is_a_summary_within_the_limits(n):
    skipped = tuple(Skipped(f"HON-{i}", "already in flight") for i in range(30))
    result = RetryResult(8, (), failures(n, long=True), skipped)
    blocks = as_dicts(retry_reply(result, requested_by="U1", kind="all", nonce="n"))
    assert problems(blocks) == []
    rows = [b for b in blocks if b["block_id"].startswith(Ids.RESULT_ROW)]
    assert len(rows) == 20
    assert f"{n} failed again" in blocks[0]["text"]["text"]
    assert f"{n - 20} more failed again" in blocks[-1]["elements"][0]["text"]
    assert (
        "and 10 more"
        in next(b for b in blocks if b["block_id"].startswith(Ids.RESULT_MORE))["text"]["text"]
    )


def test_progress_and_parent_messages_fit():
    assert problems(as_dicts(progress_reply(40, 5000, "U1", "all", "n"))) == []
    ids = tuple(f"RMB-{i}" for i in range(100))
    parent = as_dicts(retry_parent("U1", ids, 100, "n"))
    assert problems(parent) == [] and "and 80 more" in parent[0]["text"]["text"]


def status() -> Status:
    return Status(
        by_state={"pending": 1, "syncing": 0, "succeeded": 40, "failed": 3, "resolved": 1},
        by_error_class={"transient": 2, "needs_attention": 1, "auth": 0},
        parked=1,
        last_success_at=WHEN,
        last_gateway_answer="503 upstream_unavailable",
        last_gateway_answer_at=WHEN,
    )


def test_the_dashboard_shows_counts_and_the_buttons():
    view = home_view(status(), queue_total=3, list_link="<https://x|open it>", nonce="n").to_dict()
    assert view["type"] == "home" and problems(view["blocks"], surface="view") == []
    text = str(view["blocks"])
    assert "*succeeded*\\n40" in text and "*transient*\\n2" in text and "*parked*\\n1" in text
    assert "503 upstream_unavailable" in text and "open it" in text
    assert elements(view["blocks"], Ids.VIEW_FAILED) and elements(view["blocks"], Ids.RETRY_ALL)


def test_a_non_admin_home_has_no_figures():
    view = home_refused("n").to_dict()
    assert not any(ch.isdigit() for ch in str(view["blocks"]).replace("home_note.n", ""))
    assert not elements(view["blocks"], Ids.VIEW_FAILED)


@pytest.mark.parametrize(
    "value",
    ['{"k":"payroll"}', '{"c":"fatal"}', '{"a":-1}', '{"p":0}', '{"p":"2"}', "[]", "nope", None],
)
def test_a_forged_or_foreign_list_state_is_refused(value):
    with pytest.raises(BadListState):
        ListState.decode(value)
