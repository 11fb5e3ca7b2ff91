"""The HTTP/1.1 transport: a threading server with keep-alive whose connections stop can cut."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sync_engine.gateway_sim.messages import Answer, Request, problem_answer

App = Callable[[Request, float], Answer]
MAX_LINE = 65536


class SimServer(ThreadingHTTPServer):
    """Serves `app` on a thread per connection and remembers connections so `close` can end them."""

    daemon_threads = True
    # The default backlog of 5 drops connections when a benchmark opens many at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._open: dict[Any, threading.Thread] = {}
        self._open_lock = threading.Lock()
        super().__init__(address, SimHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve one connection on its own daemon thread, registered before it starts."""
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True
        )
        with self._open_lock:
            self._open[request] = thread
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up mid-answer (normal after a client timeout)."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def close(self, timeout: float = 5.0) -> None:
        """Cut every open connection, join their threads, and close the listening socket."""
        with self._open_lock:
            open_now = list(self._open.items())
        for connection, _ in open_now:
            with contextlib.suppress(OSError):  # the client may have closed it already
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in open_now:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.server_close()


class SimHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a `Request` for the app and writes back its `Answer`."""

    protocol_version = "HTTP/1.1"
    server_version = "syncbot-gateway-sim/1"
    sys_version = ""
    # An idle keep-alive connection is dropped after this long, so threads do not pile up.
    timeout = 300
    # Headers and body go out in two writes; with Nagle on, the second waits ~40 ms for an ACK.
    disable_nagle_algorithm = True
    server: SimServer

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    def do_POST(self) -> None:
        """Serve a POST."""
        self._serve()

    def do_PUT(self) -> None:
        """Serve a PUT (answered 405 by the app)."""
        self._serve()

    def do_DELETE(self) -> None:
        """Serve a DELETE (answered 405 by the app)."""
        self._serve()

    def do_PATCH(self) -> None:
        """Serve a PATCH (answered 405 by the app)."""
        self._serve()

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks read the journal instead."""

    def _serve(self) -> None:
        received_at = time.monotonic()
        body = self._read_body()
        if body is None:
            # The framing is broken, so the rest of the stream cannot be trusted either.
            self.close_connection = True
            self._send(problem_answer("malformed_request", "unreadable request body framing"))
            return
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            answer = self.server.app(request, received_at)
        except Exception:
            traceback.print_exc()
            answer = problem_answer("server_error", "the simulator itself failed (a bug)")
        self._send(answer)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        return self.rfile.read(size) if size >= 0 else None

    def _read_chunks(self) -> bytes | None:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(MAX_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers carry nothing the simulator needs
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(MAX_LINE)

    def _send(self, answer: Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
