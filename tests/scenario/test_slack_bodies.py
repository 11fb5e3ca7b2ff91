"""Bodies (issue 10, point 5): `/slack/events` refuses a body over 1 MB with 413 before reading
it, waitress's own cap is set, and many large bodies at once do not grow the process."""

from __future__ import annotations

import io
import select
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.slack_standin import payloads
from bot.slack.server import MAX_BODY_BYTES, wsgi_app
from tests.scenario.conftest import ADMIN, CHANNEL, SECRET
from tests.scenario.test_serve import start_serve, wait_healthy

MB = 1024 * 1024


def test_a_body_over_1_mb_is_refused_with_413(harness, slack):
    url = harness.http.url + "/slack/events"
    client = harness.http.client
    over = b"payload=" + b"x" * (MAX_BODY_BYTES + 1 - len(b"payload="))
    signed = {**payloads.signed_headers(over, SECRET), "Content-Type": "text/plain"}
    answer = client.post(url, content=over, headers=signed)
    assert answer.status_code == 413

    # Chunked, so no Content-Length says how long it is: refused all the same.
    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"x" * (MB // 2)

    assert client.post(url, content=chunks(), headers=signed).status_code == 413
    # At exactly 1 MB the body is read, and refused for what it is (here: unsigned).
    at_cap = over[:MAX_BODY_BYTES]
    assert client.post(url, content=at_cap).status_code == 401
    # A Slack request still gets through.
    fields = payloads.slash_command("help", ADMIN, CHANNEL, slack.response_url())
    assert harness.http.send(*payloads.form_body("slash_commands", fields)).status_code == 200


def test_a_body_too_large_by_its_length_is_refused_before_it_is_sent(harness):
    """The server's own cap answers from the headers alone, and waits for no body."""
    port = int(harness.http.url.rsplit(":", 1)[1])
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {5 * MB}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head)
        answer = conn.recv(4096)  # no byte of the body sent
    assert answer.startswith(b"HTTP/1.1 413 ")


class Body(io.BytesIO):
    """A request body that remembers the most that was read of it."""


def call(bot: Any, body: bytes, **environ: Any) -> tuple[str, Body]:
    """Run one POST /slack/events through the WSGI app itself; its status and its body."""
    stream = Body(body)
    answer: list[str] = []
    base = {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST", "wsgi.input": stream}
    wsgi_app(bot)({**base, **environ}, lambda status, _headers: answer.append(status))
    return answer[0], stream


def test_the_app_itself_reads_no_more_than_the_cap(bot):
    """Behind any WSGI server, not only waitress: a large body is never read whole."""
    big = b"x" * (5 * MB)
    status, body = call(bot, big, CONTENT_LENGTH=str(len(big)))
    assert status.startswith("413") and body.tell() == 0  # refused by its length, unread
    # No length (chunked), the stream ending where the body does: read to the cap, no further.
    status, body = call(bot, big, **{"wsgi.input_terminated": True})
    assert status.startswith("413") and body.tell() == MAX_BODY_BYTES + 1
    # A length that lies (shorter than what follows): only that much is read.
    status, body = call(bot, big, CONTENT_LENGTH="10")
    assert status.startswith("401") and body.tell() == 10
    status, body = call(bot, big, CONTENT_LENGTH="-1")
    assert status.startswith("401") and body.tell() == 0


def rss_kb(pid: int, field: str) -> int:
    """A memory figure of a process (VmRSS, VmHWM) in kB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def send_large(port: int, size: int) -> int:
    """POST `size` bytes, unsigned, stopping as soon as the server answers; its status."""
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode()
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head)
        sent = 0
        try:
            while sent < size and not select.select([conn], [], [], 0)[0]:
                conn.sendall(chunk[: size - sent])
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: its answer is still to be read
        answer = conn.recv(4096)
    return int(answer.split(b" ", 2)[1])


@pytest.mark.timeout(120)
def test_many_large_bodies_at_once_do_not_grow_the_server(sqlite_url, sim, slack, tmp_path):
    log = tmp_path / "serve.log"
    proc, url = start_serve(log, sqlite_url, sim, slack)
    try:
        wait_healthy(url, proc, log)
        port = int(url.rsplit(":", 1)[1])
        before = rss_kb(proc.pid, "VmRSS")
        statuses: list[int] = []
        gate = threading.Barrier(20)

        def one() -> None:
            gate.wait()
            statuses.append(send_large(port, 5 * MB))

        threads = [threading.Thread(target=one) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        peak = rss_kb(proc.pid, "VmHWM")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()
    assert statuses == [413] * 20
    # 20 bodies of 5 MB would be 100 MB held; refused unread, they cost next to nothing.
    assert peak - before < 20 * 1024, (before, peak)
