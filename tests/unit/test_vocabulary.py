"""The words syncbot stores and sends are defined once, and keep the values they always had."""

from __future__ import annotations

import ast
import json
from enum import StrEnum
from pathlib import Path

import pytest

import sync_engine
from storage import vocabulary
from storage.vocabulary import (
    AlertKind,
    ChangeAction,
    ConnectionState,
    ErrorClass,
    ItemResult,
    Kind,
    LedgerLink,
    MessageKind,
    Outcome,
    RetryKind,
    State,
    Trigger,
    Via,
)

ROOT = Path(__file__).resolve().parents[2]
# Every member's value, as the database, the JSON answers, the wire and Slack carry it.
VALUES: dict[type[StrEnum], list[str]] = {
    State: ["pending", "syncing", "succeeded", "failed", "resolved"],
    Outcome: ["succeeded", "failed", "uncertain"],
    Trigger: ["initial", "manual", "auto"],
    ErrorClass: ["transient", "needs_attention", "auth"],
    Kind: ["reimbursement", "honorarium"],
    RetryKind: ["selected", "all", "auto"],
    Via: ["slack", "cli", "scheduler"],
    ItemResult: ["succeeded", "failed", "skipped"],
    ChangeAction: ["corrected", "resolved", "found_booked"],
    AlertKind: ["first_failure", "parked", "outage", "recovered", "ledger_paused"],
    MessageKind: ["failures", "outage", "ledger_paused"],
    ConnectionState: ["connected", "reconnect_required"],
    LedgerLink: ["not_needed", "not_connected", "connected", "reconnect_required"],
}
WORDS = {value for values in VALUES.values() for value in values}


def test_every_vocabulary_is_pinned() -> None:
    defined = {
        v for v in vars(vocabulary).values() if isinstance(v, type) and issubclass(v, StrEnum)
    }
    assert defined - {StrEnum} == set(VALUES)


@pytest.mark.parametrize("words", list(VALUES), ids=lambda w: w.__name__)
def test_members_keep_their_values(words: type[StrEnum]) -> None:
    assert [member.value for member in words] == VALUES[words]
    for member in words:
        # A member is its string wherever it is written: str, format, JSON.
        assert member == member.value and str(member) == member.value
        assert f"{member}" == member.value and json.dumps(member) == json.dumps(member.value)
        assert member.name == member.value.upper()


def test_the_front_doors_take_the_words_from_the_engine_api() -> None:
    for name in ("AlertKind", "ErrorClass", "Kind", "RetryKind", "State", "Via"):
        assert name in sync_engine.__all__
        assert getattr(sync_engine, name) is getattr(vocabulary, name)


def is_word(node: ast.expr) -> bool:
    """A string literal that is one of the vocabulary's words."""
    return isinstance(node, ast.Constant) and node.value in WORDS


def defines_words(node: ast.expr) -> bool:
    """A word, or a tuple or list of nothing but words (a vocabulary spelled out again).

    A tuple that only holds a word among other strings (column names, a simulator's fault
    kinds) is another vocabulary that happens to share a spelling.
    """
    if isinstance(node, ast.Tuple | ast.List):
        return bool(node.elts) and all(is_word(e) for e in node.elts)
    return is_word(node)


def string_constants(path: Path, root: Path = ROOT) -> list[str]:
    """Module-level names that `path` binds to the vocabulary's words."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        unpacked = isinstance(value, ast.Tuple) and any(isinstance(t, ast.Tuple) for t in targets)
        values = value.elts if unpacked and isinstance(value, ast.Tuple) else [value]
        if any(defines_words(v) for v in values):
            names = [ast.unparse(t) for t in targets]
            found.append(f"{path.relative_to(root)}:{node.lineno}: {names} = {ast.unparse(value)}")
    return found


def test_no_module_defines_the_words_again() -> None:
    own = ROOT / "storage" / "vocabulary.py"
    found = [
        line
        for package in ("bot", "sync_engine", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != own and "migrations" not in path.parts
        for line in string_constants(path)
    ]
    assert found == []


def test_the_scan_finds_a_definition(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        'OK = "succeeded"\nA, B = "auth", "x"\nN: str = "cli"\n'
        'KINDS = ("reimbursement", "honorarium")\nX = "other"\nCOLUMNS = ("state", "parked")\n'
    )
    assert len(string_constants(sample, tmp_path)) == 4
