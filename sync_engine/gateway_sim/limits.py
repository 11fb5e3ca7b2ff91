"""The gateway's rate limits: a sliding one-minute window and a cap on requests at once."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sync_engine.gateway_sim.config import SimConfig

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Refusal:
    """Which limit turned a request away ("minute" or "concurrent") and when to come back."""

    problem: str
    retry_after: int


class Limiter:
    """Admits requests under the configured limits; read live, so tests may change the config."""

    def __init__(
        self,
        config: SimConfig,
        clock: Callable[[], float] = time.monotonic,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._config = config
        self._clock = clock
        self._window_seconds = window_seconds  # the Xero double also keeps a daily window
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._active = 0

    def acquire(self) -> Refusal | None:
        """Admit one request (call `release` when it is answered) or say why not."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            per_minute, at_once = self._config.rate_per_minute, self._config.concurrency
            if per_minute and len(self._window) >= per_minute:
                # The oldest admitted request leaves the window first, freeing the next slot.
                wait = self._window[0] + self._window_seconds - now
                return Refusal("minute", max(1, math.ceil(wait)))
            if at_once and self._active >= at_once:
                return Refusal("concurrent", 1)
            # Only admitted requests count, so a client honouring Retry-After gets in on time.
            self._window.append(now)
            self._active += 1
            return None

    def remaining(self) -> int | None:
        """Requests the window still admits now (None: no rate limit)."""
        with self._lock:
            self._expire(self._clock())
            limit = self._config.rate_per_minute
            return max(0, limit - len(self._window)) if limit else None

    def _expire(self, now: float) -> None:
        # Callers hold the lock.
        while self._window and self._window[0] <= now - self._window_seconds:
            self._window.popleft()

    def release(self) -> None:
        """End one admitted request."""
        with self._lock:
            self._active -= 1

    def reset(self) -> None:
        """Forget the minute window; requests being handled still hold their slots."""
        with self._lock:
            self._window.clear()
