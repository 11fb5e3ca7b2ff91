"""Money exact to each currency's ISO 4217 minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sync_engine.money import (
    MoneyError,
    format_amount,
    from_minor,
    minor_unit,
    parse_amount,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "places"),
    [("USD", 2), ("EUR", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)],
)
def test_minor_unit(currency, places):
    assert minor_unit(currency) == places


@pytest.mark.parametrize("currency", ["ZZZ", "usd", "US", "", "USDX", "XAU", "XXX", "XAG"])
def test_minor_unit_refuses_unknown_or_unbookable(currency):
    with pytest.raises(MoneyError, match=repr(currency)):
        minor_unit(currency)


def test_money_error_is_a_value_error():
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    ("text", "currency", "value"),
    [
        ("42.50", "USD", Decimal("42.50")),
        ("42.5", "USD", Decimal("42.5")),
        ("42", "USD", Decimal("42")),
        ("0.01", "USD", Decimal("0.01")),
        (" 42.50 ", "USD", Decimal("42.50")),
        ("1500", "JPY", Decimal("1500")),
        ("1", "JPY", Decimal("1")),
        ("1.500", "KWD", Decimal("1.500")),
        ("0.001", "KWD", Decimal("0.001")),
        ("123456789.99", "USD", Decimal("123456789.99")),
    ],
)
def test_parse_amount_accepts(text, currency, value):
    parsed = parse_amount(text, currency)

    assert parsed == value
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.345", "USD"),
        ("0.001", "USD"),
        ("42.500", "USD"),
        ("1.5", "JPY"),
        ("1500.0", "JPY"),
        ("1.2345", "KWD"),
        ("-1", "USD"),
        ("+1", "USD"),
        ("0", "USD"),
        ("0.00", "USD"),
        ("0", "JPY"),
        ("1e3", "USD"),
        ("1E3", "USD"),
        ("1,000", "USD"),
        ("1 000", "USD"),
        ("1.000.00", "USD"),
        ("$42.50", "USD"),
        ("42.50 USD", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("0x10", "USD"),
        ("", "USD"),
        (" ", "USD"),
        (".", "USD"),
        ("\u0664\u0662", "USD"),
        ("\u00b2", "USD"),
        ("42.50", "ZZZ"),
        ("42.50", "XAU"),
    ],
)
def test_parse_amount_refuses(text, currency):
    with pytest.raises(MoneyError):
        parse_amount(text, currency)


@pytest.mark.parametrize("value", [42.5, 42, 0.1, Decimal("42.50"), None, True, b"42.50"])
def test_parse_amount_refuses_anything_but_a_string(value):
    with pytest.raises(MoneyError, match="string"):
        parse_amount(value, "USD")


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        (Decimal("42.50"), "USD", 4250),
        (Decimal("42.5"), "USD", 4250),
        (Decimal("42"), "USD", 4200),
        (Decimal("0.01"), "USD", 1),
        (Decimal("1500"), "JPY", 1500),
        (Decimal("1.500"), "KWD", 1500),
        (Decimal("0.001"), "KWD", 1),
        (Decimal("12345678901234.56"), "USD", 1234567890123456),
    ],
)
def test_to_minor(amount, currency, units):
    assert to_minor(amount, currency) == units
    assert isinstance(to_minor(amount, currency), int)
    assert from_minor(units, currency) == amount


@pytest.mark.parametrize(
    ("units", "currency", "text"),
    [
        (4250, "USD", "42.50"),
        (4200, "USD", "42.00"),
        (1, "USD", "0.01"),
        (100, "USD", "1.00"),
        (1500, "JPY", "1500"),
        (1, "JPY", "1"),
        (1500, "KWD", "1.500"),
        (1, "KWD", "0.001"),
        (123456789, "CLF", "12345.6789"),
        (1234567890123456, "USD", "12345678901234.56"),
    ],
)
def test_format_amount_keeps_the_currencys_places(units, currency, text):
    assert format_amount(units, currency) == text
    assert str(from_minor(units, currency)) == text
    assert parse_amount(text, currency) == from_minor(units, currency)


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@pytest.mark.parametrize("units", [1, 5, 99, 100, 101, 4250, 999_999, 10**12 + 7])
def test_minor_units_round_trip_exactly(units, currency):
    amount = from_minor(units, currency)

    assert to_minor(amount, currency) == units
    assert amount.as_tuple().exponent == -minor_unit(currency)
    assert to_minor(parse_amount(format_amount(units, currency), currency), currency) == units


@pytest.mark.parametrize(
    ("text", "currency"),
    [("42.50", "USD"), ("42.5", "USD"), ("1500", "JPY"), ("1.5", "KWD"), ("0.10", "USD")],
)
def test_parsed_amounts_round_trip_through_minor_units(text, currency):
    amount = parse_amount(text, currency)

    assert from_minor(to_minor(amount, currency), currency) == amount
