"""The `syncbot` command prints record, gateway and personal text as it is, never as markup.

rich reads `[...]` as style tags, `[link=...]` as hyperlinks and `:name:` as emoji: a payee
called `[/]` stopped every table that showed it with a MarkupError, and one called
`[link=https://x]Jane[/link]` showed as a bare "Jane" linked elsewhere. Control characters
(an escape sequence in a gateway's error) are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.integration.cli_harness import USER, Cli, Gateway, cli, fresh_gateway, gateway

__all__ = ["cli", "fresh_gateway", "gateway"]  # fixtures, used by name

WIDE = {"COLUMNS": "2000"}  # no table cell wraps, so each text is on one line
CLOSER = "[/]"
LINKED = "[link=https://x]Jane[/link]"
DETAIL = "[bold red]no such payee[/] [link=https://evil.example]fix it[/link] :warning: \x1b[2J"
SHOWN_DETAIL = DETAIL.replace("\x1b", "\\x1b")
REF = "[link=https://x]ACC-1[/link][/] :thumbs_up:"
REASON = "[link=https://x]booked[/link] by hand [/] :smile:"
ODD_IDS = ("RMB-[b]1[/b]", "HON-[/]-2", "RMB-:bomb:-3")


def odd_record(source_id: str, payee_name: str) -> dict[str, Any]:
    """An approved record whose source_id and payee name look like markup."""
    return {
        "source_id": source_id,
        "kind": "honorarium" if source_id.startswith("HON") else "reimbursement",
        "payee": {"id": "VOL-404", "name": payee_name},
        "amount": "42.50",
        "currency": "USD",
        "description": "[i]Food bank[/i] drive",
        "approved_at": "2026-11-20T15:04:05Z",
    }


class _HostileLedger(BaseHTTPRequestHandler):
    """Books every posting under a ledger reference that looks like markup."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith(":batch"):
            items = body["items"]
            answer = {
                "results": [
                    {"idempotency_key": i["idempotency_key"], "status": 201, "id": REF}
                    for i in items
                ]
            }
            self._send(200, answer)
        else:
            self._send(201, {"id": REF, "idempotency_key": self.headers["Idempotency-Key"]})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        return None


@pytest.fixture
def hostile_ledger() -> Iterator[str]:
    """A gateway on loopback whose ledger references are markup; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileLedger)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def literal(ran_out: str, *texts: str) -> None:
    """Each text is in the output as it is (control characters shown escaped)."""
    for text in texts:
        shown = text.replace("\x1b", "\\x1b")
        assert shown in ran_out, f"{shown!r} not printed literally in:\n{ran_out}"
    assert "\x1b" not in ran_out


def test_record_and_gateway_text_prints_literally_everywhere(
    cli: Cli, gateway: Gateway, hostile_ledger: str
) -> None:
    rows = [
        odd_record(ODD_IDS[0], CLOSER),
        odd_record(ODD_IDS[1], LINKED),
        odd_record(ODD_IDS[2], LINKED),
    ]
    path = cli.write_json("odd.json", rows)
    assert cli("import", str(path)).expect(0).out.strip() == "imported 3 record(s)"
    again = cli("import", str(path), env=WIDE).expect(0)
    literal(again.out, f"skipped as duplicates (3): {', '.join(ODD_IDS)}")
    bad = [odd_record("RMB-[b]9[/b]", CLOSER) | {"kind": "[link=https://x]gift[/link]"}]
    refused = cli("import", str(cli.write_json("bad.json", bad)), env=WIDE).expect(2)
    literal(refused.err, "[link=https://x]gift[/link]")

    gateway.add_faults({"kind": "validation", "payee_ids": ["VOL-404"], "detail": DETAIL})
    synced = cli("sync", env=WIDE).expect(1)
    literal(synced.out, *ODD_IDS, DETAIL)
    listed, status, one, unknown = cli.together(
        ["failed"], ["status"], ["retry", ODD_IDS[0]], ["retry", "NOPE-[/]"], env=WIDE
    )
    literal(listed.expect(0).out, *ODD_IDS, CLOSER, LINKED, DETAIL)
    literal(status.expect(0).out, DETAIL)
    literal(one.expect(1).out, ODD_IDS[0], DETAIL)
    literal(unknown.expect(2).reason(), "unknown source_id: NOPE-[/]")

    booked = cli("retry", ODD_IDS[1], env=WIDE | {"ACCOUNTING_GATEWAY_URL": hostile_ledger})
    literal(booked.expect(0).out, ODD_IDS[1], REF)
    resolved = cli("resolve", ODD_IDS[2], "--reason", REASON, env=WIDE).expect(0)
    literal(resolved.out, f"{ODD_IDS[2]} resolved by hand: {REASON}")

    first, second, third = cli.together(
        ["history", ODD_IDS[0]], ["history", ODD_IDS[1]], ["history", ODD_IDS[2]], env=WIDE
    )
    literal(first.expect(0).out, ODD_IDS[0], CLOSER, DETAIL)
    literal(second.expect(0).out, ODD_IDS[1], REF, LINKED)
    literal(third.expect(0).out, ODD_IDS[2], f"resolved by {USER}: {REASON}")


def test_json_answers_carry_the_text_exactly(cli: Cli, gateway: Gateway) -> None:
    path = cli.write_json("odd.json", [odd_record(ODD_IDS[1], LINKED)])
    cli("import", str(path)).expect(0)
    gateway.add_faults({"kind": "validation", "payee_ids": ["VOL-404"], "detail": DETAIL})
    synced, failed = cli("sync", "--json").expect(1), cli("failed", "--json").expect(0)
    [row] = synced.json()["initial"]["failed"]
    assert row["source_id"] == ODD_IDS[1] and DETAIL in row["error"]
    [listed] = failed.json()
    assert (listed["payee_name"], listed["last_error"]) == (LINKED, row["error"])
