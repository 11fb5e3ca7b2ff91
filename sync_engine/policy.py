"""The backoff policy: a pure function from a failure to the next automatic retry, or parking.

Automatic retry k (k = 1, 2, ...) of a failure streak waits a random time in
[0, min(cap, base * 2**(k-1))] (full jitter); a 429's Retry-After is a floor. A manual attempt
ends the streak, so the next automatic retry is step 1 again. Past the budget the record is parked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.vocabulary import ErrorClass


@dataclass(frozen=True)
class BackoffSettings:
    """Base and cap of the delay, in seconds, and the budget of automatic attempts per streak."""

    base_seconds: float
    cap_seconds: float
    max_auto_attempts: int


@dataclass(frozen=True)
class Decision:
    """After a failure: retry at `retry_at` (backoff step `step`), or not; `parked` when spent."""

    retry_at: datetime | None
    step: int | None
    parked: bool


def step_ceiling(step: int, backoff: BackoffSettings) -> float:
    """The longest wait, in seconds, before automatic retry number `step` of a streak."""
    exponent = min(step - 1, 62)  # past this 2**k only overflows; the cap has long applied
    return float(min(backoff.cap_seconds, backoff.base_seconds * 2**exponent))


def next_retry(
    *,
    auto_streak: int,
    error_class: str,
    retry_after: float | None,
    now: datetime,
    backoff: BackoffSettings,
    uniform: Callable[[float, float], float],
) -> Decision:
    """Decide the next automatic retry after a failure.

    `auto_streak` is how many automatic attempts the current streak has already made
    (0 after an initial or a manual attempt). Only transient errors are retried automatically;
    auth failures are parked, and needs_attention failures wait for a person.
    """
    if error_class == ErrorClass.AUTH:
        # Every posting would fail until the credentials are fixed: parked until the outage
        # probe finds the gateway answering again, which returns it to the queue at step 1.
        return Decision(retry_at=None, step=None, parked=True)
    if error_class != ErrorClass.TRANSIENT:
        return Decision(retry_at=None, step=None, parked=False)
    step = auto_streak + 1
    if step > backoff.max_auto_attempts:
        return Decision(retry_at=None, step=None, parked=True)
    delay = uniform(0.0, step_ceiling(step, backoff))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return Decision(retry_at=now + timedelta(seconds=delay), step=step, parked=False)
