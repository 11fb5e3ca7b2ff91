"""Money as `Decimal`, exact to each currency's ISO 4217 minor unit."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from iso4217 import Currency

# digits, optionally a point and more digits: no sign, exponent, separator or bare point
PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
# Amounts are stored as integer minor units in a BIGINT column (SQLite's INTEGER is as wide).
MAX_MINOR_UNITS = 2**63 - 1


class MoneyError(ValueError):
    """An amount or currency that cannot be booked as given."""


def minor_unit(currency: str) -> int:
    """The number of decimal places ISO 4217 gives `currency` (2 for USD, 0 for JPY)."""
    try:
        exponent = Currency(currency).exponent
    except ValueError:
        raise MoneyError(f"unknown currency {currency!r} (expected an ISO 4217 code)") from None
    if exponent is None:
        raise MoneyError(f"currency {currency!r} has no minor unit and cannot be booked")
    return exponent


def parse_amount(text: object, currency: str) -> Decimal:
    """Parse a decimal string such as "42.50"; refuse floats, exponents and excess precision."""
    if not isinstance(text, str):
        raise MoneyError('amount must be a decimal string such as "42.50", not a number')
    places = minor_unit(currency)
    body = text.strip()
    if not PLAIN_DECIMAL.fullmatch(body):
        raise MoneyError(f'amount {text!r} is not a plain positive decimal such as "42.50"')
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise MoneyError(f"amount {text!r} is not a decimal number") from None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places:
        raise MoneyError(f"amount {text!r} has more than {places} decimal places for {currency}")
    if value <= 0:
        raise MoneyError(f"amount {text!r} must be greater than zero")
    if value > (most := largest_amount(places)):
        raise MoneyError(f"amount {text!r} is too large to store (the most is {most} {currency})")
    return value


@lru_cache(maxsize=8)
def largest_amount(places: int) -> Decimal:
    """The largest amount storable with `places` decimal places (92233720368547758.07 for 2)."""
    return Decimal(MAX_MINOR_UNITS).scaleb(-places)


def to_minor(amount: Decimal, currency: str) -> int:
    """Integer minor units of `amount` (42.50 USD -> 4250)."""
    return int(amount.scaleb(minor_unit(currency)))


def from_minor(units: int, currency: str) -> Decimal:
    """`Decimal` with the currency's exact places from integer minor units (4250 USD -> 42.50)."""
    places = minor_unit(currency)
    return Decimal(units).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_amount(units: int, currency: str) -> str:
    """The wire form of an amount: a decimal string with the currency's places."""
    return str(from_minor(units, currency))
