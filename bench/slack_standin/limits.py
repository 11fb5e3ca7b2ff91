"""Slack's Block Kit limits, checked independently of the bot's builders.

The Web API stand-in refuses what Slack would refuse (`invalid_blocks`, `msg_blocks_too_long`,
`msg_too_long`), and the builders' tests use the same checks, including those slack_sdk does
not make (50 blocks a message, 10 options a checkbox group, unique block ids, the ~12,000
characters of text in a message's blocks, empty text objects, confirm dialogs' buttons).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
BLOCK_TEXT = 12_000
FALLBACK_TEXT = 4_000
TEXT_OBJECT = 3000  # any text object; sections 3,000, fields 2,000, headers 150


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


def text_object_problems(obj: Any, limit: int = TEXT_OBJECT) -> list[str]:
    """Problems of one text object: empty, too long, `verbatim` on plain text."""
    if not isinstance(obj, dict) or "text" not in obj:
        return ["text object without text"]
    found: list[str] = []
    if not 1 <= len(obj["text"]) <= limit:
        found.append(f"{obj.get('type')} text of {len(obj['text'])} characters (1 to {limit})")
    if obj.get("type") not in ("plain_text", "mrkdwn"):
        found.append(f"text object of type {obj.get('type')!r}")
    if obj.get("type") == "plain_text" and "verbatim" in obj:
        found.append("verbatim on a plain_text object")
    return found


def confirm_problems(confirm: dict[str, Any]) -> list[str]:
    """Problems of a confirm dialog: title 100, text 300, buttons 30."""
    found = text_object_problems(confirm.get("title"), 100)
    found += text_object_problems(confirm.get("text"), 300)
    for button in ("confirm", "deny"):
        if button in confirm:
            found += text_object_problems(confirm[button], 30)
    return found


def element_problems(element: dict[str, Any]) -> list[str]:
    """Problems of one interactive element."""
    problems: list[str] = []
    kind = element.get("type")
    if len(element.get("action_id", "")) > 255:
        problems.append("action_id over 255")
    if kind == "button":
        problems += text_object_problems(element.get("text"), 75)
        if len(element.get("value", "")) > 2000:
            problems.append("button value over 2000")
    if "placeholder" in element:
        problems += text_object_problems(element["placeholder"], 150)
    options = element.get("options") or []
    if kind == "checkboxes" and not 1 <= len(options) <= 10:
        problems.append(f"checkboxes with {len(options)} options")
    if kind == "static_select" and len(options) > 100:
        problems.append("select with over 100 options")
    for option in options:
        problems += text_object_problems(option.get("text"), 75)
        if not 1 <= len(option.get("value", "")) <= 150:
            problems.append("option value not 1 to 150 characters")
    if element.get("confirm"):
        problems += confirm_problems(element["confirm"])
    return problems


def block_problems(block: dict[str, Any]) -> list[str]:
    """Problems of one block."""
    problems: list[str] = []
    kind = block.get("type")
    if kind == "header":
        problems += text_object_problems(block.get("text"), 150)
        if (block.get("text") or {}).get("type") != "plain_text":
            problems.append("header text must be plain_text")
    elif kind == "section":
        if "text" not in block and not block.get("fields"):
            problems.append("section without text or fields")
        if "text" in block:
            problems += text_object_problems(block["text"], 3000)
    fields = block.get("fields") or []
    if len(fields) > 10:
        problems.append("section with over 10 fields")
    for f in fields:
        problems += text_object_problems(f, 2000)
    elements = block.get("elements") or []
    if kind == "actions" and len(elements) > 25:
        problems.append("actions block with over 25 elements")
    if kind == "context":
        if not 1 <= len(elements) <= 10:
            problems.append(f"context block with {len(elements)} elements")
        for element in elements:
            problems += text_object_problems(element)
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
