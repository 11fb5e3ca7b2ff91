"""The engine's API is the list in `sync_engine.__all__`, and the front doors keep to it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import sync_engine

BOT = Path(__file__).resolve().parents[2] / "bot"
# Not the engine's API but a tool beside it: the gateway simulator `syncbot demo` and
# `syncbot simulate` start.
TOOLS = {"sync_engine.gateway_sim"}
# Declared though the bot names none: what `SyncEngine.submit` takes, and errors its calls
# raise (the bot catches them as a SyncEngineError).
NOT_NAMED_BY_THE_BOT = {"Posting", "GatewayUnreachable", "LedgerPaused"}


def bot_imports() -> dict[str, set[str]]:
    """Every name a module of `bot/` imports from the engine, with the modules importing it."""
    found: dict[str, set[str]] = {}
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] != "sync_engine" or node.module in TOOLS:
                continue
            for alias in node.names:
                found.setdefault(alias.name, set()).add(f"{path.name}: from {node.module}")
    return found


def test_the_bot_imports_only_the_declared_api() -> None:
    undeclared = {
        name: where for name, where in bot_imports().items() if name not in sync_engine.__all__
    }
    assert undeclared == {}


def test_every_declared_name_is_used_by_a_front_door_and_loads() -> None:
    assert sorted(sync_engine.__all__) == sorted(set(bot_imports()) | NOT_NAMED_BY_THE_BOT)
    for name in sync_engine.__all__:
        assert getattr(sync_engine, name) is not None


def test_importing_the_package_loads_no_sending_machinery() -> None:
    code = (
        "import sys, sync_engine.errors; "
        "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'sync_engine.'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['sync_engine.errors']"
