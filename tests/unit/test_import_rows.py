"""The streaming reader of approved-record files: formats, validation, limits and memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sync_engine import import_readers
from sync_engine.contract import Posting
from sync_engine.import_rows import ImportProblem, ImportRow, detect_format, read_records

COLUMNS = [
    "source_id",
    "kind",
    "payee_id",
    "payee_name",
    "amount",
    "currency",
    "description",
    "approved_at",
    "approved_by",
    "account_code",
    "memo",
]

GOOD: list[dict[str, Any]] = [
    {
        "source_id": "RMB-2026-0142",
        "kind": "reimbursement",
        "payee_id": "V-17",
        "payee_name": "Ana Souza",
        "amount": "42.5",
        "currency": "USD",
        "description": "Train to the food drive",
        "approved_at": "2026-11-20T15:04:05Z",
        "approved_by": "U0123",
        "account_code": "6100",
        "memo": "receipt 88",
    },
    {
        "source_id": "HON-2026-0007",
        "kind": "honorarium",
        "payee_id": "V-3",
        "payee_name": "Kenji Satō",
        "amount": "15000",
        "currency": "JPY",
        "description": "Workshop, two days",
        "approved_at": "2026-11-21T09:30:00+09:00",
        "approved_by": "",
        "account_code": None,
    },
    {
        "source_id": " RMB-2026-0143 ",
        "kind": "reimbursement",
        "payee_id": "V-9",
        "payee_name": "Zoë Ḿüller",
        "amount": " 1.250 ",
        "currency": "KWD",
        "description": 'Taxi "airport",\nthen café ☕',
        "approved_at": "2026-11-22T00:00:00Z",
        "memo": "   ",
        "cost_center": "ignored",
    },
]

EXPECTED = [
    Posting(
        "RMB-2026-0142",
        "reimbursement",
        "V-17",
        "Ana Souza",
        Decimal("42.50"),
        "USD",
        "Train to the food drive",
        datetime(2026, 11, 20, 15, 4, 5, tzinfo=UTC),
        approved_by="U0123",
        account_code="6100",
        memo="receipt 88",
    ),
    Posting(
        "HON-2026-0007",
        "honorarium",
        "V-3",
        "Kenji Satō",
        Decimal("15000"),
        "JPY",
        "Workshop, two days",
        datetime(2026, 11, 21, 9, 30, tzinfo=timezone(timedelta(hours=9))),
    ),
    Posting(
        "RMB-2026-0143",
        "reimbursement",
        "V-9",
        "Zoë Ḿüller",
        Decimal("1.250"),
        "KWD",
        'Taxi "airport",\nthen café ☕',
        datetime(2026, 11, 22, tzinfo=UTC),
    ),
]

FORMATS = ["json", "jsonl", "csv"]


def write(path: Path, fmt: str, records: list[Any], bom: bool = False) -> Path:
    """One record a line in every format, so record i starts on `line_of(fmt, i)`."""
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
            writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows([{k: v for k, v in r.items() if v is not None} for r in records])
        return path
    lines = [json.dumps(record, ensure_ascii=False) for record in records]
    text = "\n".join(lines) if fmt == "jsonl" else "[\n" + ",\n".join(lines) + "\n]"
    path.write_text(("\ufeff" if bom else "") + text + "\n", encoding="utf-8")
    return path


def line_of(fmt: str, index: int) -> int:
    return index + 1 if fmt == "jsonl" else index + 2


def read(path: Path, **kwargs: Any) -> list[ImportRow | ImportProblem]:
    return list(read_records(path, **kwargs))


def problems(items: list[ImportRow | ImportProblem]) -> list[ImportProblem]:
    return [item for item in items if isinstance(item, ImportProblem)]


def rows(items: list[ImportRow | ImportProblem]) -> list[ImportRow]:
    return [item for item in items if isinstance(item, ImportRow)]


def changed(**changes: Any) -> dict[str, Any]:
    """The first good record with fields replaced; a value of `...` removes the field."""
    record = dict(GOOD[0])
    for name, value in changes.items():
        if value is ...:
            record.pop(name, None)
        else:
            record[name] = value
    return record


# --- good rows --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("bom", [False, True])
def test_good_rows_give_identical_postings_in_every_format(
    tmp_path: Path, fmt: str, bom: bool
) -> None:
    items = read(write(tmp_path / f"good.{fmt}", fmt, GOOD, bom=bom))

    assert problems(items) == []
    assert [row.posting for row in rows(items)] == EXPECTED
    assert [row.line for row in items] == [line_of(fmt, 0), line_of(fmt, 1), line_of(fmt, 2)]
    amounts = [row.posting.amount for row in rows(items)]
    assert [str(a) for a in amounts] == ["42.50", "15000", "1.250"]
    assert all(type(a) is Decimal for a in amounts)


def test_csv_row_with_a_quoted_line_break_reports_where_it_starts(tmp_path: Path) -> None:
    # GOOD[2]'s description holds a line break, so the CSV row after it starts a line later.
    items = read(write(tmp_path / "r.csv", "csv", [GOOD[2], GOOD[0]]))

    assert [row.line for row in rows(items)] == [2, 4]


def test_payee_may_be_an_object_in_json(tmp_path: Path) -> None:
    record = changed(payee_id=..., payee_name=..., payee={"id": " V-17 ", "name": "Ana Souza"})
    items = read(write(tmp_path / "p.json", "json", [record]))

    assert [row.posting for row in rows(items)] == [EXPECTED[0]]


def test_payee_object_missing_its_name(tmp_path: Path) -> None:
    record = changed(payee_id=..., payee_name=..., payee={"id": "V-17"})
    items = read(write(tmp_path / "p.jsonl", "jsonl", [record]))

    assert [(p.line, p.field) for p in problems(items)] == [(1, "payee_name")]


def test_header_names_are_trimmed_and_case_blind(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    write(path, "csv", GOOD[:1])
    text = path.read_text().splitlines()
    header = ",".join(f" {name.upper()} " for name in COLUMNS)
    path.write_text("\n".join([header, *text[1:]]) + "\n")

    assert [row.posting for row in rows(read(path))] == [EXPECTED[0]]


# --- bad fields -------------------------------------------------------------------------------

BAD_FIELDS = [
    ({"source_id": ""}, "source_id", "source_id is required"),
    ({"source_id": "   "}, "source_id", "source_id is required"),
    ({"source_id": "X" * 129}, "source_id", "129 characters long; the most allowed is 128"),
    ({"kind": "refund"}, "kind", "must be one of: reimbursement, honorarium"),
    ({"kind": ...}, "kind", "kind is required"),
    ({"payee_id": ...}, "payee_id", "payee_id is required"),
    ({"payee_name": " "}, "payee_name", "payee_name is required"),
    ({"description": ""}, "description", "description is required"),
    ({"currency": "usd"}, "currency", "three-letter ISO 4217 code in capital letters"),
    ({"currency": "US"}, "currency", "three-letter ISO 4217 code"),
    ({"currency": "ABC"}, "currency", "unknown currency 'ABC'"),
    ({"currency": "XAU"}, "currency", "has no minor unit"),
    ({"currency": ...}, "currency", "currency is required"),
    ({"amount": "12.345"}, "amount", "amount '12.345' has more than 2 decimal places for USD"),
    ({"amount": "1.5", "currency": "JPY"}, "amount", "more than 0 decimal places for JPY"),
    ({"amount": "-5.00"}, "amount", "not a plain positive decimal"),
    ({"amount": "0"}, "amount", "must be greater than zero"),
    ({"amount": "0.00"}, "amount", "must be greater than zero"),
    ({"amount": "1e3"}, "amount", "not a plain positive decimal"),
    ({"amount": "1,000.00"}, "amount", "not a plain positive decimal"),
    ({"amount": "NaN"}, "amount", "not a plain positive decimal"),
    ({"amount": "$12.00"}, "amount", "not a plain positive decimal"),
    ({"amount": ""}, "amount", "amount is required"),
    ({"amount": "1" * 40}, "amount", "is too large"),
    ({"approved_at": "yesterday"}, "approved_at", "'yesterday' is not an ISO 8601 timestamp"),
    ({"approved_at": "2026-13-01"}, "approved_at", "is not an ISO 8601 timestamp"),
    ({"approved_at": ...}, "approved_at", "approved_at is required"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("changes", "field", "message"), BAD_FIELDS)
def test_a_bad_field_is_one_problem_naming_its_line_and_field(
    tmp_path: Path, fmt: str, changes: dict[str, Any], field: str, message: str
) -> None:
    items = read(write(tmp_path / f"bad.{fmt}", fmt, [GOOD[1], changed(**changes)]))

    assert [row.line for row in rows(items)] == [line_of(fmt, 0)]
    [problem] = problems(items)
    assert (problem.line, problem.field) == (line_of(fmt, 1), field)
    assert message in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_row_with_many_bad_fields_gives_one_problem_each_and_no_row(
    tmp_path: Path, fmt: str
) -> None:
    bad = changed(kind="gift", amount="1.001", approved_at="soon", payee_name="")
    items = read(write(tmp_path / f"bad.{fmt}", fmt, [bad]))

    assert rows(items) == []
    fields = ["kind", "payee_name", "amount", "approved_at"]
    assert [(p.line, p.field) for p in problems(items)] == [(line_of(fmt, 0), f) for f in fields]


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_second_source_id_names_the_first_line(tmp_path: Path, fmt: str) -> None:
    again = changed(source_id=" RMB-2026-0142", amount="1.00")
    items = read(write(tmp_path / f"dup.{fmt}", fmt, [GOOD[0], GOOD[1], again]))

    assert [row.line for row in rows(items)] == [line_of(fmt, 0), line_of(fmt, 1)]
    [problem] = problems(items)
    assert (problem.line, problem.field) == (line_of(fmt, 2), "source_id")
    assert f"first on line {line_of(fmt, 0)}" in problem.message


def test_a_duplicate_of_a_bad_row_still_names_its_line(tmp_path: Path) -> None:
    items = read(write(tmp_path / "d.jsonl", "jsonl", [changed(kind="x"), GOOD[0]]))

    assert [(p.line, p.field) for p in problems(items)] == [(1, "kind"), (2, "source_id")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_optional_fields_may_be_empty_or_missing(tmp_path: Path, fmt: str) -> None:
    record = changed(approved_by="", account_code=..., memo="  ")
    [item] = read(write(tmp_path / f"o.{fmt}", fmt, [record]))

    assert isinstance(item, ImportRow)
    assert (item.posting.approved_by, item.posting.account_code, item.posting.memo) == (
        None,
        None,
        None,
    )


@pytest.mark.parametrize("amount", [42.5, 42, 1e3, True])
def test_a_json_number_is_refused_as_an_amount(tmp_path: Path, amount: object) -> None:
    [problem] = read(write(tmp_path / "n.json", "json", [changed(amount=amount)]))

    assert isinstance(problem, ImportProblem)
    assert (problem.line, problem.field) == (2, "amount")
    assert problem.message.startswith("amount must be a decimal string")


def test_json_fractions_never_pass_through_float() -> None:
    source = io.BytesIO(b'{"a": 0.1000000000000000000001, "b": 7}')
    [record] = import_readers.jsonl_records(source, 1024)

    assert isinstance(record, import_readers.RawRecord)
    assert record.fields == {"a": Decimal("0.1000000000000000000001"), "b": 7}


@pytest.mark.parametrize("value", [17, ["V-17"], True])
def test_text_fields_must_be_strings(tmp_path: Path, value: object) -> None:
    [problem] = read(write(tmp_path / "t.jsonl", "jsonl", [changed(payee_id=value)]))

    assert isinstance(problem, ImportProblem)
    assert problem.field == "payee_id"
    assert "must be text" in problem.message


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("value", [[1, 2], "RMB-1", None, 7])
def test_a_row_that_is_not_an_object(tmp_path: Path, fmt: str, value: object) -> None:
    items = read(write(tmp_path / f"x.{fmt}", fmt, [GOOD[0], value, GOOD[1]]))

    assert len(rows(items)) == 2
    [problem] = problems(items)
    assert (problem.line, problem.field) == (line_of(fmt, 1), "")
    assert "not a JSON object" in problem.message


# --- file shape -------------------------------------------------------------------------------


def test_a_pretty_printed_json_array_reports_where_each_object_starts(tmp_path: Path) -> None:
    path = tmp_path / "pretty.json"
    text = json.dumps(GOOD, indent=2, ensure_ascii=False)
    path.write_text(text)
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line == "  {"]

    items = read(path)
    assert [item.line for item in items] == starts
    assert [row.posting for row in rows(items)] == EXPECTED


def test_a_json_array_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(GOOD))

    assert [(row.line, row.posting) for row in rows(read(path))] == [(1, p) for p in EXPECTED]


def test_a_json_array_read_in_tiny_chunks(tmp_path: Path) -> None:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(GOOD * 3, indent=1, ensure_ascii=False), encoding="utf-8")
    whole = read(path)

    with path.open("rb") as tiny, path.open("rb") as big:
        in_3_bytes = import_readers.json_array_records(tiny, 600, chunk_bytes=3)
        at_once = import_readers.json_array_records(big, import_readers.MAX_ROW_BYTES)
        assert list(in_3_bytes) == list(at_once)
    assert len(rows(whole)) == 3 and len(problems(whole)) == 6  # the repeats are duplicates


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"source_id": "A"}', 1, "must hold one JSON array"),
        ("[\n" + json.dumps(GOOD[0]), 2, "expected ',' or ']'"),
        ("[\n", 2, "ends before the closing ']'"),
        ("[\n" + json.dumps(GOOD[0]) + "\n" + json.dumps(GOOD[1]) + "]", 3, "found '{'"),
        ("[\n" + json.dumps(GOOD[0]) + ",\n]", 3, "expected another record"),
        ("[\n" + json.dumps(GOOD[0]) + "\n]\n\nmore", 5, "unexpected text after"),
        ('[\n{"source_id": "A", "memo": "no end', 2, "ends in the middle of the record"),
    ],
)
def test_a_broken_json_array_is_one_file_problem(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)

    last = read(path)[-1]
    assert isinstance(last, ImportProblem)
    assert (last.line, last.field) == (line, "")
    assert message in last.message


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_invalid_json_in_one_row_does_not_hide_the_others(tmp_path: Path, fmt: str) -> None:
    good = [json.dumps(r) for r in GOOD]
    lines = [good[0], '{"source_id": "B", "amount": "1.00",, "kind": "x"}', good[1], "NaN"]
    path = tmp_path / f"syntax.{fmt}"
    path.write_text("\n".join(lines) if fmt == "jsonl" else "[\n" + ",\n".join(lines) + "\n]")

    items = read(path)
    assert [row.line for row in rows(items)] == [line_of(fmt, 0), line_of(fmt, 2)]
    assert [(p.line, p.field) for p in problems(items)] == [
        (line_of(fmt, 1), ""),
        (line_of(fmt, 3), ""),
    ]
    assert all("not valid JSON" in p.message for p in problems(items))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.json", ""),
        ("empty.jsonl", ""),
        ("empty.csv", ""),
        ("blank.jsonl", "\n  \n\n"),
        ("space.json", " \n "),
        ("nothing.json", "[ \n ]\n"),
        ("header.csv", ",".join(COLUMNS) + "\n\n"),
        ("bom.csv", "\ufeff"),
    ],
)
def test_a_file_without_records(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    assert read(path) == [ImportProblem(0, "", "the file holds no records")]


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    [problem] = read(tmp_path / "gone.csv")

    assert isinstance(problem, ImportProblem)
    assert problem.line == 0 and "cannot read the file gone.csv" in problem.message


def test_csv_header_without_required_columns(tmp_path: Path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("source_id,kind,payee_id,payee_name,currency,description\nA,b,c,d,USD,e\n")

    items = read(path)
    assert rows(items) == []
    found = problems(items)
    assert [(p.line, p.field) for p in found] == [(1, "amount"), (1, "approved_at")]
    assert "the header row has no 'amount' column" in found[0].message


def test_csv_separated_by_semicolons_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    path.write_text(";".join(COLUMNS) + "\n")

    assert all("separated by ';'" in p.message for p in problems(read(path)))


def test_csv_row_with_more_values_than_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "extra.csv", "csv", [GOOD[0]])
    with path.open("a") as out:
        out.write("RMB-9,reimbursement,V-1,Ana,1,000.00,USD,x,2026-11-20,U1,6100,memo\n")

    [problem] = problems(read(path))
    assert (problem.line, problem.field) == (3, "")
    assert "12 values but the header has 11 columns" in problem.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_windows_line_endings(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / f"crlf.{fmt}", fmt, GOOD)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    items = read(path)
    assert [row.line for row in rows(items)] == [line_of(fmt, i) for i in range(3)]
    # Only CSV holds the line break raw; JSON escapes it, so its text is unchanged.
    description = EXPECTED[2].description
    expected = description.replace("\n", "\r\n") if fmt == "csv" else description
    assert rows(items)[2].posting.description == expected


# --- encoding and size ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_bytes_that_are_not_utf8_are_reported_with_their_line(tmp_path: Path, fmt: str) -> None:
    path = write(tmp_path / f"latin.{fmt}", fmt, [GOOD[0], changed(source_id="B", memo="MARK")])
    path.write_bytes(path.read_bytes().replace(b"MARK", "Café".encode("latin-1")))

    last = read(path)[-1]
    assert isinstance(last, ImportProblem)
    assert (last.line, last.field) == (line_of(fmt, 1), "")
    assert f"line {line_of(fmt, 1)} is not UTF-8 text (byte 0xE9)" in last.message


@pytest.mark.parametrize("chunk", [1, 2, 5, 4096])
def test_non_utf8_line_is_right_at_any_chunk_boundary(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes('[\n\n  {"memo": "é\n€",\n'.encode() + b'"x": "\xe2\x82"}]')

    with path.open("rb") as stream, pytest.raises(import_readers.ImportFormatError) as error:
        list(import_readers.json_array_records(stream, 600, chunk_bytes=chunk))
    assert error.value.line == 5
    assert read(path)[-1].line == 5


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_row_over_64_kb_is_a_problem_and_reading_goes_on(tmp_path: Path, fmt: str) -> None:
    big = changed(source_id="BIG", memo="x" * 70_000)
    items = read(write(tmp_path / f"big.{fmt}", fmt, [GOOD[0], big, GOOD[1]]))

    assert [row.line for row in rows(items)] == [line_of(fmt, 0), line_of(fmt, 2)]
    assert problems(items) == [
        ImportProblem(line_of(fmt, 1), "", "row is over 64 KB, the most one record may hold")
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_limit_counts_utf8_bytes(tmp_path: Path, fmt: str) -> None:
    # 300 characters, but 900 bytes: over a 600-byte limit.
    items = read(write(tmp_path / f"wide.{fmt}", fmt, [changed(memo="€" * 300)]), max_row_bytes=600)

    assert [(p.line, p.message) for p in problems(items)] == [
        (line_of(fmt, 0), "row is over 600 bytes, the most one record may hold")
    ]


def test_a_huge_json_array_element_on_one_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "flat.json"
    path.write_text(json.dumps([GOOD[0], changed(source_id="BIG", memo="\\" * 300_000), GOOD[1]]))

    items = read(path)
    assert [item.line for item in items] == [1, 1, 1]
    assert [type(item) for item in items] == [ImportRow, ImportProblem, ImportRow]


def test_a_csv_value_running_over_many_lines_is_cut_off(tmp_path: Path) -> None:
    path = write(tmp_path / "quote.csv", "csv", [GOOD[0]])
    with path.open("a") as out:
        out.write('B,reimbursement,V,"unclosed\n' + "more text\n" * 200)

    assert read(path, max_row_bytes=1024)[1] == ImportProblem(
        3, "", "row is over 1 KB, the most one record may hold"
    )


# --- detecting the format ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fmt"),
    [
        ("a.JSON", "", "json"),
        ("a.jsonl", "[", "jsonl"),
        ("a.ndjson", "", "jsonl"),
        ("a.csv", "{", "csv"),
        ("a.txt", "\ufeff \n [", "json"),
        ("a", "\n{", "jsonl"),
        ("a.dat", "source_id,kind", "csv"),
        ("a.dat", "", "csv"),
        ("a.dat", " " * 10_000 + "[", "json"),
    ],
)
def test_detect_format(tmp_path: Path, name: str, content: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    assert detect_format(path) == fmt
    assert detect_format(str(path)) == fmt


def test_a_file_without_extension_is_read_by_its_content(tmp_path: Path) -> None:
    path = write(tmp_path / "records.json", "json", GOOD)

    assert [row.posting for row in rows(read(path.rename(tmp_path / "records")))] == EXPECTED


# --- memory -----------------------------------------------------------------------------------


def _big_rows(count: int) -> list[str]:
    """`count` distinct rows of about 3 KB each, as JSON text."""
    template = json.dumps(changed(source_id="ID-{n}", memo="m" * 2_900))
    return [template.replace("ID-{n}", f"RMB-{n:07d}") for n in range(count)]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_30_mb_file_is_read_without_loading_it(tmp_path: Path, fmt: str) -> None:
    count = 10_000
    path = tmp_path / f"big.{fmt}"
    with path.open("w", encoding="utf-8") as out:
        out.write("" if fmt == "jsonl" else "[\n")
        out.write(("\n" if fmt == "jsonl" else ",\n").join(_big_rows(count)))
        out.write("\n" if fmt == "jsonl" else "\n]\n")
    assert path.stat().st_size > 30_000_000

    tracemalloc.start()
    try:
        seen = 0
        for item in read_records(path):
            assert isinstance(item, ImportRow)
            seen += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == count
    assert peak < 20_000_000, f"peak {peak / 1e6:.1f} MB"
