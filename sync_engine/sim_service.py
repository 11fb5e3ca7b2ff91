"""A loopback HTTP service for the ledger doubles: bounded bodies and cut links.

The transport and its life (start, stop, `.url`) are the gateway simulator's
(`gateway_sim.server.SimServer`, `gateway_sim.service.Service`); this adds what the
doubles of real ledgers need beyond it: a cap on the body read from a client, and an answer
that drops the connection instead of writing (a ledger that booked and then lost the link).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sync_engine.gateway_sim.messages import Answer
from sync_engine.gateway_sim.server import SimHandler, SimServer
from sync_engine.gateway_sim.service import Service

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


class LoopbackService(Service):
    """A `Service` whose server bounds what it reads; `with` starts and stops it."""

    name = "ledger-sim"

    def refuse_body(self, status: int, detail: str) -> Answer:
        """The answer to a body the service will not read (overridden for the double's shape)."""
        return Answer(status, detail.encode(), content_type="text/plain")

    def make_server(self, host: str, port: int) -> BoundedServer:
        """The bounded server: MAX_BODY_BYTES read at most, and DROP cuts the connection."""
        return BoundedServer((host, port), self.handle, self.refuse_body)
