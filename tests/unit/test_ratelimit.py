"""The pacing rate limiter, on a fake clock whose sleep moves time forward."""

from __future__ import annotations

import random
import threading

import pytest

from sync_engine.ratelimit import (
    MARGIN,
    MAX_PAUSE_SECONDS,
    WINDOW_SECONDS,
    RateLimiter,
    SlidingWindowLimiter,
)


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


# -- the sliding window (Xero: N in any 60 s window) ---------------------------------------------

WINDOW = WINDOW_SECONDS * (1 + MARGIN)


def window_on(per_minute: int, start: float = 0.0) -> tuple[SlidingWindowLimiter, FakeTime]:
    time = FakeTime(start)
    return SlidingWindowLimiter(per_minute, clock=time.clock, sleep=time.sleep), time


@pytest.mark.parametrize("per_minute", [1, 5, 50])
def test_a_burst_of_n_goes_at_once_and_the_next_waits_for_the_first_to_leave(per_minute):
    limiter, time = window_on(per_minute, start=7.0)
    for _ in range(per_minute):
        limiter.acquire()
    assert time.sleeps == [] and time.now == 7.0
    limiter.acquire()
    assert time.now == pytest.approx(7.0 + WINDOW)


def test_the_window_frees_one_slot_per_send_that_leaves_it():
    limiter, time = window_on(3)
    released = []
    for gap in (0.0, 10.0, 10.0):  # sends at 0, 10, 20
        time.now += gap
        limiter.acquire()
        released.append(time.now)
    for _ in range(3):  # each waits for the oldest still in the window
        limiter.acquire()
        released.append(time.now)
    assert released == pytest.approx([0, 10, 20, WINDOW, 10 + WINDOW, 20 + WINDOW])


@pytest.mark.parametrize("per_minute", [5, 50, 300])
@pytest.mark.parametrize("seed", range(5))
def test_no_sliding_window_ever_holds_more_than_the_limit(per_minute, seed):
    rng = random.Random(seed)
    limiter, time = window_on(per_minute)
    released = []
    for _ in range(3 * per_minute):
        time.now += rng.choice([0.0, 0.0, rng.uniform(0, 30)])  # bursts and lulls
        limiter.acquire()
        released.append(time.now)
    assert most_in_a_window(released) <= per_minute


class SharedTime:
    """A clock many threads share: a sleep blocks until the test moves time to its end."""

    def __init__(self) -> None:
        self.now = 0.0
        self.changed = threading.Condition()
        self.waking: list[float] = []  # when each sleeping thread is due

    def clock(self) -> float:
        with self.changed:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.changed:
            until = self.now + seconds
            self.waking.append(until)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.now >= until)
            self.waking.remove(until)
            self.changed.notify_all()

    def run(self, threads: list[threading.Thread]) -> None:
        """Start the threads; whenever all of them sleep, move time to the first one due."""
        for thread in threads:
            thread.start()
        while any(t.is_alive() for t in threads):
            with self.changed:
                alive = sum(t.is_alive() for t in threads)
                if len(self.waking) >= alive and min(self.waking, default=0.0) > self.now:
                    self.now = min(self.waking)
                    self.changed.notify_all()
                else:
                    self.changed.wait(0.01)


def test_threads_together_never_put_more_than_n_in_a_window():
    time = SharedTime()
    limiter = SlidingWindowLimiter(10, clock=time.clock, sleep=time.sleep)
    released: list[float] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(5):
            limiter.acquire()
            with lock:
                released.append(time.clock())

    time.run([threading.Thread(target=sender) for _ in range(8)])  # 40 sends
    assert len(released) == 40
    assert most_in_a_window(released) <= 10
    assert released.count(0.0) == 10  # the first ten went at once
    assert max(released) == pytest.approx(3 * WINDOW)  # then ten each time the window frees


def test_a_pause_holds_the_window_back_then_the_burst_resumes():
    limiter, time = window_on(50)
    limiter.acquire()
    limiter.pause(30)
    limiter.acquire()
    assert time.now == pytest.approx(30)
    limiter.acquire()  # the window has room: no spacing after the pause
    assert time.now == pytest.approx(30)


def test_a_pause_that_comes_while_a_thread_waits_holds_it_too():
    limiter, time = window_on(1)
    limiter.acquire()

    def sleep(seconds: float) -> None:  # the 429 arrives while this thread waits its turn
        time.now += seconds
        if len(time.sleeps) == 0:
            limiter.pause(20)
        time.sleeps.append(seconds)

    limiter._sleep = sleep
    limiter.acquire()
    assert time.now == pytest.approx(WINDOW + 20)


def test_a_long_retry_after_holds_the_window_back_a_minute_at_most():
    limiter, time = window_on(50, start=100.0)
    limiter.pause(86400)
    limiter.acquire()
    assert sum(time.sleeps) == MAX_PAUSE_SECONDS


def test_no_window_limit_never_waits():
    limiter, time = window_on(0)
    for _ in range(1000):
        limiter.acquire()
    assert time.sleeps == []


def test_a_reserved_window_slot_is_used_by_the_same_thread_only():
    limiter, time = window_on(2)
    limiter.reserve()  # slot 1, at 0
    other = threading.Thread(target=limiter.acquire)  # slot 2, at 0: not the reservation
    other.start()
    other.join(5)
    assert time.now == 0.0
    limiter.acquire()  # uses this thread's reservation: no wait
    assert time.now == 0.0
    limiter.acquire()  # a third slot: the window is full
    assert time.now == pytest.approx(WINDOW)
