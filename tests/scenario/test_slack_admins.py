"""Only administrators act: anyone else gets a short ephemeral refusal, and nothing happens."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.slack.ids import Ids
from storage.db import Database
from storage.models import Attempt, RetryEvent
from tests.scenario.conftest import ADMIN, GROUP_ADMIN, STRANGER, fail_first_postings


def snapshot(database: Database, engine, sim) -> tuple:
    """What a refused request must not change: attempts, retry events, gateway requests."""
    with database.session() as session:
        attempts = session.scalar(select(func.count()).select_from(Attempt))
        events = session.scalar(select(func.count()).select_from(RetryEvent))
    return attempts, events, len(sim.requests()), engine.count_failed()


def refusals(slack, user: str, count: int) -> None:
    """Wait for the `count`-th refusal; every refusal so far went to `user`."""
    answers = slack.wait_for("chat.postEphemeral", count=count)
    assert len(answers) == count
    assert all(a.params["user"] == user for a in answers)
    assert all("Only syncbot's administrators" in a.params["text"] for a in answers)


LIST_CLICKS = [
    (Ids.RETRY_SELECTED, None),
    (Ids.RETRY_ALL, None),
    (Ids.PAGE_NEXT, None),
    (Ids.FILTER_KIND, "honorarium"),
    (Ids.FILTER_CLASS, "auth"),
]
COMMANDS = [
    "failed",
    "status",
    "retry all",
    "retry HON-2026-0001",
    "history HON-2026-0001",
    "resolve HON-2026-0001 booked by hand",
]


def test_a_stranger_clicking_each_list_button_is_refused(database, harness, engine, sim, slack):
    fail_first_postings(engine, sim, 12)
    harness.command("failed", ADMIN)
    listed = harness.posted_list()
    before = snapshot(database, engine, sim)
    for n, (action_id, option) in enumerate(LIST_CLICKS, start=1):
        ticked = {"HON-2026-0001", "RMB-2026-0002"}
        harness.click(listed, action_id, STRANGER, tick=ticked, option=option)
        refusals(slack, STRANGER, n)
        assert snapshot(database, engine, sim) == before, action_id
        assert slack.calls("chat.update") == [], action_id
    assert len(slack.calls("chat.postMessage")) == 1  # only the admin's list


def test_a_stranger_using_each_accounting_subcommand_is_refused(
    database, harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 2)
    before = snapshot(database, engine, sim)
    for n, text in enumerate(COMMANDS, start=1):
        harness.command(text, STRANGER)
        refusals(slack, STRANGER, n)
        assert snapshot(database, engine, sim) == before, text
    assert slack.calls("chat.postMessage") == []
    assert engine.history("HON-2026-0001").sync_log_state == "failed"


def test_a_stranger_sees_no_figures_at_home_and_is_refused_from_an_admins_tab(
    harness, engine, sim, slack
):
    fail_first_postings(engine, sim, 2)
    harness.open_home(STRANGER)  # a stranger's own Home tab holds a note, no figures, no buttons
    [note_view] = slack.wait_for("views.publish")
    assert note_view.params["user_id"] == STRANGER
    [note] = note_view.params["view"]["blocks"]
    assert "Only they can see records" in note["text"]["text"]
    assert not any(ch.isdigit() for ch in note["text"]["text"]) and "accessory" not in note

    harness.open_home(ADMIN)
    published = slack.wait_for("views.publish", count=2)[-1]
    harness.click_home(published.params["view"], Ids.VIEW_FAILED, STRANGER)

    # From the Home tab there is no channel: the refusal comes as the app's direct message.
    [refusal] = slack.wait_for("chat.postMessage")
    assert refusal.params["channel"] == STRANGER and "Only syncbot's" in refusal.params["text"]
    assert len(slack.calls("views.publish")) == 2


def test_members_of_the_admin_user_group_may_act(harness, engine, sim, slack):
    fail_first_postings(engine, sim, 2)
    harness.command("status", GROUP_ADMIN)
    slack.wait_for("chat.postEphemeral")
    # (Sent at once, before any look-up answered, both checks would ask Slack: no check waits
    # on another's Slack call.)
    harness.command("status", GROUP_ADMIN)

    answers = slack.wait_for("chat.postEphemeral", count=2)
    assert all("Accounting sync status" in a.params["text"] for a in answers)
    assert len(slack.calls("usergroups.users.list")) == 1  # cached
