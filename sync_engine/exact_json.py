"""Exact money on a ledger's JSON wire, shared by the QuickBooks and Xero adapters.

Amounts are checked against the currency's minor units (`exact_amount`), written as JSON numbers
from the Decimal's own digits (`dumps`: `42.50` stays `42.50`, never through a float), and answers
are read keeping every non-integer number a Decimal (`loads`), refusing oversized or too deeply
nested bodies rather than trusting them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sync_engine.money import MoneyError, minor_unit

MAX_BYTES = 8 * 1024 * 1024  # an answer larger than this is not read
MAX_DEPTH = 64  # nor one nested deeper than this


class AmountRefused(ValueError):
    """An amount that cannot be booked as given; the text says why, in the admin's words."""


def exact_amount(
    amount: Decimal,
    currency: str,
    *,
    ledger: str,
    max_places: int = 2,
    refused: type[Exception] = AmountRefused,
) -> Decimal:
    """The amount at the currency's minor units; `refused` (the adapter's own error, else
    AmountRefused) if `ledger` cannot book it as is (not positive, more decimals than the
    currency has, or a currency with over `max_places`)."""
    try:
        places = minor_unit(currency)
    except MoneyError as exc:
        raise refused(str(exc)) from None
    if places > max_places:
        raise refused(
            f"{currency} has {places} decimal places: {ledger} takes at most {max_places}"
        )
    exponent = amount.as_tuple().exponent
    if not isinstance(exponent, int) or amount <= 0:
        raise refused(f"amount {amount} must be a positive number")
    if -exponent > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise refused(f"amount {amount} has more than {places} decimal places for {currency}")
    return amount.quantize(Decimal(1).scaleb(-places))


def dumps(value: Any) -> str:
    """JSON with every Decimal written as an exact number (`42.50`), never via a float."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite amount cannot be written")
        return format(value, "f")
    if isinstance(value, dict):
        inner = ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, float):
        raise TypeError("floats are never written: amounts are Decimals")
    return json.dumps(value)


def loads(raw: bytes) -> Any:
    """Parse an answer keeping every non-integer number as a Decimal; None if it is not JSON,
    is larger than MAX_BYTES or nests deeper than MAX_DEPTH."""
    if len(raw) > MAX_BYTES:
        return None
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        return None
    return data if _depth(data) <= MAX_DEPTH else None


def _depth(value: object) -> int:
    """How deeply `value` nests, counted without recursion (stops past MAX_DEPTH)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest
