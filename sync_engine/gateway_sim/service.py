"""A double's life on loopback: start in a background thread, `.url`, stop, serve until Ctrl-C.

Shared by every ledger double (the gateway simulator, and through `sync_engine.sim_service` the
QuickBooks and Xero doubles), which each override `handle` and may build another server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.gateway_sim.server import SimServer


class Service:
    """Serves `handle` on loopback in a background thread; `with` starts and stops it."""

    name = "simulator"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request (overridden by each double)."""
        raise NotImplementedError

    def make_server(self, host: str, port: int) -> SimServer:
        """The HTTP server `start` runs (a double may serve with another handler)."""
        return SimServer((host, port), self.handle)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; return the base URL (port 0 picks a free port)."""
        if self._server is not None:
            raise RuntimeError(f"the {self.name} is already running")
        self.stopping.clear()
        server = self.make_server(host, port)
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
        """Wait `seconds`, or less if the service stops meanwhile (never sleeps past stop())."""
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


def serve_until_interrupted(
    service: Service, host: str, port: int, announce: Callable[[str], list[str]]
) -> None:
    """Start `service`, print the lines `announce(url)` gives, serve until Ctrl-C, then stop."""
    try:
        url = service.start(host, port)
        for line in announce(url):
            print(line, flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
