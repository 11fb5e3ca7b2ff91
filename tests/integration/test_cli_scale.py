"""`syncbot retry` and `sync` with many results: every row up to 50, a summary above that.

A table of 10,000 rows took longer to draw than the retry took to send (docs/performance.md),
and no person reads it: above 50 results the command prints counts by outcome and error
class, the first 20 failures and the command that lists the rest. `--json` still answers
with every result, its keys and layout as before, written as it is converted.
"""

from __future__ import annotations

import json
import re

from tests.integration.cli_harness import (
    RETRY_KEYS,
    VALIDATION_404,
    Cli,
    Gateway,
    arrange,
    cli_on,
    fresh_gateway,
    gateway,
    ids,
    record,
)

__all__ = ["cli_on", "fresh_gateway", "gateway"]  # fixtures, used by name

WIDE = {"COLUMNS": "400"}


def sixty(prefix: str) -> list[dict[str, object]]:
    """60 records; the even ones are for payee VOL-404, whom the ledger does not know."""
    return [record(f"{prefix}-{n:04d}", "VOL-404" if n % 2 == 0 else "VOL-11") for n in range(60)]


def shown(out: str, source_ids: list[str]) -> list[str]:
    """The ids among `source_ids` that the output names."""
    return [s for s in source_ids if re.search(rf"\b{re.escape(s)}\b", out)]


def same_layout(ran_out: str) -> None:
    """The streamed answer is one JSON document laid out as `json.dumps(indent=2)` lays it."""
    assert ran_out == json.dumps(json.loads(ran_out), indent=2, ensure_ascii=False) + "\n"


def test_retry_all_of_60_prints_a_summary_and_json_every_result(
    cli_on: Cli, gateway: Gateway
) -> None:
    rows = sixty("RMB")
    # Both batches answered 503 (too few to be an outage): all 60 wait in the failed queue,
    # their automatic retries far off (full jitter could otherwise make one due at once).
    unavailable = {"kind": "unavailable", "count": 2}
    arrange(cli_on, rows, VALIDATION_404, unavailable, batch_size=30, backoff_base_seconds=3600)
    even = [str(r["source_id"]) for r in rows[0::2]]
    odd = [str(r["source_id"]) for r in rows[1::2]]

    summary = cli_on("retry", "--all", env=WIDE).expect(1).out
    assert "60 results: 30 succeeded, 30 failed, 0 skipped" in summary
    assert "failed by error class: needs_attention 30" in summary
    assert len(shown(summary, even)) == 20 and shown(summary, odd) == []
    assert "10 more failures: `syncbot failed` lists every record in the failed queue" in summary
    assert "VOL-404" in summary  # the failures' errors are shown

    some, every = cli_on.together(["retry", *even[:25], "--json"], ["retry", *even[25:]], env=WIDE)
    answer = some.expect(1).json()
    assert set(answer) == RETRY_KEYS and isinstance(answer["retry_event_id"], int)
    assert ids(answer["failed"]) == even[:25] and answer["succeeded"] == []
    assert all(f["error_class"] == "needs_attention" for f in answer["failed"])
    same_layout(some.out)
    # Up to 50 results the table names every record.
    assert shown(every.expect(1).out, even[25:]) == even[25:]


def test_sync_of_60_prints_a_summary_and_json_every_result(cli_on: Cli, gateway: Gateway) -> None:
    gateway.add_faults(VALIDATION_404)
    first = sixty("HON")
    cli_on("import", str(cli_on.write_json("first.json", first))).expect(0)
    summary = cli_on("sync", env=WIDE).expect(1).out
    assert "First postings" in summary
    assert "60 results: 30 succeeded, 30 failed, 0 skipped" in summary
    assert len(shown(summary, [str(r["source_id"]) for r in first[0::2]])) == 20

    second = sixty("RMB")
    cli_on("import", str(cli_on.write_json("second.json", second))).expect(0)
    ran = cli_on("sync", "--json").expect(1)
    answer = ran.json()
    keys = {"initial", "retries", "recovered_leases", "outage", "held_back", "paused"}
    assert set(answer) == keys
    assert set(answer["initial"]) == RETRY_KEYS
    assert len(answer["initial"]["succeeded"]) == 30 and len(answer["initial"]["failed"]) == 30
    assert answer["outage"] is None and answer["held_back"] == 0
    same_layout(ran.out)
