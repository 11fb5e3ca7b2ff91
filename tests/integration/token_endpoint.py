"""A stand-in OAuth token endpoint on loopback that rotates refresh tokens strictly (as QBO may).

Only the latest refresh token is accepted; any other is `400 invalid_grant`. Every refresh is
counted, so a test can tell how many processes refreshed. `refresher(url)` is the refresh
function an adapter would give the `TokenKeeper`, speaking real HTTP (urllib: the child
processes of the race tests import nothing of httpx).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sync_engine.credentials import RefreshRefused, Tokens


class TokenEndpoint:
    """The token endpoint's state: the one refresh token it accepts, and the refreshes served."""

    def __init__(self, *, expires_in: int = 3600, delay: float = 0.0) -> None:
        self.generation = 0
        self.expires_in = expires_in
        self.delay = delay
        self.refreshes = 0
        self.failing_status: int | None = None  # answer this status instead, once set
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The token URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/token"

    @property
    def refresh_token(self) -> str:
        """The refresh token it accepts now."""
        return f"RT-{self.generation}"

    @property
    def access_token(self) -> str:
        """The access token it issued last."""
        return f"AT-{self.generation}"

    def tokens(self) -> Tokens:
        """The current token set, as a code exchange would give it."""
        return Tokens(self.access_token, self.refresh_token, self.expires_in, 8726400)

    def revoke(self) -> None:
        """The user disconnected the app: no refresh token works any more."""
        with self._lock:
            self.generation += 1000

    def answer(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """The status and body for one token request."""
        time.sleep(self.delay)  # widens the window in which two refreshes could overlap
        with self._lock:
            if self.failing_status is not None:
                return self.failing_status, {"error": "server_error"}
            if form.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant", "error_description": "Token invalid"}
            self.generation += 1
            self.refreshes += 1
            return 200, {
                "token_type": "bearer",
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": self.expires_in,
                "x_refresh_token_expires_in": 8726400,
            }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("ascii")
                form = dict(urllib.parse.parse_qsl(body))
                status, answer = endpoint.answer(form)
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class EndpointDown(Exception):
    """The token endpoint answered 5xx: transient, the same refresh token may be tried again."""


def refresher(url: str) -> Callable[[str], Tokens]:
    """A refresh function speaking HTTP to `url`, as an adapter's would."""

    def refresh(refresh_token: str) -> Tokens:
        data = urllib.parse.urlencode(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        ).encode()
        try:
            with urllib.request.urlopen(url, data=data, timeout=10) as answer:
                return Tokens.from_answer(json.load(answer))
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
            if exc.code == 400:
                raise RefreshRefused(body["error"], body.get("error_description")) from None
            raise EndpointDown(f"token endpoint answered {exc.code}") from None

    return refresh
