"""The backoff policy and the error classes, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.vocabulary import ErrorClass
from sync_engine.policy import (
    BackoffSettings,
    Decision,
    next_retry,
    step_ceiling,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BACKOFF = BackoffSettings(base_seconds=60.0, cap_seconds=21600.0, max_auto_attempts=10)


class FakeUniform:
    def __init__(self, pick: str) -> None:
        self.pick = pick
        self.calls: list[tuple[float, float]] = []

    def __call__(self, low: float, high: float) -> float:
        self.calls.append((low, high))
        return high if self.pick == "upper" else low


def decide(
    auto_streak: int,
    *,
    error_class: str = ErrorClass.TRANSIENT,
    retry_after: float | None = None,
    backoff: BackoffSettings = BACKOFF,
    uniform: FakeUniform | None = None,
) -> Decision:
    return next_retry(
        auto_streak=auto_streak,
        error_class=error_class,
        retry_after=retry_after,
        now=NOW,
        backoff=backoff,
        uniform=uniform or FakeUniform("upper"),
    )


def test_error_classes_are_the_three_words():
    assert [c.value for c in ErrorClass] == ["transient", "needs_attention", "auth"]


@pytest.mark.parametrize(
    ("step", "ceiling"),
    [
        (1, 60.0),
        (2, 120.0),
        (3, 240.0),
        (4, 480.0),
        (5, 960.0),
        (6, 1920.0),
        (7, 3840.0),
        (8, 7680.0),
        (9, 15360.0),
        (10, 21600.0),
    ],
)
def test_step_ceiling_doubles_until_the_cap(step, ceiling):
    assert step_ceiling(step, BACKOFF) == ceiling


@pytest.mark.parametrize("step", [11, 50, 64, 100, 10_000])
def test_step_ceiling_stays_at_the_cap_for_late_steps(step):
    assert step_ceiling(step, BACKOFF) == 21600.0


@pytest.mark.parametrize(
    ("auto_streak", "ceiling"),
    [
        (0, 60.0),
        (1, 120.0),
        (2, 240.0),
        (3, 480.0),
        (4, 960.0),
        (5, 1920.0),
        (6, 3840.0),
        (7, 7680.0),
        (8, 15360.0),
        (9, 21600.0),
    ],
)
@pytest.mark.parametrize("pick", ["upper", "lower"])
def test_next_retry_full_jitter_over_the_step_ceiling(auto_streak, ceiling, pick):
    uniform = FakeUniform(pick)

    decision = decide(auto_streak, uniform=uniform)

    assert uniform.calls == [(0.0, ceiling)]
    delay = ceiling if pick == "upper" else 0.0
    assert decision == Decision(
        retry_at=NOW + timedelta(seconds=delay), step=auto_streak + 1, parked=False
    )


@pytest.mark.parametrize(
    ("base", "cap", "step", "ceiling"),
    [
        (0.5, 100.0, 1, 0.5),
        (0.5, 100.0, 2, 1.0),
        (0.5, 100.0, 4, 4.0),
        (0.25, 1.5, 3, 1.0),
        (0.25, 1.5, 4, 1.5),
        (1.5, 1000.0, 3, 6.0),
    ],
)
def test_fractional_base_seconds(base, cap, step, ceiling):
    backoff = BackoffSettings(base_seconds=base, cap_seconds=cap, max_auto_attempts=10)
    uniform = FakeUniform("upper")

    decision = decide(step - 1, backoff=backoff, uniform=uniform)

    assert uniform.calls == [(0.0, ceiling)]
    assert decision.retry_at == NOW + timedelta(seconds=ceiling)
    assert decision.step == step


@pytest.mark.parametrize(
    ("auto_streak", "retry_after", "pick", "delay"),
    [
        (0, 90.0, "upper", 90.0),
        (0, 90.0, "lower", 90.0),
        (0, 30.0, "upper", 60.0),
        (0, 30.0, "lower", 30.0),
        (3, 600.0, "upper", 600.0),
        (3, 100.0, "upper", 480.0),
        (9, 86400.0, "upper", 86400.0),
        (0, 0.0, "lower", 0.0),
        (0, 0.0, "upper", 60.0),
    ],
)
def test_retry_after_is_a_floor(auto_streak, retry_after, pick, delay):
    decision = decide(auto_streak, retry_after=retry_after, uniform=FakeUniform(pick))

    assert decision.retry_at == NOW + timedelta(seconds=delay)
    assert decision.step == auto_streak + 1
    assert decision.parked is False


@pytest.mark.parametrize(
    ("max_auto_attempts", "auto_streak"),
    [(1, 1), (3, 3), (8, 8), (10, 10), (3, 4), (0, 0)],
)
def test_spent_budget_parks(max_auto_attempts, auto_streak):
    backoff = BackoffSettings(60.0, 21600.0, max_auto_attempts)
    uniform = FakeUniform("upper")

    decision = decide(auto_streak, backoff=backoff, retry_after=30.0, uniform=uniform)

    assert decision == Decision(retry_at=None, step=None, parked=True)
    assert uniform.calls == []


@pytest.mark.parametrize(("max_auto_attempts", "auto_streak"), [(1, 0), (3, 2), (8, 7)])
def test_last_attempt_of_the_budget_is_still_scheduled(max_auto_attempts, auto_streak):
    backoff = BackoffSettings(60.0, 21600.0, max_auto_attempts)

    decision = decide(auto_streak, backoff=backoff)

    assert decision.parked is False
    assert decision.step == max_auto_attempts
    assert decision.retry_at is not None


@pytest.mark.parametrize(
    ("error_class", "parked"), [(ErrorClass.NEEDS_ATTENTION, False), (ErrorClass.AUTH, True)]
)
@pytest.mark.parametrize("auto_streak", [0, 3, 10, 11])
@pytest.mark.parametrize("retry_after", [None, 30.0])
def test_non_transient_is_never_retried_and_auth_is_parked(
    error_class, parked, auto_streak, retry_after
):
    # needs_attention waits for a person; auth is parked until the outage probe succeeds.
    uniform = FakeUniform("upper")

    decision = decide(
        auto_streak, error_class=error_class, retry_after=retry_after, uniform=uniform
    )

    assert decision == Decision(retry_at=None, step=None, parked=parked)
    assert uniform.calls == []


def test_a_new_streak_starts_again_at_step_one():
    uniform = FakeUniform("upper")

    late = decide(7, uniform=uniform)
    fresh = decide(0, uniform=uniform)

    assert (late.step, fresh.step) == (8, 1)
    assert uniform.calls == [(0.0, 7680.0), (0.0, 60.0)]
