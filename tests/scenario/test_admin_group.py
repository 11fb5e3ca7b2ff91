"""The admin user group: refreshed within a minute, revoked at once when Slack refuses it for
good, trusted at most GROUP_TTL after the last success through temporary errors, and no admin
check ever waiting on another request's Slack call. Against the Slack stand-in over HTTP."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.slack.auth import (
    FAILURE_WAIT_SECONDS,
    GROUP_TTL_SECONDS,
    REFRESH_SECONDS,
    Authorizer,
    lookup_client,
)
from tests.scenario.conftest import ADMIN, BOT_TOKEN, FINANCE_GROUP, GROUP_ADMIN, STRANGER

GROUP = "usergroups.users.list"


class Clock:
    """Monotonic seconds that a test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(slack, clock) -> Authorizer:
    """The authorizer as build_bot makes it: the look-up client, pointed at the stand-in."""
    client = lookup_client(BOT_TOKEN, slack.url)
    return Authorizer(frozenset({ADMIN}), FINANCE_GROUP, client, clock=clock)


def test_group_members_are_admins_and_a_removed_member_loses_access_within_a_minute(
    auth, slack, clock
):
    assert auth.is_admin(ADMIN) and auth.is_admin(GROUP_ADMIN) and not auth.is_admin(STRANGER)
    assert not auth.is_admin("")
    assert len(slack.calls(GROUP)) == 1
    slack.usergroups[FINANCE_GROUP] = ["UGROUP2"]
    clock.now = REFRESH_SECONDS - 1
    assert auth.is_admin(GROUP_ADMIN) and len(slack.calls(GROUP)) == 1  # cached
    clock.now = REFRESH_SECONDS + 1
    assert not auth.is_admin(GROUP_ADMIN) and auth.is_admin("UGROUP2")
    assert len(slack.calls(GROUP)) == 2


@pytest.mark.parametrize("error", ["no_such_subteam", "missing_scope", "invalid_auth"])
def test_a_group_slack_refuses_for_good_is_revoked_at_once(auth, slack, clock, caplog, error):
    assert auth.is_admin(GROUP_ADMIN)
    slack.refusing[GROUP] = error
    clock.now = REFRESH_SECONDS + 1
    with caplog.at_level(logging.WARNING, logger="bot.slack.auth"):
        assert not auth.is_admin(GROUP_ADMIN)  # well inside GROUP_TTL: refused all the same
    assert auth.is_admin(ADMIN)  # listed by id: unaffected
    [logged] = [r for r in caplog.records if r.name == "bot.slack.auth"]
    assert logged.levelno == logging.ERROR and error in logged.getMessage()
    assert BOT_TOKEN not in logged.getMessage()
    assert slack.calls(GROUP)[-1].error == error

    # Refused without asking Slack on every click, until the next look-up succeeds.
    clock.now += FAILURE_WAIT_SECONDS - 1
    assert not auth.is_admin(GROUP_ADMIN) and len(slack.calls(GROUP)) == 2
    del slack.refusing[GROUP]
    clock.now += 2
    assert auth.is_admin(GROUP_ADMIN) and len(slack.calls(GROUP)) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_through_temporary_errors_members_are_trusted_at_most_group_ttl(
    auth, slack, clock, caplog, status
):
    assert auth.is_admin(GROUP_ADMIN)
    slack.fail_next(GROUP, times=100, status=status, retry_after=1)
    caplog.set_level(logging.WARNING, logger="bot.slack.auth")
    asked = 1
    clock.now = REFRESH_SECONDS + 1
    while clock.now < GROUP_TTL_SECONDS:
        assert auth.is_admin(GROUP_ADMIN), clock.now  # a hiccup does not lock them out
        asked = len(slack.calls(GROUP))
        clock.now += 10
    assert asked > 2  # Slack was asked again every FAILURE_WAIT, and failed every time
    # every failure is logged at ERROR, so admins hear of it before the trust runs out
    assert caplog.records and all(r.levelno == logging.ERROR for r in caplog.records)

    clock.now = GROUP_TTL_SECONDS + 0.5  # never longer than GROUP_TTL after the last success
    assert not auth.is_admin(GROUP_ADMIN)
    assert auth.is_admin(ADMIN)
    assert caplog.records[-1].levelno == logging.ERROR


def test_a_connection_error_is_temporary(slack, clock):
    client = lookup_client(BOT_TOKEN, slack.url)
    auth = Authorizer(frozenset(), FINANCE_GROUP, client, clock=clock)
    assert auth.is_admin(GROUP_ADMIN)
    client.base_url = "http://127.0.0.1:9/api/"  # nothing listens on the discard port
    clock.now = REFRESH_SECONDS + 1
    assert auth.is_admin(GROUP_ADMIN)
    clock.now = GROUP_TTL_SECONDS + 1
    assert not auth.is_admin(GROUP_ADMIN)


def test_an_admin_check_never_waits_on_another_requests_slack_call(auth, slack, clock):
    assert auth.is_admin(GROUP_ADMIN)
    clock.now = REFRESH_SECONDS + 1
    slow = slack.held[GROUP] = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        try:
            refreshing = pool.submit(auth.is_admin, GROUP_ADMIN)
            deadline = time.monotonic() + 5
            while auth._asking == 0 and time.monotonic() < deadline:  # its call is in flight
                time.sleep(0.01)
            assert not refreshing.done()
            started = time.monotonic()
            assert auth.is_admin(GROUP_ADMIN) and not auth.is_admin(STRANGER)
            assert time.monotonic() - started < 0.5  # answered from the cache, not queued
            assert not refreshing.done()
        finally:
            slow.set()
        assert refreshing.result(timeout=10) is True
    assert len(slack.calls(GROUP)) == 2


def test_the_bots_group_lookup_sleeps_out_no_rate_limit(bot, slack):
    # The bot's own client would wait out Retry-After (and retry 5xx); the look-up answers at
    # once: refused while Slack rate-limits it, the members admitted once Slack answers.
    slack.fail_next(GROUP, times=1, status=429, retry_after=5)
    started = time.monotonic()
    assert not bot.is_admin(GROUP_ADMIN)
    assert time.monotonic() - started < 2
    assert [c.status for c in slack.calls(GROUP)] == [429]
    assert bot.is_admin(ADMIN)
