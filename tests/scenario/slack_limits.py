"""Slack's Block Kit limits, checked independently of the bot's builders.

The Web API stand-in refuses what Slack would refuse (`invalid_blocks`, `msg_blocks_too_long`),
and the builders' tests use the same checks, including the three slack_sdk does not make
(50 blocks a message, 10 options a checkbox group, unique block ids).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
BLOCK_TEXT = 12_000
FALLBACK_TEXT = 4_000
TEXT_LIMITS = {"section": 3000, "header": 150}


def texts(node: Any) -> Iterator[str]:
    """Every `text` string anywhere in a block tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts(item)


def block_text_chars(blocks: list[dict[str, Any]]) -> int:
    """How many characters of text the blocks hold (Slack refuses about 12,000+)."""
    return sum(len(t) for t in texts(blocks))


def element_problems(element: dict[str, Any]) -> list[str]:
    """Problems of one interactive element."""
    problems: list[str] = []
    kind = element.get("type")
    if len(element.get("action_id", "")) > 255:
        problems.append("action_id over 255")
    if kind == "button":
        if len(element["text"]["text"]) > 75:
            problems.append("button text over 75")
        if len(element.get("value", "")) > 2000:
            problems.append("button value over 2000")
    options = element.get("options") or []
    if kind == "checkboxes" and not 1 <= len(options) <= 10:
        problems.append(f"checkboxes with {len(options)} options")
    if kind == "static_select" and len(options) > 100:
        problems.append("select with over 100 options")
    for option in options:
        if len(option["text"]["text"]) > 75 or len(option["value"]) > 150:
            problems.append("option text over 75 or value over 150")
    confirm = element.get("confirm")
    if confirm and (len(confirm["text"]["text"]) > 300 or len(confirm["title"]["text"]) > 100):
        problems.append("confirm dialog over its limits")
    return problems


def block_problems(block: dict[str, Any]) -> list[str]:
    """Problems of one block."""
    problems: list[str] = []
    kind = block.get("type")
    text = (block.get("text") or {}).get("text", "")
    if len(text) > TEXT_LIMITS.get(kind or "", 3000):
        problems.append(f"{kind} text over its limit")
    fields = block.get("fields") or []
    if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
        problems.append("section fields over their limits")
    elements = block.get("elements") or []
    if kind == "actions" and len(elements) > 25:
        problems.append("actions block with over 25 elements")
    if kind == "context" and len(elements) > 10:
        problems.append("context block with over 10 elements")
    interactive = [e for e in [*elements, block.get("accessory")] if e and "action_id" in e]
    action_ids = [e["action_id"] for e in interactive]
    if len(action_ids) != len(set(action_ids)):
        problems.append("action_id repeated within a block")
    for element in interactive:
        problems += element_problems(element)
    return problems


def problems(blocks: list[dict[str, Any]], *, surface: str = "message") -> list[str]:
    """Everything Slack would refuse in these blocks (empty when they are fine)."""
    found: list[str] = []
    cap = MESSAGE_BLOCKS if surface == "message" else VIEW_BLOCKS
    if len(blocks) > cap:
        found.append(f"{len(blocks)} blocks (at most {cap})")
    ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    if len(ids) != len(set(ids)):
        found.append("block_id repeated")
    if any(len(i) > 255 for i in ids):
        found.append("block_id over 255")
    for block in blocks:
        found += block_problems(block)
    if surface == "message" and block_text_chars(blocks) > BLOCK_TEXT:
        found.append("msg_blocks_too_long")
    return found
