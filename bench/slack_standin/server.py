"""A local stand-in for Slack's Web API: a real HTTP server on loopback that records every call.

It answers the methods the bot uses the way Slack does, refuses blocks over Slack's limits,
keeps each posted message's current version (so a test can click what Slack would show), and
can be told to answer 429 (with Retry-After) or 500 for the next few calls of a method.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench.slack_standin.methods import ANSWERS, CHANNEL_KINDS

JSON_FIELDS = ("blocks", "view", "attachments", "metadata")


@dataclass
class Call:
    """One Web API call as the stand-in received it."""

    method: str
    params: dict[str, Any]
    token: str | None
    status: int = 200
    error: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class Fault:
    """Answer the next `times` calls of `method` with this HTTP status."""

    method: str
    times: int
    status: int
    retry_after: int = 1


@dataclass
class Messages:
    """Every message posted, in its current version, keyed by (channel, ts)."""

    by_key: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    serial: int = 0

    def add(self, channel: str, params: dict[str, Any]) -> dict[str, Any]:
        self.serial += 1
        ts = f"{1_800_000_000 + self.serial}.{self.serial:06d}"
        message = {**params, "channel": channel, "ts": ts}
        self.by_key[(channel, ts)] = message
        return message


class SlackStandIn:
    """The stand-in; `url` is the base URL to give the bot as SLACK_API_URL."""

    def __init__(
        self,
        token: str,
        *,
        not_member: set[str] | None = None,
        usergroups: dict[str, list[str]] | None = None,
        app_token: str | None = None,
    ) -> None:
        self.token, self.app_token = token, app_token
        self.socket_url: str | None = None  # what apps.connections.open answers
        self.not_member = not_member or set()
        self.usergroups = usergroups or {}
        # conversations.info: channel id -> "public", "ext_shared" or "hidden" (else private).
        self.channels: dict[str, str] = dict(CHANNEL_KINDS)
        # method -> the error Slack answers every call of it with (HTTP 200, ok: false).
        self.refusing: dict[str, str] = {}
        # method -> an event its calls wait for before they are answered (a slow Slack).
        self.held: dict[str, threading.Event] = {}
        self.messages = Messages()
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._lock = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        """http://127.0.0.1:port"""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The Web API base URL."""
        return self.base + "/api/"

    def response_url(self, name: str = "r") -> str:
        """A response_url for a payload; what is posted to it is recorded as `response_url`."""
        return f"{self.base}/response/{name}"

    def __enter__(self) -> SlackStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail_next(self, method: str, times: int, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with `status` (429 carries Retry-After)."""
        with self._lock:
            self._faults.append(Fault(method, times, status, retry_after))

    def calls(self, method: str | None = None) -> list[Call]:
        """Calls so far (of one method), oldest first; refused ones included."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def refused(self) -> list[Call]:
        """Calls answered with `ok: false` because of what they held (not injected faults)."""
        return [c for c in self.calls() if c.error and c.status == 200]

    def wait_for(
        self,
        method: str,
        match: Callable[[Call], bool] = lambda _c: True,
        count: int = 1,
        timeout: float = 15.0,
    ) -> list[Call]:
        """Wait until `count` accepted calls of `method` match; they are returned."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [
                    c
                    for c in self._calls
                    if c.method == method and c.error is None and c.status == 200 and match(c)
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.error, c.status) for c in self._calls]
                    raise AssertionError(f"no {count} x {method} within {timeout}s; saw {seen}")
                self._lock.wait(left)

    def wait_for_status(
        self, method: str, status: int, count: int = 1, timeout: float = 15.0
    ) -> list[Call]:
        """Wait until `count` calls of `method` were answered with HTTP `status`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method and c.status == status]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} x {method} answered {status} in {timeout}s")
                self._lock.wait(left)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """A message's current version (after every chat.update)."""
        with self._lock:
            return dict(self.messages.by_key[(channel, ts)])

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The replies in a message's thread, current versions, oldest first."""
        with self._lock:
            return [
                dict(m)
                for (ch, _), m in sorted(self.messages.by_key.items(), key=lambda kv: kv[0][1])
                if ch == channel and m.get("thread_ts") == ts
            ]

    # -- called by the handler, under the lock ----------------------------------------------

    def handle(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            call = Call(method, params, token)
            self._calls.append(call)
            status, body, headers = self._answer(call)
            call.status, call.answer = status, body
            call.error = None if body.get("ok", True) else body.get("error")
            self._lock.notify_all()
            return status, body, headers

    def _fault(self, method: str) -> Fault | None:
        for fault in self._faults:
            if fault.method == method and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _answer(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        fault = self._fault(call.method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.status == 429 else {}
            error = "ratelimited" if fault.status == 429 else "internal_error"
            return fault.status, {"ok": False, "error": error}, headers
        if call.method in self.refusing:
            return 200, {"ok": False, "error": self.refusing[call.method]}, {}
        # apps.connections.open takes the app-level token; every other method the bot token.
        wanted = self.app_token if call.method == "apps.connections.open" else self.token
        if call.method != "response_url" and call.token != wanted:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        answer = ANSWERS.get(call.method)
        if answer is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, answer(self, call.params), {}


def _params(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query))
    if raw and "json" in content_type:
        params.update(json.loads(raw))
    elif raw:
        params.update(parse_qsl(raw.decode()))
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            params[name] = json.loads(params[name])
    return params


def _handler_for(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            params = _params(raw, self.headers.get("Content-Type") or "", parts.query)
            if parts.path.startswith("/response/"):
                method = "response_url"
            else:
                method = parts.path.removeprefix("/api/")
            gate = standin.held.get(method)
            if gate is not None:
                gate.wait(15)  # outside the stand-in's lock: other calls are answered meanwhile
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ") or params.get("token")
            status, body, headers = standin.handle(method, params, token)
            self._reply(status, body, headers)

        def _reply(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
