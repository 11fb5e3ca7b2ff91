"""Hostile Slack input (issue 6, item 4): whatever reaches POST /slack/events, nothing it was not
entitled to happens.

The property tests send generated slash commands, interactions and malformed requests
(`hostile_strategies`), signed with the bot's secret, to the real Bolt app served by waitress,
and `hostile_driver.check` checks after each one what the sender was entitled to change, send
and hear. The plain tests are in `test_hostile_signatures.py` (signatures, timestamps, headers)
and `test_hostile_regressions.py` (what these tests found).

Every test runs on SQLite and on PostgreSQL; the property tests try the same inputs on both
(derandomized). HOSTILE_EXAMPLES=0.1 runs a tenth of them, for a quick look.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.reliability.hostile_driver import (
    PROPERTY,
    World,
    build_world,
    check,
    examples,
    run_property,
)
from tests.reliability.hostile_strategies import interactions, malformed_requests, slash_commands


@pytest.fixture
def world(harness, engine, database, sim, slack, bot, caplog) -> World:
    """The world every property test starts from."""
    return build_world(harness, engine, database, sim, slack, bot, caplog)


# The inner tests' source is hypothesis's seed (derandomized): edit them and CI tries other inputs.


@pytest.mark.timeout(240)
def test_generated_slash_commands_do_only_what_their_sender_may(world, record_property):
    """900 generated `/accounting` commands from admins and others."""
    url = world.slack.response_url("cmd")

    wanted = examples(900)

    @settings(PROPERTY, max_examples=wanted)
    @given(body=slash_commands(url))
    def one(body: bytes) -> None:
        check(world, body)

    run_property(world, "slash_commands", one, wanted, record_property)


@pytest.mark.timeout(240)
def test_generated_interactions_do_only_what_their_sender_may(world, record_property):
    """1,000 generated button clicks, filters, pages and forged ticks from admins and others."""
    url = world.slack.response_url("click")

    wanted = examples(1000)

    @settings(PROPERTY, max_examples=wanted)
    @given(body=interactions(world.listed, url))
    def one(body: bytes) -> None:
        check(world, body)

    run_property(world, "interactions", one, wanted, record_property)


@pytest.mark.timeout(240)
def test_malformed_requests_are_refused_without_effect(world, record_property):
    """500 bodies with wrong types, missing fields, bad JSON, bare bytes, deep nesting."""
    url = world.slack.response_url("junk")

    wanted = examples(500)

    @settings(PROPERTY, max_examples=wanted)
    @given(request=malformed_requests(url))
    def one(request: tuple[bytes, str | None]) -> None:
        check(world, *request)

    run_property(world, "malformed", one, wanted, record_property)
