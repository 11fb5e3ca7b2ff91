"""Rate limiters shared by the sending threads: even pacing, or a sliding window.

`RateLimiter` spaces requests evenly: with `per_minute` N they leave at least 60/N seconds apart
(plus a 1% margin for the jitter between leaving here and arriving there), so any 60-second
window the gateway looks at holds at most N of them, and the gateway never needs to answer 429.

`SlidingWindowLimiter` lets a burst of up to N go at once and holds the N+1st until the first
has left the window (60 s plus the same 1% margin), for a ledger whose limit is N in any
sliding 60-second window (Xero). Both share `pause` (Retry-After) and `reserve` (`Pacer`).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0
MARGIN = 0.01
# The longest the whole client holds back after one 429: a Retry-After of an hour (a daily
# limit) must not leave a person's manual retry, a lookup or a probe waiting silently for it.
# The records refused still wait their full Retry-After (it is the floor of their next retry).
MAX_PAUSE_SECONDS = 60.0


class Pacer(ABC):
    """The shared half: a thread's reserved slot, `pause` for every request, the waiting."""

    def __init__(self, per_minute: int, clock: Callable[[], float], sleep: Callable[[float], None]):
        self.per_minute = per_minute
        self._clock = clock
        self._sleep = sleep
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
        with self._lock:
            now = self._clock()
            wait = self._book(max(now, self._paused_until)) - now
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
            self._paused(self._paused_until)

    @abstractmethod
    def _book(self, earliest: float) -> float:
        """Book (under the lock) the first send time at or after `earliest` the limit allows."""

    @abstractmethod
    def _paused(self, until: float) -> None:
        """Called under the lock when a pause holds requests back until `until`."""


class RateLimiter(Pacer):
    """Hands out evenly spaced send times; `pause` holds every request back (Retry-After)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(per_minute, clock, sleep)
        self.interval = WINDOW_SECONDS / per_minute * (1 + MARGIN) if per_minute > 0 else 0.0
        self._next_free = 0.0

    def _book(self, earliest: float) -> float:
        slot = max(earliest, self._next_free)
        self._next_free = slot + self.interval
        return slot

    def _paused(self, until: float) -> None:
        self._next_free = max(self._next_free, until)


class SlidingWindowLimiter(Pacer):
    """At most `per_minute` send times in any 60 s window (plus 1%): a burst goes at once."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(per_minute, clock, sleep)
        self.window = WINDOW_SECONDS * (1 + MARGIN)
        # the last `per_minute` send times handed out, oldest first (never decreasing)
        self._sent: deque[float] = deque(maxlen=max(per_minute, 1))

    def _book(self, earliest: float) -> float:
        if self.per_minute <= 0:
            return earliest
        slot = earliest
        if self._sent:
            slot = max(slot, self._sent[-1])  # keep the times in order
        if len(self._sent) == self.per_minute:
            slot = max(slot, self._sent[0] + self.window)  # the oldest leaves the window
        self._sent.append(slot)
        return slot

    def _paused(self, until: float) -> None:
        """Nothing to move: every booking starts at or after the pause's end already."""
