"""The CLI's long JSON answers are written as they are converted, laid out as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from bot.render import Streamed, json_chunks, plain, retry_stream
from sync_engine.results import Failed, RetryResult, Skipped, Succeeded

WHEN = datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)


def test_chunks_read_as_json_dumps_indent_2_would_write() -> None:
    result = RetryResult(
        7,
        (Succeeded("RMB-1", "ACC-1"), Succeeded("RMB-[/]", "[link=x]ACC[/link]")),
        (Failed("HON-2", "422 \x1b[2J: é", "needs_attention", 1, WHEN, parked=True),),
        (),
    )
    data = {"initial": retry_stream(result), "n": 3, "outage": None, "empty": {}, "d": Decimal(1)}
    expected = {
        "initial": {
            "retry_event_id": 7,
            "succeeded": plain(result.succeeded),
            "failed": plain(result.failed),
            "skipped": [],
        },
        "n": 3,
        "outage": None,
        "empty": {},
        "d": "1",
    }
    assert "".join(json_chunks(data)) == json.dumps(expected, indent=2, ensure_ascii=False)
    assert "".join(json_chunks(Streamed([]))) == "[]"


def test_a_streamed_array_is_converted_one_item_at_a_time() -> None:
    taken: list[int] = []

    def items() -> Iterator[Skipped]:
        for n in range(100_000):
            taken.append(n)
            yield Skipped(f"RMB-{n}", "already in flight")

    chunks = json_chunks({"retry_event_id": 1, "skipped": Streamed(items())})
    written = ""
    while '"RMB-0"' not in written:
        written += next(chunks)
    # The first record is written before the second is even read.
    assert taken == [0]
    assert sum(1 for _ in chunks) > 100_000 and len(taken) == 100_000
