"""A loopback HTTP service for the ledger doubles: start, stop, `.url`, bounded bodies, cut links.

The transport is the gateway simulator's (`gateway_sim.server.SimServer`); this adds what the
doubles of real ledgers need beyond it: a cap on the body read from a client, and an answer
that drops the connection instead of writing (a ledger that booked and then lost the link).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.gateway_sim.server import SimHandler, SimServer

# Thirty Bills with 4,000-character notes and descriptions fit well under this.
MAX_BODY_BYTES = 1 << 20
# A body over the cap but under this is read and discarded; a larger one ends the connection.
DRAIN_LIMIT = 16 * MAX_BODY_BYTES
# An answer with this status is never written: the connection is cut instead.
DROP = Answer(0, b"")
# What a too-large or unframed body gets; a service sets its own with `refuse_body`.
Refuse = Callable[[int, str], Answer]


class BoundedHandler(SimHandler):
    """`SimHandler` that never reads more than MAX_BODY_BYTES and can cut the connection."""

    server_version = "syncbot-ledger-sim/1"
    server: BoundedServer

    def _serve(self) -> None:
        length = self.headers.get("Content-Length", "")
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            refusal = self.server.refuse_body(411, "send a Content-Length, not a chunked body")
        elif length.isdigit() and int(length) > MAX_BODY_BYTES:
            refusal = self.server.refuse_body(413, f"the body is over {MAX_BODY_BYTES} bytes")
            # Drained a slice at a time so the client can finish sending and read the answer.
            if int(length) <= DRAIN_LIMIT:
                self._drain(int(length))
                self._send(refusal)
                return
        else:
            super()._serve()
            return
        # The unread body would be taken for the next request, so the connection ends here.
        self.close_connection = True
        self._send(replace(refusal, headers={**refusal.headers, "Connection": "close"}))

    def _drain(self, size: int) -> None:
        while size > 0:
            read = len(self.rfile.read(min(size, 65536)))
            if read == 0:
                break
            size -= read

    def _send(self, answer: Answer) -> None:
        if answer.status != DROP.status:
            super()._send(answer)
            return
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone first
            self.connection.shutdown(socket.SHUT_RDWR)


class BoundedServer(SimServer):
    """`SimServer` serving with `BoundedHandler`; `refuse_body` words its 411 and 413."""

    def __init__(self, address: tuple[str, int], app: Any, refuse_body: Refuse) -> None:
        super().__init__(address, app)
        self.RequestHandlerClass = BoundedHandler
        self.refuse_body = refuse_body


class LoopbackService:
    """Serves `handle` on loopback in a background thread; `with` starts and stops it."""

    name = "ledger-sim"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._server: BoundedServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request (overridden by each double)."""
        raise NotImplementedError

    def refuse_body(self, status: int, detail: str) -> Answer:
        """The answer to a body the service will not read (overridden for the double's shape)."""
        return Answer(status, detail.encode(), content_type="text/plain")

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; return the base URL (port 0 picks a free port)."""
        if self._server is not None:
            raise RuntimeError(f"the {self.name} is already running")
        self.stopping.clear()
        server = BoundedServer((host, port), self.handle, self.refuse_body)
        # A short poll keeps stop() quick: shutdown waits for the serving loop to notice.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        thread.name = self.name
        thread.start()
        self._server, self._thread = server, thread
        self._url = f"http://{host}:{server.server_address[1]}"
        return self._url

    def stop(self) -> None:
        """Stop serving, cut open connections and join every thread; safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self.stopping.set()  # ends injected delays at once
        server.shutdown()
        thread.join()
        server.close()

    @property
    def url(self) -> str:
        """The base URL, such as "http://127.0.0.1:54321"."""
        if self._url is None or self._server is None:
            raise RuntimeError(f"the {self.name} is not running; call start() first")
        return self._url

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the service stops meanwhile."""
        if seconds > 0:
            self.stopping.wait(seconds)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
