"""`/accounting` text: quoted source ids (straight and curly quotes), bad quoting as a clear
error, the readings an unquoted id might also have, and a usage text Slack shows literally."""

from __future__ import annotations

import re

import pytest

from bot.slack.command_parsing import Command, CommandError
from bot.slack.listeners.commands import USAGE, parse


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ('retry "HON 7" RMB-1', Command("retry", source_ids=("HON 7", "RMB-1"))),
        ("retry “HON 7”, RMB-1", Command("retry", source_ids=("HON 7", "RMB-1"))),
        ('retry "HON 7","HON 8"', Command("retry", source_ids=("HON 7", "HON 8"))),
        ('retry "all"', Command("retry", source_ids=("all",))),  # a record named all
        ('history "HON 7"', Command("history", source_ids=("HON 7",))),
        ("history “HON 7”", Command("history", source_ids=("HON 7",))),
        ("history ”HON 7”", Command("history", source_ids=("HON 7",))),
        (
            'resolve "HON 7" booked by hand',
            Command("resolve", source_ids=("HON 7",), reason="booked by hand"),
        ),
        (
            'resolve “HON 7”  Jane\'s claim, "double" checked',
            Command("resolve", source_ids=("HON 7",), reason='Jane\'s claim, "double" checked'),
        ),
        ("retry\tall", Command("retry_all")),
    ],
)
def test_quoted_source_ids_are_one_id(text, command):
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('retry "HON 7', "A quote is not closed"),
        ("history “HON 7", "A quote is not closed"),
        ('resolve "HON 7 booked by hand', "A quote is not closed"),
        ('history HON"7', "A quote inside"),
        ('retry "HON 7"x', "Put a space after the closing quote"),
        ('history ""', "An empty source id"),
        ("history HON 7", "`history` needs one source id"),
        ('history "HON 7" RMB-1', "`history` needs one source id"),
        ('resolve "HON 7"', "needs a source id and a reason"),
    ],
)
def test_bad_quoting_is_a_clear_error(text, says):
    with pytest.raises(CommandError, match=re.escape(says)):
        parse(text)


def test_unquoted_words_carry_the_ids_they_might_have_meant():
    assert parse("resolve HON 7 booked").joined == ("HON 7", "HON 7 booked")
    assert parse("retry HON 7, RMB-1").joined == ("HON 7",)
    assert parse('retry "HON 7" RMB-1 RMB-2').joined == ("RMB-1 RMB-2",)
    assert parse('resolve "HON 7" booked by hand').joined == ()
    assert parse("history RMB-1").joined == ()
    long_reason = "resolve RMB-1 " + "x" * 200
    assert parse(long_reason).joined == ()  # no id is that long


def test_the_usage_shows_its_placeholders_literally():
    # Slack reads <...> in mrkdwn as a link or a mention: the placeholders must be escaped.
    assert "<" not in USAGE and ">" not in USAGE
    for placeholder in ("&lt;source_id&gt;", "&lt;reason&gt;"):
        assert placeholder in USAGE
    assert '"HON 7"' in USAGE  # the quoting rule is documented


@pytest.mark.parametrize("text", ["refund everything", "<!channel>", "`x`"])
def test_an_unknown_subcommand_answers_with_the_usage(text):
    with pytest.raises(CommandError) as raised:
        parse(text)
    said = str(raised.value)
    assert said.startswith("Unknown subcommand") and USAGE in said
    assert "<!channel>" not in said


def test_an_empty_command_is_help():
    assert parse("") == parse("   ") == Command("help")
