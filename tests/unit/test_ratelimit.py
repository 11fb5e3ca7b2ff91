"""The pacing rate limiter, on a fake clock whose sleep moves time forward."""

from __future__ import annotations

import random
import threading

import pytest

from sync_engine.ratelimit import MARGIN, MAX_PAUSE_SECONDS, WINDOW_SECONDS, RateLimiter


class FakeTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def limiter_on(per_minute: int, start: float = 0.0) -> tuple[RateLimiter, FakeTime]:
    time = FakeTime(start)
    return RateLimiter(per_minute, clock=time.clock, sleep=time.sleep), time


def most_in_a_window(times: list[float]) -> int:
    """The most of `times` that any half-open 60-second window (t - 60, t] holds."""
    times = sorted(times)
    return max(sum(1 for u in times if t - WINDOW_SECONDS < u <= t) for t in times)


@pytest.mark.parametrize("per_minute", [1, 7, 60, 300])
def test_requests_are_evenly_spaced(per_minute):
    limiter, time = limiter_on(per_minute, start=12.5)
    released = []
    for _ in range(2 * per_minute):
        limiter.acquire()
        released.append(time.now)
    gap = WINDOW_SECONDS / per_minute * (1 + MARGIN)
    assert released == pytest.approx([12.5 + i * gap for i in range(2 * per_minute)])


@pytest.mark.parametrize("per_minute", [5, 60, 300])
@pytest.mark.parametrize("seed", range(5))
def test_no_window_ever_holds_more_than_the_limit(per_minute, seed):
    rng = random.Random(seed)
    limiter, time = limiter_on(per_minute)
    released = []
    for _ in range(3 * per_minute):
        time.now += rng.choice([0.0, 0.0, rng.uniform(0, 30)])  # bursts and lulls
        limiter.acquire()
        released.append(time.now)
    assert most_in_a_window(released) <= per_minute


@pytest.mark.parametrize("per_minute", [30, 120, 600])
def test_a_steady_stream_reaches_the_limit(per_minute):
    limiter, time = limiter_on(per_minute)
    sent = 0
    while time.now < 2 * WINDOW_SECONDS:
        limiter.acquire()
        sent += 1
    assert sent >= 0.95 * 2 * per_minute


def test_pause_holds_everything_back_then_spacing_resumes():
    limiter, time = limiter_on(60)
    limiter.acquire()
    limiter.pause(30)
    limiter.acquire()
    assert time.now == pytest.approx(30)
    limiter.acquire()
    assert time.now == pytest.approx(30 + 1.0 * (1 + MARGIN))


def test_pause_applies_without_a_limit_too():
    limiter, time = limiter_on(0)
    limiter.pause(5)
    limiter.acquire()
    assert time.now == pytest.approx(5)


def test_no_limit_never_waits():
    limiter, time = limiter_on(0)
    for _ in range(1000):
        limiter.acquire()
    assert time.sleeps == []


def test_reserve_then_acquire_takes_one_slot():
    limiter, time = limiter_on(60)
    limiter.reserve()
    limiter.acquire()  # uses the reservation
    limiter.acquire()  # the next slot, one interval later
    assert time.now == pytest.approx(1.0 * (1 + MARGIN))


def test_a_reservation_belongs_to_its_thread():
    limiter, time = limiter_on(60)
    limiter.reserve()
    other = threading.Thread(target=limiter.acquire)
    other.start()
    other.join(5)
    assert time.now == pytest.approx(1.0 * (1 + MARGIN))
    limiter.acquire()
    assert time.now == pytest.approx(1.0 * (1 + MARGIN))


def test_a_long_retry_after_holds_the_client_back_a_minute_at_most():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(0, clock=lambda: now[0], sleep=sleep)
    limiter.pause(86400)  # a daily limit's Retry-After
    limiter.acquire()
    assert sum(slept) == MAX_PAUSE_SECONDS == 60
