"""A pacing rate limiter shared by the sending threads: requests evenly spaced, never a burst.

With `per_minute` N, requests leave at least 60/N seconds apart (plus a 1% margin for the
jitter between leaving here and arriving there), so any 60-second window the gateway looks at
holds at most N of them, and the gateway never needs to answer 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MARGIN = 0.01
# The longest the whole client holds back after one 429: a Retry-After of an hour (a daily
# limit) must not leave a person's manual retry, a lookup or a probe waiting silently for it.
# The records refused still wait their full Retry-After (it is the floor of their next retry).
MAX_PAUSE_SECONDS = 60.0


class RateLimiter:
    """Hands out evenly spaced send times; `pause` holds every request back (Retry-After)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.interval = WINDOW_SECONDS / per_minute * (1 + MARGIN) if per_minute > 0 else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_free = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._reserved = threading.local()

    def reserve(self) -> None:
        """Take a slot now for this thread's next request (before claiming the work it carries)."""
        self.acquire()
        self._reserved.held = True

    def acquire(self) -> None:
        """Wait for this request's turn; a slot this thread reserved is used first."""
        if getattr(self._reserved, "held", False):
            self._reserved.held = False
            return
        wait = self._take()
        while wait > 0:
            self._sleep(wait)
            # a pause may have come in while this thread slept
            with self._lock:
                wait = self._paused_until - self._clock()

    def pause(self, seconds: float) -> None:
        """Hold every request back for `seconds` (the gateway's Retry-After), at most a minute."""
        with self._lock:
            until = self._clock() + min(seconds, MAX_PAUSE_SECONDS)
            self._paused_until = max(self._paused_until, until)
            self._next_free = max(self._next_free, until)

    def _take(self) -> float:
        """Book the next send time and return how long to wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free, self._paused_until)
            self._next_free = slot + self.interval
            return slot - now
