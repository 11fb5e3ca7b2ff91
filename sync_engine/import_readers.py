"""Streaming readers for approved-record files: JSON array, JSON lines and CSV.

Each reader takes a binary stream and yields `RawRecord` (a row's fields, not yet validated) or
`FormatProblem`; it raises `ImportFormatError` when the rest of the file cannot be read. Memory
stays bounded by one row (`max_row`) plus one read chunk, whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from typing import BinaryIO, NamedTuple

BOM = codecs.BOM_UTF8
CHUNK_BYTES = 256 * 1024
MAX_ROW_BYTES = 64 * 1024  # the most one record may hold, in UTF-8 bytes
REQUIRED_FIELDS = (
    "source_id",
    "kind",
    "payee_id",
    "payee_name",
    "amount",
    "currency",
    "description",
    "approved_at",
)


class ImportFormatError(ValueError):
    """The file cannot be read past `line`; one problem for the whole file."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class RawRecord(NamedTuple):
    line: int
    fields: object


class FormatProblem(NamedTuple):
    line: int
    field: str
    message: str


Item = RawRecord | FormatProblem


def too_large(max_row: int) -> str:
    """The message for a row over the size limit."""
    size = f"{max_row // 1024} KB" if max_row % 1024 == 0 else f"{max_row} bytes"
    return f"row is over {size}, the most one record may hold"


def _not_utf8(line: int, byte: int) -> ImportFormatError:
    return ImportFormatError(
        line,
        f"line {line} is not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8 and import it"
        " again",
    )


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a valid JSON value")


# Decimal for JSON fractions so no value ever passes through float.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
_JSON_SPACE = " \t\n\r"


def _decode_one(text: str, line: int) -> Item:
    """Decode one complete JSON value; a bad one becomes a problem on the line it starts."""
    try:
        return RawRecord(line, _DECODER.decode(text))
    except json.JSONDecodeError as exc:
        where = line + exc.lineno - 1
        return FormatProblem(line, "", f"the record is not valid JSON: {exc.msg} (line {where})")
    except ValueError as exc:
        return FormatProblem(line, "", f"the record is not valid JSON: {exc}")
    except RecursionError:
        return FormatProblem(line, "", "the record is nested too deeply to read")


# --- line-based formats -----------------------------------------------------------------------


class _Line(NamedTuple):
    number: int
    text: str | None  # None: the line was over the limit and has been skipped
    size: int  # bytes, without the line ending


def _physical_lines(stream: BinaryIO, max_row: int) -> Iterator[_Line]:
    """Yield each physical line decoded, never holding more than `max_row` bytes of one."""
    limit = max_row + 2  # room for "\r\n" after a row of exactly max_row bytes
    for number in count(1):
        raw = stream.readline(limit)
        if not raw:
            return
        if number == 1:
            raw = raw.removeprefix(BOM)
        size = len(raw.rstrip(b"\r\n"))
        if size > max_row:
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(CHUNK_BYTES)
            yield _Line(number, None, size)
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(number, raw[exc.start]) from None
        yield _Line(number, text, size)


def jsonl_records(stream: BinaryIO, max_row: int) -> Iterator[Item]:
    """One JSON value per non-blank line."""
    raw_decode = _DECODER.raw_decode
    for line in _physical_lines(stream, max_row):
        text = line.text
        if text is None:
            yield FormatProblem(line.number, "", too_large(max_row))
            continue
        try:
            # Most lines are one value then the line end; anything else takes the careful path.
            value, end = raw_decode(text)
            if end == len(text) or not text[end:].strip(_JSON_SPACE):
                yield RawRecord(line.number, value)
                continue
        except (ValueError, RecursionError):
            pass
        if text.strip():
            yield _decode_one(text, line.number)


class _RowTooLarge(Exception):
    pass


class _CsvFeed:
    """Hands csv its physical lines, noting where each row starts and cutting off oversize rows."""

    def __init__(self, lines: Iterator[_Line], max_row: int):
        self._lines = lines
        self._max_row = max_row
        self._row_bytes = 0
        self.consumed = 0
        self.start = 1

    def __iter__(self) -> _CsvFeed:
        return self

    def begin_row(self) -> None:
        self.start = self.consumed + 1
        self._row_bytes = 0

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed = line.number
        self._row_bytes += line.size
        # A quoted value may run over many lines: stop it before it eats memory.
        if line.text is None or self._row_bytes > self._max_row:
            raise _RowTooLarge
        return line.text


def csv_records(stream: BinaryIO, max_row: int) -> Iterator[Item]:
    """Rows of a CSV file with a header row; `line` is where each row starts."""
    feed = _CsvFeed(_physical_lines(stream, max_row), max_row)
    reader = csv.reader(feed)
    header: list[str] | None = None
    while True:
        feed.begin_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _RowTooLarge:
            # The csv reader starts afresh on the next call, so later rows are still read.
            yield FormatProblem(feed.start, "", too_large(max_row))
            continue
        except csv.Error as exc:
            yield FormatProblem(feed.start, "", f"the row is not valid CSV: {exc}")
            continue
        if not "".join(cells).strip():
            continue  # a blank row
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            problems = list(_header_problems(header, cells, feed.start))
            yield from problems
            if problems:
                return  # every row would fail the same way
            continue
        yield _csv_row(header, cells, feed.start)


def _header_problems(header: list[str], cells: list[str], line: int) -> Iterator[FormatProblem]:
    hint = " (is the file separated by ';' instead of ','?)" if len(cells) == 1 else ""
    for name in REQUIRED_FIELDS:
        if name not in header:
            yield FormatProblem(line, name, f"the header row has no '{name}' column{hint}")
    for name in sorted({name for name in header if name and header.count(name) > 1}):
        yield FormatProblem(line, name, f"the header row has the column '{name}' more than once")


def _csv_row(header: list[str], cells: list[str], line: int) -> Item:
    if len(cells) > len(header) and "".join(cells[len(header) :]).strip():
        # Usually an unquoted comma, as in 1,000: the values after it have all shifted.
        return FormatProblem(
            line,
            "",
            f"the row has {len(cells)} values but the header has {len(header)} columns"
            " (is a value with a comma missing its quotes?)",
        )
    fields = dict(zip(header, cells, strict=False))
    fields.pop("", None)  # a column without a name is not a field
    return RawRecord(line, fields)


# --- JSON array -------------------------------------------------------------------------------


def _text_chunks(stream: BinaryIO, chunk_bytes: int) -> Iterator[str]:
    """Decode the stream chunk by chunk, naming the line of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    newlines = 0
    first = True
    while True:
        raw = stream.read(chunk_bytes)
        if first:
            raw, first = raw.removeprefix(BOM), False
        pending = decoder.getstate()[0]  # a character split across the previous read
        try:
            text = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            data = pending + raw
            raise _not_utf8(
                newlines + data[: exc.start].count(b"\n") + 1, data[exc.start]
            ) from None
        newlines += raw.count(b"\n")
        if text:
            yield text
        if not raw:
            return


_SPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["{}\[\]]')
_IN_STRING = re.compile(r'["\\]')
_TOKEN_END = re.compile(r"[ \t\n\r,\]}]")


class _ValueScanner:
    """Finds where one JSON value ends, chunk by chunk, keeping only its nesting state."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = self.escaped = False
        self.bare: bool | None = None

    def feed(self, text: str, i: int) -> int | None:
        """The index just past the value's end in `text`, or None if it goes on."""
        if self.bare is None:
            self.bare = text[i] not in '{["'
            if self.bare:
                i += 1  # a bare token is at least one character long
        if self.bare:
            match = _TOKEN_END.search(text, i)
            return match.start() if match else None
        while i < len(text):
            if self.escaped:
                self.escaped, i = False, i + 1
                continue
            match = (_IN_STRING if self.in_string else _STRUCTURE).search(text, i)
            if match is None:
                return None
            i, char = match.end(), match.group()
            if char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = not self.in_string
            else:
                self.depth += 1 if char in "{[" else -1
            if self.depth == 0 and not self.in_string:
                return i
        return None


class _ArrayBuffer:
    """Text of a JSON array, read ahead by more than one row, with the line at `pos`."""

    def __init__(self, stream: BinaryIO, max_row: int, chunk_bytes: int):
        self._chunks = _text_chunks(stream, chunk_bytes)
        self.max_row = max_row
        self.buf = ""
        self.pos = 0
        self.line = 1
        self.eof = False

    def fill(self) -> None:
        # More than a row's worth after pos, so a failed parse means a bad or an oversize row.
        while not self.eof and len(self.buf) - self.pos <= self.max_row:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
            else:
                self.buf, self.pos = self.buf[self.pos :] + chunk, 0

    def advance(self, to: int) -> None:
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def next_char(self) -> str:
        """Skip white space; the next character, or "" at the end of the file."""
        while True:
            self.fill()
            self.advance(_SPACE.match(self.buf, self.pos).end())  # type: ignore[union-attr]
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos : self.pos + 1]

    def read_value(self) -> Item:
        """The value at `pos`, which must not be white space; moves past it."""
        line, start = self.line, self.pos
        try:
            value, end = _DECODER.raw_decode(self.buf, start)
        except (ValueError, RecursionError):
            return self._recover(line)
        size = end - start
        if size * 4 > self.max_row:  # only then can the UTF-8 form be over the limit
            size = len(self.buf[start:end].encode("utf-8"))
        self.advance(end)
        if size > self.max_row:
            return FormatProblem(line, "", too_large(self.max_row))
        return RawRecord(line, value)

    def _recover(self, line: int) -> Item:
        """Find the end of a value that did not parse: a malformed row, or one over the limit."""
        scanner = _ValueScanner()
        end = scanner.feed(self.buf, self.pos)
        if end is not None and end - self.pos <= self.max_row:
            text = self.buf[self.pos : end]
            self.advance(end)
            return _decode_one(text, line)
        while end is None:  # over the limit: skip it chunk by chunk without keeping it
            if self.eof:
                raise ImportFormatError(
                    line, f"the file ends in the middle of the record that starts on line {line}"
                )
            self.advance(len(self.buf))
            self.fill()
            end = scanner.feed(self.buf, self.pos) if self.pos < len(self.buf) else None
        self.advance(end)
        return FormatProblem(line, "", too_large(self.max_row))


def json_array_records(
    stream: BinaryIO, max_row: int, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[Item]:
    """The elements of one top-level JSON array, each with the line it starts on."""
    text = _ArrayBuffer(stream, max_row, chunk_bytes)
    char = text.next_char()
    if not char:
        return
    if char != "[":
        raise ImportFormatError(
            text.line,
            "a .json file must hold one JSON array of records, starting with '['"
            " (for one record a line, name the file .jsonl)",
        )
    text.advance(text.pos + 1)
    char = text.next_char()
    if not char:
        raise ImportFormatError(text.line, "the file ends before the closing ']' of the array")
    if char != "]":
        while True:
            start = text.line
            yield text.read_value()
            char = text.next_char()
            if char == "]":
                break
            if char != ",":
                found = f"found {char!r}" if char else "the file ends there"
                raise ImportFormatError(
                    text.line,
                    f"expected ',' or ']' after the record that starts on line {start}; {found}",
                )
            text.advance(text.pos + 1)
            if text.next_char() in ("]", ""):
                raise ImportFormatError(text.line, "expected another record after the last ','")
    text.advance(text.pos + 1)
    if text.next_char():
        raise ImportFormatError(text.line, "unexpected text after the closing ']' of the array")


READERS = {"json": json_array_records, "jsonl": jsonl_records, "csv": csv_records}
