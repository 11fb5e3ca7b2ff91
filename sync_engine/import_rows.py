"""Read files of approved records as a stream of validated rows and problems.

The engine inserts the rows in chunks inside one transaction and rolls back if any problem
appears, so this module never holds a whole file: memory is one row plus a read chunk, and the
`source_id`s seen so far (to refuse duplicates), which `SeenIds` keeps in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from storage.bulk import record_text_lengths
from storage.vocabulary import Kind
from sync_engine.contract import Posting, parse_time
from sync_engine.import_readers import (
    BOM,
    MAX_ROW_BYTES,
    READERS,
    REQUIRED_FIELDS,
    FormatProblem,
    ImportFormatError,
)
from sync_engine.money import PLAIN_DECIMAL, MoneyError, largest_amount, minor_unit, parse_amount
from sync_engine.records import UNSTORABLE
from sync_engine.seen_ids import SeenIds

__all__ = ["ImportFormatError", "ImportProblem", "ImportRow", "detect_format", "read_records"]

REQUIRED_TEXT = ("source_id", "kind", "payee_id", "payee_name", "description")
OPTIONAL_TEXT = ("approved_by", "account_code", "memo")
FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_TEXT)  # the order problems are reported in


# Characters, from the records table's columns: a longer value would fail on PostgreSQL, or
# worse be cut to fit by the bulk insert's cast.
MAX_LENGTHS = record_text_lengths(
    ("source_id", "payee_id", "payee_name", "approved_by", "account_code")
)
_SHORTEST_LIMIT = min(MAX_LENGTHS.values())
_EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


@dataclass(frozen=True)
class ImportRow:
    """A valid record and the 1-based line it starts on."""

    line: int
    posting: Posting


@dataclass(frozen=True)
class ImportProblem:
    """Why a row (or, with line 0 or field "", the whole file) cannot be imported."""

    line: int
    field: str
    message: str


def detect_format(path: Path | str) -> str:
    """Return "json", "jsonl" or "csv": by extension, else by the first non-space character."""
    path = Path(path)
    by_name = _EXTENSIONS.get(path.suffix.lower())
    if by_name:
        return by_name
    with path.open("rb") as stream:
        head = stream.read(4096).removeprefix(BOM)
        while head and not head.strip():
            head = stream.read(4096)
    first = head.lstrip()[:1]
    return {b"[": "json", b"{": "jsonl"}.get(first, "csv")


def read_records(
    path: Path | str, max_row_bytes: int = MAX_ROW_BYTES
) -> Iterator[ImportRow | ImportProblem]:
    """Stream the file's rows, each validated; every problem is yielded, not only the first."""
    if max_row_bytes < 1:
        raise ValueError("max_row_bytes must be positive")
    path = Path(path)
    try:
        reader = READERS[detect_format(path)]
        stream = path.open("rb")
    except OSError as exc:
        yield ImportProblem(0, "", f"cannot read the file {path.name}: {exc.strerror or exc}")
        return
    seen = SeenIds()
    anything = False
    with stream, closing(seen):
        try:
            for item in reader(stream, max_row_bytes):
                anything = True
                if isinstance(item, FormatProblem):
                    yield ImportProblem(item.line, item.field, item.message)
                else:
                    posting = _plain_posting(item.fields, item.line, seen)
                    if posting is not None:
                        yield ImportRow(item.line, posting)
                    else:
                        yield from _check_record(item.fields, item.line, seen)
        except ImportFormatError as exc:
            yield ImportProblem(exc.line, "", exc.message)
            return
    if not anything:
        yield ImportProblem(0, "", "the file holds no records")


def _plain_posting(record: object, line: int, seen: SeenIds) -> Posting | None:
    """The row's Posting when every field is plainly valid, else None for `_check_record`.

    Most rows of a large file are valid: this path checks them with few calls and no
    messages (a non-text value fails its `strip`); any doubt sends the row to `_check_record`,
    which says what is wrong.
    """
    if type(record) is not dict:
        return None
    fields: dict[str, Any] = record
    payee = fields.get("payee")
    try:
        if isinstance(payee, dict):
            payee_id, payee_name = payee["id"].strip(), payee["name"].strip()
        else:
            payee_id, payee_name = fields["payee_id"].strip(), fields["payee_name"].strip()
        source_id, kind = fields["source_id"].strip(), fields["kind"].strip()
        description, currency = fields["description"].strip(), fields["currency"].strip()
        amount = _plain_amount(fields["amount"].strip(), _plain_places(currency))
        approved_at = parse_time(fields["approved_at"])
        approved_by, account_code, memo = (
            fields.get("approved_by"),
            fields.get("account_code"),
            fields.get("memo"),
        )
        approved_by = None if approved_by is None else approved_by.strip() or None
        account_code = None if account_code is None else account_code.strip() or None
        memo = None if memo is None else memo.strip() or None
    except (KeyError, AttributeError, ValueError, InvalidOperation):
        return None
    plain = source_id and payee_id and payee_name and description and kind in tuple(Kind)
    if not plain or amount is None:
        return None
    # A value near a column's limit, or an unstorable character: `_check_record` judges it.
    limited = (source_id, payee_id, payee_name, approved_by or "", account_code or "")
    if max(map(len, limited)) > _SHORTEST_LIMIT:
        return None
    if UNSTORABLE.search("".join((*limited, description, memo or ""))):
        return None
    if seen.first_line(source_id, line) != line:
        return None
    return Posting(
        source_id,
        kind,
        payee_id,
        payee_name,
        amount,
        currency,
        description,
        approved_at,
        approved_by,
        account_code,
        memo,
    )


@lru_cache(maxsize=64)
def _plain_places(currency: str) -> int:
    """Decimal places of a valid currency code; ValueError for anything `_currency` refuses."""
    code, error = _currency(currency)
    if error or code is None:
        raise ValueError(error)
    return _places(code)


def _plain_amount(text: str, places: int) -> Decimal | None:
    """`text` as an amount with exactly `places` places, or None if `_amount` would refuse it."""
    if not PLAIN_DECIMAL.fullmatch(text):
        return None
    point = text.find(".")
    if point >= 0 and len(text) - point - 1 > places:
        return None
    value = Decimal(text)
    if value <= 0 or value > largest_amount(places):
        return None
    return value.quantize(_quantum(places))


def _check_record(record: object, line: int, seen: SeenIds) -> list[ImportRow | ImportProblem]:
    """The row as a Posting, or one problem per bad field."""
    if not isinstance(record, dict):
        return [
            ImportProblem(line, "", f"the record is not a JSON object (found {_kind_of(record)})")
        ]
    fields = _flatten_payee(record)
    values: dict[str, str | None] = {}
    errors: dict[str, str | None] = {}
    for name in REQUIRED_TEXT + OPTIONAL_TEXT:
        values[name], error = _text(name, fields.get(name), required=name in REQUIRED_TEXT)
        if error:
            errors[name] = error
    if (kind := values["kind"]) is not None and (error := _kind_error(kind)):
        errors["kind"] = error
    currency, errors["currency"] = _currency(fields.get("currency"))
    amount, errors["amount"] = _amount(fields.get("amount"), currency)
    approved_at, errors["approved_at"] = _approved_at(fields.get("approved_at"))
    # Ids of bad rows are remembered too, so a later duplicate still names its first line.
    if not errors.get("source_id"):
        errors["source_id"] = _duplicate_error(values["source_id"], line, seen)
    problems: list[ImportRow | ImportProblem] = [
        ImportProblem(line, name, msg) for name in FIELDS if (msg := errors.get(name))
    ]
    if problems:
        return problems
    assert currency is not None and amount is not None and approved_at is not None
    return [ImportRow(line, _posting(values, currency, amount, approved_at))]


def _posting(
    values: dict[str, str | None], currency: str, amount: Decimal, at: datetime
) -> Posting:
    def required(name: str) -> str:
        value = values[name]
        assert value is not None
        return value

    return Posting(
        source_id=required("source_id"),
        kind=required("kind"),
        payee_id=required("payee_id"),
        payee_name=required("payee_name"),
        amount=amount,
        currency=currency,
        description=required("description"),
        approved_at=at,
        approved_by=values["approved_by"],
        account_code=values["account_code"],
        memo=values["memo"],
    )


def _flatten_payee(record: dict[str, object]) -> dict[str, object]:
    # JSON may nest the payee as {"id", "name"}, as the gateway does; it wins over flat fields.
    payee = record.get("payee")
    if not isinstance(payee, dict):
        return record
    return {**record, "payee_id": payee.get("id"), "payee_name": payee.get("name")}


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else "a string"


def _text(name: str, value: object, required: bool) -> tuple[str | None, str | None]:
    """The stripped text of a field, and the problem with it if any."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, f"{name} is required" if required else None
    if not isinstance(value, str):
        return None, f"{name} must be text in quotes, not {_kind_of(value)}"
    text = value.strip()
    if bad := UNSTORABLE.search(text):
        code = ord(bad.group())
        what = "a NUL character" if code == 0 else "half of a UTF-16 surrogate pair"
        return None, f"{name} holds U+{code:04X}, {what}, which cannot be stored"
    most = MAX_LENGTHS.get(name)
    if most is not None and len(text) > most:
        return None, f"{name} is {len(text)} characters long; the most allowed is {most}"
    return text, None


def _duplicate_error(source_id: str | None, line: int, seen: SeenIds) -> str | None:
    if source_id is None:
        return None
    first = seen.first_line(source_id, line)
    if first != line:
        return f"source_id {source_id!r} appears twice in the file: first on line {first}"
    return None


def _kind_error(kind: str) -> str | None:
    if kind in tuple(Kind):
        return None
    return f"kind {kind!r} must be one of: {', '.join(Kind)}"


def _currency(value: object) -> tuple[str | None, str | None]:
    code, error = _text("currency", value, required=True)
    if code is None:
        return None, error
    if len(code) != 3 or not code.isascii() or not code.isalpha() or not code.isupper():
        return None, (
            f"currency {code!r} must be a three-letter ISO 4217 code in capital letters,"
            " such as USD"
        )
    try:
        _places(code)
    except MoneyError as exc:
        return None, str(exc)
    return code, None


@lru_cache(maxsize=8)
def _quantum(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


@lru_cache(maxsize=64)
def _places(currency: str) -> int:
    # A lookup per row adds up over a large file; a file holds few currencies.
    return minor_unit(currency)


def _amount(value: object, currency: str | None) -> tuple[Decimal | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "amount is required"
    if not isinstance(value, str):
        return None, (
            f'amount must be a decimal string in quotes, such as "42.50", not {_kind_of(value)}'
        )
    if currency is None:
        return None, None  # its decimal places depend on the currency, already reported
    try:
        amount = parse_amount(value, currency)
        # Exactly the currency's places, so 12.5 USD is sent as "12.50".
        return amount.quantize(Decimal(1).scaleb(-_places(currency))), None
    except MoneyError as exc:
        return None, str(exc)
    except InvalidOperation:
        return None, f"amount {value!r} is too large"


def _approved_at(value: object) -> tuple[datetime | None, str | None]:
    text, error = _text("approved_at", value, required=True)
    if text is None:
        return None, error
    try:
        return parse_time(text), None
    except ValueError as exc:
        return None, f"approved_at {exc} (such as 2026-11-20T15:04:05Z)"
