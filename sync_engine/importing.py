"""Read files of approved records as a stream of validated rows and problems.

The engine inserts the rows in chunks inside one transaction and rolls back if any problem
appears, so this module never holds a whole file: memory is one row plus a read chunk, and the
`source_id`s seen so far (to refuse duplicates).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from sync_engine.contract import KINDS, Posting, parse_time
from sync_engine.import_formats import (
    BOM,
    READERS,
    REQUIRED_FIELDS,
    FormatProblem,
    ImportFormatError,
)
from sync_engine.money import MoneyError, minor_unit, parse_amount

__all__ = ["ImportFormatError", "ImportProblem", "ImportRow", "detect_format", "read_records"]

MAX_SOURCE_ID = 128
REQUIRED_TEXT = ("source_id", "kind", "payee_id", "payee_name", "description")
OPTIONAL_TEXT = ("approved_by", "account_code", "memo")
FIELDS = (*REQUIRED_FIELDS, *OPTIONAL_TEXT)  # the order problems are reported in
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
    path: Path | str, max_row_bytes: int = 65536
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
    seen: dict[str, int] = {}
    anything = False
    with stream:
        try:
            for item in reader(stream, max_row_bytes):
                anything = True
                if isinstance(item, FormatProblem):
                    yield ImportProblem(item.line, item.field, item.message)
                else:
                    yield from _check_record(item.fields, item.line, seen)
        except ImportFormatError as exc:
            yield ImportProblem(exc.line, "", exc.message)
            return
    if not anything:
        yield ImportProblem(0, "", "the file holds no records")


def _check_record(
    record: object, line: int, seen: dict[str, int]
) -> list[ImportRow | ImportProblem]:
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
    for name, check in (("source_id", _source_id_error), ("kind", _kind_error)):
        if (value := values[name]) is not None and (error := check(value)):
            errors[name] = error
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
    return value.strip(), None


def _source_id_error(source_id: str) -> str | None:
    if len(source_id) > MAX_SOURCE_ID:
        return f"source_id is {len(source_id)} characters long; the most allowed is {MAX_SOURCE_ID}"
    return None


def _duplicate_error(source_id: str | None, line: int, seen: dict[str, int]) -> str | None:
    if source_id is None:
        return None
    first = seen.setdefault(source_id, line)
    if first != line:
        return f"source_id {source_id!r} appears twice in the file: first on line {first}"
    return None


def _kind_error(kind: str) -> str | None:
    if kind in KINDS:
        return None
    return f"kind {kind!r} must be one of: {', '.join(KINDS)}"


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
