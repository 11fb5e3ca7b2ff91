"""The small pure parts: command parsing, reading payloads, settings, the admin check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from bot.slack.auth import Authorizer
from bot.slack.command_parsing import Command, CommandError
from bot.slack.ids import Ids
from bot.slack.listeners.commands import parse
from bot.slack.messenger import Posted
from bot.slack.payload import channel_of, ticked, user_of
from bot.slack.retries import RetryOrder, ThreadReply
from bot.slack.settings import SlackSettings
from sync_engine.results import RetryResult


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Command("help")),
        ("  HELP ", Command("help")),
        ("status", Command("status")),
        ("failed", Command("failed")),
        ("failed Honorarium", Command("failed", kind="honorarium")),
        ("retry RMB-1 RMB-2, RMB-1", Command("retry", source_ids=("RMB-1", "RMB-2"))),
        ("retry all", Command("retry_all")),
        ("retry ALL", Command("retry_all")),
        ("history RMB-1", Command("history", source_ids=("RMB-1",))),
        (
            "resolve RMB-1  booked by hand, see ticket 7",
            Command("resolve", source_ids=("RMB-1",), reason="booked by hand, see ticket 7"),
        ),
    ],
)
def test_subcommands_parse(text, command):
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("refund RMB-1", "Unknown subcommand `refund`"),
        ("status now", "takes no arguments"),
        ("failed payroll", "Unknown kind `payroll`"),
        ("retry", "needs source ids or `all`"),
        ("retry all RMB-1", "takes nothing more"),
        ("history", "needs one source id"),
        ("history RMB-1 RMB-2", "needs one source id"),
        ("resolve RMB-1", "needs a source id and a reason"),
        ("resolve", "needs a source id and a reason"),
        ("retry " + " ".join(f"R{i}" for i in range(101)), "At most 100"),
    ],
)
def test_bad_commands_say_what_is_wrong(text, says):
    with pytest.raises(CommandError, match=says):
        parse(text)


def test_ticked_rows_are_read_from_state_values():
    body = {
        "state": {
            "values": {
                "list_row.0.n": {Ids.ROW_CHECK: {"selected_options": [{"value": "RMB-1"}]}},
                "list_row.1.n": {Ids.ROW_CHECK: {"selected_options": []}},
                "list_row.2.n": {Ids.ROW_CHECK: {"selected_options": [{"value": "HON-3"}]}},
                "list_filters.n": {Ids.FILTER_KIND: {"selected_option": {"value": "{}"}}},
            }
        }
    }
    assert ticked(body) == ["RMB-1", "HON-3"]
    assert ticked({}) == []


def test_who_and_where_of_each_payload_shape():
    command = {"user_id": "U1", "channel_id": "C1"}
    click = {"user": {"id": "U2"}, "container": {"type": "message"}, "channel": {"id": "C2"}}
    home = {"user": {"id": "U3"}, "container": {"type": "view"}}
    event = {"event": {"type": "app_home_opened", "user": "U4"}}
    assert [user_of(b) for b in (command, click, home, event)] == ["U1", "U2", "U3", "U4"]
    assert [channel_of(b) for b in (command, click, home, event)] == ["C1", "C2", None, None]


def settings(**values: object) -> SlackSettings:
    return SlackSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_settings_defaults_and_parsing(monkeypatch):
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    s = settings(
        bot_token="xoxb-1",
        signing_secret="shh",
        api_url="http://127.0.0.1:9/api",
        admin_users=" U1, ,U2 ",
    )
    assert s.api_url == "http://127.0.0.1:9/api/"
    assert s.admins == frozenset({"U1", "U2"})
    assert (s.http_port, s.page_size, s.socket_mode) == (3000, 10, False)
    assert "xoxb-1" not in repr(s) and "shh" not in repr(s)


def test_settings_come_from_the_environment(monkeypatch):
    for name, value in {
        "SLACK_BOT_TOKEN": "xoxb-env",
        "SLACK_APP_TOKEN": "xapp-env",
        "SYNCBOT_PAGE_SIZE": "5",
        "SYNCBOT_ADMIN_USERGROUP": "S1",
    }.items():
        monkeypatch.setenv(name, value)
    s = settings()
    assert (s.bot_token, s.page_size, s.admin_usergroup, s.socket_mode) == (
        "xoxb-env",
        5,
        "S1",
        True,
    )


@pytest.mark.parametrize(
    "values",
    [
        {"bot_token": "xoxb-1"},  # HTTP mode needs the signing secret
        {"bot_token": "", "signing_secret": "s"},
        {"bot_token": "xoxb-1", "signing_secret": "s", "page_size": 16},
        {"bot_token": "xoxb-1", "signing_secret": "s", "http_port": 70000},
    ],
)
def test_bad_settings_are_refused(values, monkeypatch):
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    with pytest.raises(ValidationError):
        settings(**values)


class GroupClient:
    """usergroups.users.list, counted; `fail` makes the next calls fail like Slack's errors."""

    def __init__(self, members: list[str]) -> None:
        self.members, self.calls, self.fail = members, 0, False

    def usergroups_users_list(self, *, usergroup: str) -> dict:
        self.calls += 1
        if self.fail:
            raise SlackApiError("ratelimited", {"ok": False, "error": "ratelimited"})
        return {"ok": True, "users": list(self.members)}


# The user group's caching, refresh and revocation: tests/scenario/test_admin_group.py.


def test_without_a_group_only_listed_users_are_admins():
    client = GroupClient(["UG1"])
    auth = Authorizer(frozenset({"U1"}), None, client)  # type: ignore[arg-type]
    assert auth.is_admin("U1") and not auth.is_admin("UG1") and client.calls == 0


class Recorder:
    """A messenger that records posts and updates."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def post(self, channel: str, text: str, blocks: list, thread_ts: str | None = None) -> Posted:
        self.sent.append(("post", text))
        return Posted(channel, "1.000001")

    def update(self, channel: str, ts: str, text: str, blocks: list) -> None:
        self.sent.append(("update", text))


def test_a_long_retry_has_one_progress_reply_updated_at_most_every_3_seconds():
    now = [0.0]
    messenger = Recorder()
    order = RetryOrder("U1", "C1", "1.000000", None, expected=500)
    reply = ThreadReply(messenger, order, clock=lambda: now[0])  # type: ignore[arg-type]
    reply.start()
    for t, done in [(1.0, 30), (2.9, 60), (3.1, 90), (5.0, 120), (6.2, 150)]:
        now[0] = t
        reply.progress(done, 500)
    reply.finish(RetryResult(9, (), (), ()))
    assert messenger.sent == [
        ("post", "Retrying: 0 of 500 record(s) done"),
        ("update", "Retrying: 90 of 500 record(s) done"),
        ("update", "Retrying: 150 of 500 record(s) done"),
        ("update", "Retry All Failed: 0 succeeded, 0 failed again, 0 skipped"),
    ]


def test_a_short_retry_has_just_its_result_reply():
    messenger = Recorder()
    reply = ThreadReply(messenger, RetryOrder("U1", "C1", "1.0", ("A",), 1))  # type: ignore[arg-type]
    reply.start()
    reply.progress(1, 1)
    reply.finish(RetryResult(9, (), (), ()))
    assert [kind for kind, _ in messenger.sent] == ["post"]
