"""Bad data in import files (issue 6, item 6): refused with its line and field, nothing kept.

Each case is a file of valid rows around one bad row, imported through `SyncEngine.import_file`
on SQLite and on PostgreSQL in chunks of 3 rows, so the valid rows before the bad one have
already gone to the database when it is read. The import must be refused with exactly one
problem, naming the bad row's line and field with the exact message, and the records,
sync_log and record_changes tables must hold what they held before. A few cases go through
`syncbot import` too (exit code 2, the problems and a reason on stderr). Last, valid files of
about 5, 25 and 50 MB are imported in child processes, and the peak RSS of the 50 MB import must
grow little more than that of the smaller ones.

Two kinds of problem belong to the whole row rather than to one field, and name no field
(`field == ""`, as tests/unit/test_import_rows.py pins down): a row over 64 KB (skipped unread,
so its fields are never known) and bytes that are not UTF-8 (reading stops there; the message
names the line and the byte).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.import_file import rows as valid_rows
from storage.db import Database
from storage.models import Record, RecordChange, SyncLogEntry
from sync_engine.engine import SyncEngine
from sync_engine.errors import ImportRejected
from sync_engine.gateway_sim import Fault, GatewaySimulator
from sync_engine.import_readers import REQUIRED_FIELDS
from sync_engine.import_rows import FIELDS, ImportProblem
from sync_engine.import_writer import ImportChunks
from sync_engine.money import MAX_MINOR_UNITS

FORMATS = ("jsonl", "json", "csv")
SYNCBOT = Path(sys.executable).with_name("syncbot")
PLAIN = 'is not a plain positive decimal such as "42.50"'
NUMBER = 'amount must be a decimal string in quotes, such as "42.50", not a number'
TOO_LARGE = "row is over 64 KB, the most one record may hold"
GOOD_BEFORE, GOOD_AFTER = 7, 2  # valid rows around the bad one: two chunks of 3 are stored first


# -- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonNumber:
    """A value written into a JSON file as a bare number, exactly as given (such as 1e3)."""

    text: str


Row = dict[str, Any]


def row(n: int, **changes: Any) -> Row:
    """A valid import row numbered `n`, with fields replaced; a value of `...` removes one."""
    values: Row = {
        "source_id": f"BAD-{n:04d}",
        "kind": "reimbursement",
        "payee_id": "VOL-7",
        "payee_name": "Ana Lima",
        "amount": f"{n}.25",
        "currency": "USD",
        "description": f"Mileage, food bank drive {n}",
        "approved_at": "2026-11-20T15:04:05Z",
        "approved_by": "Finance lead",
        "memo": "receipt attached",
    }
    for name, value in changes.items():
        if value is ...:
            values.pop(name, None)
        else:
            values[name] = value
    return values


def json_text(record: Row) -> str:
    """One record as JSON; a `JsonNumber` is written bare (at most one a record)."""
    numbers = [v for v in record.values() if isinstance(v, JsonNumber)]
    plain = {k: "@NUMBER@" if isinstance(v, JsonNumber) else v for k, v in record.items()}
    text = json.dumps(plain)  # ASCII: a lone surrogate stays a "\ud800" escape
    return text.replace('"@NUMBER@"', numbers[0].text) if numbers else text


def csv_text(records: Sequence[Row], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    if header:
        writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def write(path: Path, records: Sequence[Row]) -> Path:
    """`records` in the format the suffix names, one record a line (after a header or '[')."""
    fmt = path.suffix[1:]
    if fmt == "csv":
        path.write_text(csv_text(records), encoding="utf-8", newline="")
        return path
    lines = [json_text(r) for r in records]
    text = "\n".join(lines) if fmt == "jsonl" else "[\n" + ",\n".join(lines) + "\n]"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def line_of(fmt: str, index: int) -> int:
    """The line record `index` (0-based) of a `write` file starts on."""
    return index + 1 if fmt == "jsonl" else index + 2


def bad_file(path: Path, bad: Row, patch: tuple[bytes, bytes] | None = None) -> Path:
    """Valid rows, then `bad`, then more valid rows; `patch` then replaces bytes in the file."""
    before = [row(n) for n in range(1, GOOD_BEFORE + 1)]
    after = [row(n) for n in range(GOOD_BEFORE + 2, GOOD_BEFORE + 2 + GOOD_AFTER)]
    write(path, [*before, bad, *after])
    if patch is not None:
        data = path.read_bytes()
        assert data.count(patch[0]) == 1, "the patch must hit the bad row"
        path.write_bytes(data.replace(*patch))
    return path


BAD_LINE = {fmt: line_of(fmt, GOOD_BEFORE) for fmt in FORMATS}


# -- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad row: how it differs from a valid one, and the one problem it must give."""

    name: str
    changes: dict[str, Any]
    field: str
    message: str
    formats: tuple[str, ...] = FORMATS
    patch: tuple[bytes, bytes] | None = None

    def message_for(self, fmt: str) -> str:
        return self.message.replace("{line}", str(BAD_LINE[fmt]))


def amount(text: Any, message: str, currency: str = "USD", **kw: Any) -> Case:
    name = f"amount {text!r} {currency}"
    return Case(name, {"amount": text, "currency": currency}, "amount", message, **kw)


def not_utf8(name: str, raw: bytes, byte: int) -> Case:
    message = (
        f"line {{line}} is not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8 and import"
        " it again"
    )
    return Case(name, {"memo": "MARK"}, "", message, patch=(b"MARK", raw))


JSON_ONLY = ("jsonl", "json")
LONG_MEMO = "x" * 70_000
CASES = [
    # amounts: exact to the currency's minor unit, positive, plain digits, a string
    amount("12.345", "amount '12.345' has more than 2 decimal places for USD"),
    amount("1.5", "amount '1.5' has more than 0 decimal places for JPY", "JPY"),
    amount("1.2345", "amount '1.2345' has more than 3 decimal places for KWD", "KWD"),
    amount("-5.00", f"amount '-5.00' {PLAIN}"),
    amount("-0.00", f"amount '-0.00' {PLAIN}"),
    amount("0", "amount '0' must be greater than zero"),
    amount("0.00", "amount '0.00' must be greater than zero"),
    amount("1e3", f"amount '1e3' {PLAIN}"),
    amount("1E3", f"amount '1E3' {PLAIN}"),
    amount("1,000.00", f"amount '1,000.00' {PLAIN}"),
    amount("1.000,00", f"amount '1.000,00' {PLAIN}"),
    amount("1 000.00", f"amount '1 000.00' {PLAIN}"),
    amount("1_000.00", f"amount '1_000.00' {PLAIN}"),
    amount("$12.00", f"amount '$12.00' {PLAIN}"),
    amount("12.00 USD", f"amount '12.00 USD' {PLAIN}"),
    amount("+12.00", f"amount '+12.00' {PLAIN}"),
    amount(".50", f"amount '.50' {PLAIN}"),
    amount("12.", f"amount '12.' {PLAIN}"),
    amount("NaN", f"amount 'NaN' {PLAIN}"),
    amount("Infinity", f"amount 'Infinity' {PLAIN}"),
    amount("\u0661\u0662", f"amount '\u0661\u0662' {PLAIN}"),  # Arabic-Indic digits
    amount("\uff11\uff12", f"amount '\uff11\uff12' {PLAIN}"),  # full-width digits
    amount(
        "100000000000000000.00",
        "amount '100000000000000000.00' is too large to store"
        " (the most is 92233720368547758.07 USD)",
    ),
    amount(
        "9223372036854775808",
        "amount '9223372036854775808' is too large to store (the most is 9223372036854775807 JPY)",
        "JPY",
    ),
    amount("", "amount is required"),
    # JSON numbers are refused whatever their value: a float may already have lost a cent
    amount(12.5, NUMBER, formats=JSON_ONLY),
    amount(12, NUMBER, formats=JSON_ONLY),
    amount(JsonNumber("1e3"), NUMBER, formats=JSON_ONLY),
    amount(JsonNumber("42.50"), NUMBER, formats=JSON_ONLY),
    amount(JsonNumber("0.1000000000000000000001"), NUMBER, formats=JSON_ONLY),
    amount(
        True,
        'amount must be a decimal string in quotes, such as "42.50", not true',
        "USD",
        formats=JSON_ONLY,
    ),
    amount(None, "amount is required", formats=JSON_ONLY),
    # kinds and currencies
    Case(
        "kind gift",
        {"kind": "gift"},
        "kind",
        "kind 'gift' must be one of: reimbursement, honorarium",
    ),
    Case(
        "kind capitalised",
        {"kind": "Honorarium"},
        "kind",
        "kind 'Honorarium' must be one of: reimbursement, honorarium",
    ),
    Case(
        "currency unknown",
        {"currency": "XYZ"},
        "currency",
        "unknown currency 'XYZ' (expected an ISO 4217 code)",
    ),
    Case(
        "currency lower case",
        {"currency": "usd"},
        "currency",
        "currency 'usd' must be a three-letter ISO 4217 code in capital letters, such as USD",
    ),
    Case(
        "currency symbol",
        {"currency": "\u20ac"},
        "currency",
        "currency '\u20ac' must be a three-letter ISO 4217 code in capital letters, such as USD",
    ),
    Case(
        "currency without minor unit",
        {"currency": "XAU"},
        "currency",
        "currency 'XAU' has no minor unit and cannot be booked",
    ),
    # missing fields (in CSV: an empty cell; a missing column is a header problem, below)
    *[
        Case(f"{name} missing", {name: ...}, name, f"{name} is required")
        for name in REQUIRED_FIELDS
    ],
    Case("payee_id blank", {"payee_id": "   "}, "payee_id", "payee_id is required"),
    # text: a string, storable, within its column
    Case(
        "payee_id a number",
        {"payee_id": 17},
        "payee_id",
        "payee_id must be text in quotes, not a number",
        formats=JSON_ONLY,
    ),
    Case(
        "source_id too long",
        {"source_id": "S" * 129},
        "source_id",
        "source_id is 129 characters long; the most allowed is 128",
    ),
    Case(
        "payee_name too long",
        {"payee_name": "N" * 257},
        "payee_name",
        "payee_name is 257 characters long; the most allowed is 256",
    ),
    Case(
        "approved_by too long",
        {"approved_by": "B" * 257},
        "approved_by",
        "approved_by is 257 characters long; the most allowed is 256",
    ),
    Case(
        "account_code too long",
        {"account_code": "6" * 65},
        "account_code",
        "account_code is 65 characters long; the most allowed is 64",
    ),
    Case(
        "NUL in description",
        {"description": "Taxi\x00to the airport"},
        "description",
        "description holds U+0000, a NUL character, which cannot be stored",
    ),
    Case(
        "lone surrogate in memo",
        {"memo": "receipt \ud800"},
        "memo",
        "memo holds U+D800, half of a UTF-16 surrogate pair, which cannot be stored",
        formats=JSON_ONLY,  # a CSV file cannot hold one: it is not UTF-8 text
    ),
    Case(
        "approved_at not a time",
        {"approved_at": "yesterday"},
        "approved_at",
        "approved_at 'yesterday' is not an ISO 8601 timestamp (such as 2026-11-20T15:04:05Z)",
    ),
    # whole-row problems: no field
    Case("row over 64 KB", {"memo": LONG_MEMO}, "", TOO_LARGE),
    Case("row over 64 KB in UTF-8 bytes", {"memo": "\u20ac" * 22_000}, "", TOO_LARGE),
    not_utf8("Latin-1 e acute", "Caf\xe9".encode("latin-1"), 0xE9),
    not_utf8("cp1252 curly quote", b"\x93quoted\x94", 0x93),
    not_utf8("lone continuation byte", b"a\x80b", 0x80),
    not_utf8("overlong encoding", b"\xc0\xaf", 0xC0),
    not_utf8("encoded surrogate", b"\xed\xa0\x80", 0xED),
    not_utf8("truncated sequence", b"\xe2\x82", 0xE2),
]


# -- the database -----------------------------------------------------------------------------


def counts(database: Database) -> tuple[int, int, int]:
    """Rows in records, sync_log and record_changes."""
    with database.session() as session:

        def rows(model: type[Record | SyncLogEntry | RecordChange]) -> int:
            return session.scalar(select(func.count()).select_from(model)) or 0

        return rows(Record), rows(SyncLogEntry), rows(RecordChange)


# Chunks of 3 rows, read 2 at a time: valid rows reach the database before a bad one.
# A test takes them by parametrizing `import_chunks` (the fixture `make_engine_for` builds with).
SMALL_CHUNKS = pytest.mark.parametrize("import_chunks", [ImportChunks(3, 2)], ids=["small"])


@pytest.fixture
def seeded(make_engine_for: Callable[..., SyncEngine], tmp_path: Path) -> SyncEngine:
    """An engine whose database already holds three records, which must stay as they are."""
    engine = make_engine_for()
    seed = [row(n, source_id=f"SEED-{n}") for n in range(1, 4)]
    assert engine.import_file(write(tmp_path / "seed.jsonl", seed), by="t").imported == 3
    return engine


def outcome(engine: SyncEngine, path: Path) -> list[ImportProblem] | str:
    """Import `path`: the problems it was refused for, or what it imported."""
    try:
        result = engine.import_file(path, by="t")
    except ImportRejected as exc:
        assert str(exc) == f"{len(exc.problems)} problem(s) in the file; nothing was imported"
        return list(exc.problems)
    except Exception as exc:  # noqa: BLE001 - a crash is this case's outcome; the loop goes on
        return f"crashed: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return f"imported {result.imported}, duplicates {len(result.duplicates)}"


def refused(engine: SyncEngine, path: Path) -> list[ImportProblem]:
    """Import `path`, which must be refused; its problems."""
    problems = outcome(engine, path)
    assert isinstance(problems, list), problems
    return problems


# -- each case, in each format, on each database -----------------------------------------------


@pytest.mark.timeout(180)
@SMALL_CHUNKS
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_bad_row_is_refused_with_line_and_field_and_nothing_is_kept(
    database, seeded: SyncEngine, tmp_path: Path, fmt: str
) -> None:
    before = counts(database)
    assert before == (3, 3, 0)
    cases = [case for case in CASES if fmt in case.formats]
    mismatches: list[str] = []
    for number, case in enumerate(cases):
        bad = row(GOOD_BEFORE + 1, **case.changes)
        path = bad_file(tmp_path / f"case{number}.{fmt}", bad, case.patch)
        got = outcome(seeded, path)
        want = [ImportProblem(BAD_LINE[fmt], case.field, case.message_for(fmt))]
        if got != want:
            mismatches.append(f"{case.name}: got {got!r}, want {want!r}")
        if (now := counts(database)) != before:
            mismatches.append(f"{case.name}: rows went from {before} to {now}")
            before = now
    assert not mismatches, f"{len(mismatches)} of {len(cases)} cases:\n" + "\n".join(mismatches)
    # Nothing of the refused files is in the way of the valid rows now.
    fixed = [row(n) for n in range(1, GOOD_BEFORE + 2 + GOOD_AFTER)]
    result = seeded.import_file(write(tmp_path / f"fixed.{fmt}", fixed), by="t")
    assert (result.imported, result.duplicates) == (len(fixed), ())


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_source_id_twice_names_both_lines_and_keeps_nothing(
    database, seeded: SyncEngine, tmp_path: Path, fmt: str
) -> None:
    again = row(2, source_id=" BAD-0002 ", amount="9.99")  # trimmed, it is the same id
    path = write(tmp_path / f"twice.{fmt}", [*[row(n) for n in range(1, 6)], again, row(6)])

    assert refused(seeded, path) == [
        ImportProblem(
            line_of(fmt, 5),
            "source_id",
            f"source_id 'BAD-0002' appears twice in the file: first on line {line_of(fmt, 1)}",
        )
    ]
    assert counts(database) == (3, 3, 0)


@pytest.mark.timeout(120)
def test_a_source_id_twice_far_apart_in_a_large_file(
    database, seeded: SyncEngine, tmp_path: Path
) -> None:
    # Past 65,536 ids the reader keeps the older ones in a temporary file: still found.
    total = 70_000
    path = tmp_path / "far.jsonl"
    template = json_text(row(0, source_id="@ID@"))
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, total + 1):
            out.write(template.replace("@ID@", f"FAR-{n:06d}") + "\n")
        out.write(template.replace("@ID@", "FAR-000002") + "\n")

    assert refused(seeded, path) == [
        ImportProblem(
            total + 1,
            "source_id",
            "source_id 'FAR-000002' appears twice in the file: first on line 2",
        )
    ]
    assert counts(database) == (3, 3, 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_bad_row_is_listed_in_file_order(
    database, seeded: SyncEngine, tmp_path: Path, fmt: str
) -> None:
    records = [
        row(1, amount="12.345"),
        row(2),
        row(3, kind="gift", currency="XYZ"),
        row(4, memo=LONG_MEMO),
        row(5, description=...),
        row(1),
    ]
    path = write(tmp_path / f"many.{fmt}", records)

    found = [(p.line, p.field) for p in refused(seeded, path)]
    lines = [line_of(fmt, i) for i in range(6)]
    assert found == [
        (lines[0], "amount"),
        (lines[2], "kind"),
        (lines[2], "currency"),
        (lines[3], ""),
        (lines[4], "description"),
        (lines[5], "source_id"),
    ]
    assert counts(database) == (3, 3, 0)


def test_a_csv_file_without_a_required_column(database, seeded: SyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "columns.csv"
    text = csv_text([row(1), row(2)])
    header, *rest = text.splitlines()
    path.write_text("\n".join([header.replace("currency", "curency"), *rest]) + "\n")

    assert refused(seeded, path) == [
        ImportProblem(1, "currency", "the header row has no 'currency' column")
    ]
    assert counts(database) == (3, 3, 0)


@pytest.mark.timeout(120)
@SMALL_CHUNKS
@pytest.mark.parametrize("fmt", FORMATS)
def test_bytes_that_are_not_utf8_deep_in_a_file_keep_nothing(
    database, seeded: SyncEngine, tmp_path: Path, fmt: str
) -> None:
    # Far past the readers' 256 KB read-ahead: a thousand chunks are stored before the byte.
    count = 3_000
    records = [row(n, memo="m" * 200) for n in range(1, count + 1)]
    records.append(row(count + 1, memo="MARK"))
    path = write(tmp_path / f"late.{fmt}", records)
    path.write_bytes(path.read_bytes().replace(b"MARK", b"Caf\xe9"))
    assert path.stat().st_size > 3 * 256 * 1024
    line = line_of(fmt, count)

    assert refused(seeded, path) == [
        ImportProblem(
            line,
            "",
            f"line {line} is not UTF-8 text (byte 0xE9); save the file as UTF-8 and import it"
            " again",
        )
    ]
    assert counts(database) == (3, 3, 0)


# -- limits: just inside is kept whole --------------------------------------------------------


def _row_bytes(fmt: str, record: Row) -> int:
    if fmt == "csv":
        return len(csv_text([record], header=False).rstrip("\n").encode())
    return len(json_text(record).encode())


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_at_each_limit_are_stored_whole(
    database, seeded: SyncEngine, tmp_path: Path, fmt: str
) -> None:
    limits = {
        "source_id": "S" * 128,
        "payee_id": "P" * 128,
        "payee_name": "\u00e9" * 256,  # characters, not bytes
        "approved_by": "B" * 256,
        "account_code": "6" * 64,
    }
    widest = row(1, **limits, amount="92233720368547758.07")
    largest_jpy = row(2, amount="9223372036854775807", currency="JPY")
    at_64_kb = row(3, memo="")
    at_64_kb["memo"] = "x" * (64 * 1024 - _row_bytes(fmt, at_64_kb))
    assert _row_bytes(fmt, at_64_kb) == 64 * 1024
    path = write(tmp_path / f"limits.{fmt}", [widest, largest_jpy, at_64_kb])

    assert seeded.import_file(path, by="t").imported == 3
    with database.session() as session:
        stored = session.scalars(select(Record).where(Record.source_id.not_like("SEED-%"))).all()
        by_id = {record.source_id: record for record in stored}
    wide = by_id["S" * 128]
    assert {name: getattr(wide, name) for name in limits} == limits  # not cut to fit
    assert wide.amount_minor == by_id["BAD-0002"].amount_minor == MAX_MINOR_UNITS
    assert len(by_id["BAD-0003"].memo or "") == len(at_64_kb["memo"])


def test_a_bad_row_stops_corrections_of_earlier_rows(
    database, make_engine_for: Callable[..., SyncEngine], sim: GatewaySimulator, tmp_path: Path
) -> None:
    engine = make_engine_for()
    engine.import_file(write(tmp_path / "a.jsonl", [row(1), row(2)]), by="t")
    sim.faults.add(Fault(kind="validation"))
    engine.sync(requested_by="t", via="cli")
    sim.faults.clear()
    assert engine.count_failed() == 2  # refused as needs_attention: they may be corrected
    with database.session() as session:
        keys_before = dict(session.execute(select(Record.source_id, Record.idempotency_key)).all())

    fixed = [row(1, memo="fixed"), row(2, amount="1.001")]
    path = write(tmp_path / "b.jsonl", fixed)
    with pytest.raises(ImportRejected) as caught:
        engine.import_file(path, update=True, by="finance")

    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "amount")]
    assert counts(database) == (2, 2, 0)
    with database.session() as session:
        memos = session.scalars(select(Record.memo)).all()
        keys_after = dict(session.execute(select(Record.source_id, Record.idempotency_key)).all())
    assert memos == ["receipt attached", "receipt attached"]
    assert keys_after == keys_before  # no new idempotency key either


# -- the command line -------------------------------------------------------------------------


def clean_env(database_url: str) -> dict[str, str]:
    """This environment without syncbot settings or proxies, on `database_url`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNCBOT_", "ACCOUNTING_GATEWAY_"))
        and k.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    return env | {"SYNCBOT_DATABASE_URL": database_url, "COLUMNS": "200"}


@dataclass
class Ran:
    code: int
    out: str
    err: str


def run_cli(folder: Path, database_url: str, *commands: Sequence[str]) -> list[Ran]:
    """Run `syncbot` commands side by side (cwd `folder`, so no stray `.env`); their results."""
    env = clean_env(database_url)
    procs = [
        subprocess.Popen(
            [str(SYNCBOT), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=folder,
        )
        for args in commands
    ]
    ran = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        ran.append(Ran(proc.returncode, out, err))
    return ran


@pytest.mark.timeout(180)
def test_the_cli_refuses_bad_files_with_exit_2_naming_line_and_field(
    database, seeded: SyncEngine, database_url: str, tmp_path: Path
) -> None:
    amount_csv = write(tmp_path / "amount.csv", [row(1), row(2, amount="1,000.00"), row(3)])
    twice = write(tmp_path / "twice.jsonl", [row(1), row(2), row(1, amount="3.00")])
    big = write(tmp_path / "big.json", [row(1), row(2, memo=LONG_MEMO)])
    latin = write(tmp_path / "latin.csv", [row(1), row(2, memo="MARK")])
    latin.write_bytes(latin.read_bytes().replace(b"MARK", b"Caf\xe9"))
    lone = tmp_path / "lone.jsonl"
    lone.write_text(json_text(row(1, memo="\udc80")) + "\n", encoding="ascii")
    many = write(tmp_path / "many.jsonl", [row(n, amount="1.001") for n in range(1, 301)])

    ran = run_cli(
        tmp_path,
        database_url,
        ["import", str(amount_csv)],
        ["import", str(twice)],
        ["import", str(big)],
        ["import", str(latin)],
        ["import", str(lone), "--json"],
        ["import", str(many)],
    )

    def expect(done: Ran, path: Path, *problems: str) -> None:
        assert (done.code, done.out) == (2, ""), done
        reason = f"syncbot: {path}: {len(problems)} problem(s) in the file; nothing was imported"
        assert done.err.splitlines() == [*(f"  {p}" for p in problems), reason]

    expect(ran[0], amount_csv, f"line 3, amount: amount '1,000.00' {PLAIN}")
    expect(
        ran[1],
        twice,
        "line 3, source_id: source_id 'BAD-0001' appears twice in the file: first on line 1",
    )
    expect(ran[2], big, f"line 3: {TOO_LARGE}")
    expect(
        ran[3],
        latin,
        "line 3: line 3 is not UTF-8 text (byte 0xE9); save the file as UTF-8 and import it again",
    )
    lone_run = ran[4]
    assert lone_run.code == 2
    assert json.loads(lone_run.out) == {
        "imported": 0,
        "problems": [
            {
                "line": 1,
                "field": "memo",
                "message": "memo holds U+DC80, half of a UTF-16 surrogate pair, which cannot be"
                " stored",
            }
        ],
    }
    # Today every problem is listed, one line each, before the one-line reason.
    err = ran[5].err.splitlines()
    assert ran[5].code == 2 and len(err) == 301
    assert err[0] == "  line 1, amount: amount '1.001' has more than 2 decimal places for USD"
    assert err[-1].endswith("300 problem(s) in the file; nothing was imported")
    assert counts(database) == (3, 3, 0)


# -- memory: a 50 MB file costs about what a 5 MB file costs ------------------------------------

# Past its first 65,536 source_ids the reader moves them to a temporary file behind an 8 MB
# bitmap (seen_ids.py): a step of memory taken once, which a 5 MB file (17,000 to 39,000 rows)
# does not reach and a 25 MB one does. So a 50 MB file must cost at most 1.5 times the 5 MB one
# plus 20 MB, and, past that step, little more than a 25 MB file (PostgreSQL's pipeline buffers
# vary by a few MB from run to run; 50 to 200 MB measured 36.9, 38.6 and 39.2 MB of growth).
MARGIN_MB = 20
DOUBLING_MB = 10

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from sync_engine.build import build_engine
    from sync_engine.engine import SyncEngine
    from sync_engine.settings import Settings

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def rss_mb():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20

    with build_engine(Settings(database_url=sys.argv[1], gateway_token="t")) as engine:
        # Now, not the peak so far: building the engine (migrations) may have peaked higher.
        before = rss_mb()
        start = time.perf_counter()
        result = engine.import_file(sys.argv[2], by="memory test")
        seconds = time.perf_counter() - start
    print(json.dumps({"imported": result.imported, "seconds": seconds,
                      "before_mb": before, "peak_mb": peak_mb()}))
    """
)


def write_big(path: Path, megabytes: int) -> int:
    """A valid file of about `megabytes` MB in the suffix's format; how many rows it holds."""
    fmt, target, rows = path.suffix[1:], megabytes * 1_000_000, 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
        if fmt == "csv":
            writer.writeheader()
        out.write("[\n" if fmt == "json" else "")
        for record in valid_rows(10**9, prefix=path.stem.upper()):  # drawn lazily
            if fmt == "csv":
                writer.writerow(record)
            else:
                out.write((",\n" if rows and fmt == "json" else "") + json.dumps(record))
                out.write("\n" if fmt == "jsonl" else "")
            rows += 1
            if rows % 1000 == 0 and out.tell() >= target:
                break
        out.write("\n]\n" if fmt == "json" else "")
    return rows


def import_in_child(database_url: str, path: Path) -> dict[str, float]:
    """Import `path` in a fresh process; its time, imported count and peak RSS before and after."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, database_url, str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=path.parent,
        env=clean_env(database_url),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fmt", FORMATS)
def test_memory_does_not_grow_with_the_file(
    database_url: str, tmp_path: Path, fmt: str, record_property: Callable[[str, object], None]
) -> None:
    sizes = (5, 25, 50)  # MB
    paths = [tmp_path / f"f{size}mb.{fmt}" for size in sizes]
    rows = [write_big(path, size) for path, size in zip(paths, sizes, strict=True)]

    runs = [import_in_child(database_url, path) for path in paths]

    assert [run["imported"] for run in runs] == rows
    growth = [run["peak_mb"] - run["before_mb"] for run in runs]
    figures = {
        "MB": [round(path.stat().st_size / 1e6, 1) for path in paths],
        "rows": rows,
        "RSS growth MB": [round(g, 1) for g in growth],
        "seconds": [round(run["seconds"], 1) for run in runs],
    }
    record_property("figures", figures)
    print(f"\n{fmt} on {database_url.split(':')[0]}: {figures}")
    small, middle, big = growth
    assert big < 1.5 * small + MARGIN_MB, figures
    assert big < middle + DOUBLING_MB, figures


def test_the_cases_are_distinct() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
