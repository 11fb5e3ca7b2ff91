"""The pacing rate limiter, on a fake clock whose sleep moves time forward."""

from __future__ import annotations

import threading

import pytest

from sync_engine.ratelimit import WINDOW_SECONDS, RateLimiter


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


def test_window_is_a_minute():
    assert WINDOW_SECONDS == 60.0


@pytest.mark.parametrize("per_minute", [1, 2, 5, 60])
@pytest.mark.parametrize("start", [0.0, 0.3, 1000.7, 208.18108509287336])
def test_each_minute_lets_n_through(per_minute, start):
    limiter, time = limiter_on(per_minute, start)

    released = []
    for _ in range(3 * per_minute):
        limiter.acquire()
        released.append(time.now)

    expected = [start + WINDOW_SECONDS * (i // per_minute) for i in range(3 * per_minute)]
    assert released == pytest.approx(expected)
    assert time.sleeps == pytest.approx([WINDOW_SECONDS, WINDOW_SECONDS])


@pytest.mark.parametrize("start", [0.0, 0.3, 5000.1])
def test_the_next_request_waits_for_the_oldest_to_leave_the_window(start):
    limiter, time = limiter_on(3, start)

    released = []
    for arrival in (0.0, 10.0, 20.0, 30.0, 30.0, 30.0, 30.0):
        time.now = max(time.now, start + arrival)
        limiter.acquire()
        released.append(time.now - start)

    assert released == pytest.approx([0.0, 10.0, 20.0, 60.0, 70.0, 80.0, 120.0])
    assert time.sleeps == pytest.approx([30.0, 10.0, 10.0, 40.0])


def test_requests_spread_over_the_minute_never_wait():
    limiter, time = limiter_on(4)

    for _ in range(20):
        limiter.acquire()
        time.now += 15.0

    assert time.sleeps == []


@pytest.mark.parametrize("per_minute", [0, 10])
@pytest.mark.parametrize("seconds", [0.5, 5.0, 30.0])
def test_pause_holds_everything_back(per_minute, seconds):
    limiter, time = limiter_on(per_minute, 100.0)

    limiter.pause(seconds)
    limiter.acquire()
    limiter.acquire()

    assert time.sleeps == pytest.approx([seconds])
    assert time.now == pytest.approx(100.0 + seconds)


def test_a_shorter_pause_does_not_cut_a_longer_one():
    limiter, time = limiter_on(0)

    limiter.pause(10.0)
    limiter.pause(3.0)
    limiter.acquire()

    assert time.now == pytest.approx(10.0)


def test_pause_that_has_passed_does_not_wait():
    limiter, time = limiter_on(0)

    limiter.pause(5.0)
    time.now += 6.0
    limiter.acquire()

    assert time.sleeps == []


def test_pause_and_a_full_window_both_hold():
    limiter, time = limiter_on(1)

    limiter.acquire()
    limiter.pause(10.0)
    limiter.acquire()

    assert time.now == pytest.approx(60.0)
    assert sum(time.sleeps) == pytest.approx(60.0)


@pytest.mark.parametrize("per_minute", [1, 3])
def test_reserve_then_acquire_takes_one_slot(per_minute):
    limiter, time = limiter_on(per_minute)

    for _ in range(per_minute):
        limiter.reserve()
        limiter.acquire()

    assert time.sleeps == []
    limiter.acquire()
    assert time.now == pytest.approx(60.0)


def test_a_reservation_is_used_once():
    limiter, time = limiter_on(2)

    limiter.reserve()
    limiter.acquire()
    limiter.acquire()
    assert time.sleeps == []

    limiter.acquire()
    assert time.now == pytest.approx(60.0)


def test_reserve_waits_for_a_slot():
    limiter, time = limiter_on(1)

    limiter.acquire()
    limiter.reserve()
    assert time.now == pytest.approx(60.0)

    limiter.acquire()
    assert time.now == pytest.approx(60.0)


def test_a_reservation_belongs_to_its_thread():
    limiter, time = limiter_on(2)
    limiter.reserve()

    other = threading.Thread(target=limiter.acquire)
    other.start()
    other.join(timeout=5)
    assert not other.is_alive()
    assert time.sleeps == []

    limiter.acquire()
    assert time.sleeps == []

    limiter.acquire()
    assert time.now == pytest.approx(60.0)


def test_zero_per_minute_is_no_limit():
    limiter, time = limiter_on(0)

    for _ in range(10_000):
        limiter.acquire()
    limiter.reserve()
    limiter.acquire()

    assert time.sleeps == []
    assert time.now == 0.0
