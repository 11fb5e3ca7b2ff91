"""A pacing rate limiter: a sliding 60-second window of requests, shared by the sending threads."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Blocks each request until it fits in the window, so the gateway never needs to say 429."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._reserved = threading.local()

    def reserve(self) -> None:
        """Take a slot now for this thread's next request (before claiming the work it carries)."""
        self.acquire()
        self._reserved.held = True

    def acquire(self) -> None:
        """Wait for a free slot, then take it; a slot this thread reserved is used first."""
        if getattr(self._reserved, "held", False):
            self._reserved.held = False
            return
        while True:
            wait = self._try_take()
            if wait <= 0:
                return
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (the gateway's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _try_take(self) -> float:
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return self._paused_until - now
            if self.per_minute <= 0:
                return 0.0
            while self._sent and self._sent[0] + WINDOW_SECONDS <= now:
                self._sent.popleft()
            if len(self._sent) < self.per_minute:
                self._sent.append(now)
                return 0.0
            return self._sent[0] + WINDOW_SECONDS - now
