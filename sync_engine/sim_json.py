"""JSON for the ledger doubles: numbers read as Decimal and written exactly, never as floats."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

MAX_DEPTH = 32


def number(value: Decimal) -> str:
    """A decimal with no exponent and no trailing zeros (42.50 -> 42.5), as QBO writes it."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def encode(value: object, fmt: Callable[[Decimal], str] = number) -> bytes:
    """Compact JSON in which a Decimal is written by `fmt` as a JSON number."""
    return _encode(value, fmt).encode()


def _encode(value: object, fmt: Callable[[Decimal], str]) -> str:
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, dict):
        inner = ",".join(f"{json.dumps(str(k))}:{_encode(v, fmt)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item, fmt) for item in value) + "]"
    return json.dumps(value)


def loads(body: bytes) -> object:
    """A client's JSON with every number a Decimal; ValueError if not JSON or nested too deeply."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if depth(data) > MAX_DEPTH:
        raise ValueError("the body is nested too deeply")
    return data


def depth(value: object, level: int = 0) -> int:
    """How deeply `value` nests (stops counting past MAX_DEPTH)."""
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((depth(v, level + 1) for v in value), default=level + 1)
    return level
