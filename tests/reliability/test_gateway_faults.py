"""Gateway faults, one by one, against the simulator over real HTTP, on SQLite and PostgreSQL.

For each fault, with a single posting and with a batch: the error class, the record's next
state and `next_attempt_at` (exact: the jitter always picks the longest wait and the clock only
moves when the test moves it), the error text kept in the record's history (a second failure
appends, the first stays), what the gateway received, and never a key booked twice. After the
fault is gone, one more manual retry books each record exactly once.

The faults are driven by manual retries (which the outage pause never stops), with the outage
threshold set high, since the outage is not what these tests are about.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Record
from sync_engine.build import build_engine
from sync_engine.contract import Posting
from sync_engine.engine import SyncEngine
from sync_engine.gateway_sim import Fault, GatewaySimulator
from tests.conftest import TOKEN, FakeClock, LongestWait, posting, settings_for

BASE = 60.0  # backoff base, seconds: a first failure's longest wait
BATCH = 4  # records in the batch cases (one request: the batch size is 10)
SINGLE_PATH, BATCH_PATH = "/v1/postings", "/v1/postings:batch"

Faults = Callable[[int], list[Fault]]  # the faults armed for attempt n (1, 2, ...)


def no_faults(_attempt: int) -> list[Fault]:
    return []


@dataclass(frozen=True)
class Case:
    """One gateway fault and what each record must become after it."""

    name: str
    faults: Faults
    error: str  # text the attempt's error must hold ({n}: the attempt number)
    error_class: str | None  # None: succeeded after the lookup settled it
    status: int | None  # the HTTP status the attempt recorded
    wait: float | None = None  # next_attempt_at - now, or None
    parked: bool = False
    looks_up: bool = False  # the outcome was uncertain: the keys are looked up
    lookup_fails: bool = False  # ...and the lookup cannot answer: no more are asked about
    refused: bool = False  # the gateway URL is a port nobody listens on
    books_late: bool = False  # the gateway books after the client gave up waiting
    batch_error: str | None = None  # the batch's text, where it differs
    batch_status: int | None = None  # the batch's status, where it differs
    settings: dict[str, object] = field(default_factory=dict)
    recovery: Faults = no_faults  # faults armed for the retry once the cause is fixed

    @property
    def succeeds(self) -> bool:
        return self.error_class is None


def hang(_attempt: int) -> list[Fault]:
    return [Fault("slow", count=1, seconds=2.0)]


CASES = [
    Case(
        "connection refused",
        no_faults,
        "network error: ConnectError",
        "transient",
        None,
        wait=BASE,
        refused=True,
    ),
    Case(
        "hang past the timeout",
        hang,
        "timeout: ReadTimeout: timed out; the lookup found nothing booked",
        "transient",
        None,
        wait=BASE,
        looks_up=True,
        books_late=True,
        settings={"timeout_seconds": 0.5},
        # Once the slow request has booked, the next hang is settled by the lookup.
        recovery=hang,
    ),
    Case(
        "hang past the timeout, the lookup too",
        lambda _n: [Fault("slow", seconds=2.0)],
        "timeout: ReadTimeout: timed out",
        "transient",
        None,
        wait=BASE,
        looks_up=True,
        lookup_fails=True,
        books_late=True,
        settings={"timeout_seconds": 0.5},
    ),
    Case(
        "401",
        lambda n: [Fault("auth", detail=f"token revoked (try {n})")],
        "401 auth_required: token revoked (try {n})",
        "auth",
        401,
        parked=True,
    ),
    Case(
        "403",
        lambda n: [Fault("forbidden", detail=f"token lacks posting scope (try {n})")],
        "403 forbidden: token lacks posting scope (try {n})",
        "auth",
        403,
        parked=True,
    ),
    Case(
        "422 with field errors",
        lambda n: [Fault("validation", detail=f"Payee VOL-1 is unknown (try {n})")],
        "422 validation_failed: Payee VOL-1 is unknown (try {n}) (payee.id: unknown vendor)",
        "needs_attention",
        422,
    ),
    Case(
        "429, Retry-After over the backoff",
        lambda n: [Fault("rate_limit", retry_after=1, detail=f"slow down (try {n})")],
        "429 rate_limited: slow down (try {n})",
        "transient",
        429,
        wait=1.0,  # the Retry-After is the floor of a 0.5 s backoff
        settings={"backoff_base_seconds": 0.5},
    ),
    Case(
        "429, Retry-After under the backoff",
        lambda n: [Fault("rate_limit", retry_after=0, detail=f"slow down (try {n})")],
        "429 rate_limited: slow down (try {n})",
        "transient",
        429,
        wait=BASE,
    ),
    Case(
        "500",
        lambda n: [Fault("server_error", detail=f"gateway crashed (try {n})")],
        "500 server_error: gateway crashed (try {n})",
        "transient",
        500,
        wait=BASE,
    ),
    Case(
        "502 after booking",
        lambda n: [Fault("upstream_error_after_booking", detail=f"ledger timed out (try {n})")],
        "502 upstream_error: ledger timed out (try {n}); the lookup found it booked",
        None,
        502,
        looks_up=True,
    ),
    Case(
        "503",
        lambda n: [Fault("unavailable", detail=f"ledger offline (try {n})")],
        "503 upstream_unavailable: ledger offline (try {n})",
        "transient",
        503,
        wait=BASE,
    ),
    Case(
        "2xx with malformed JSON",
        lambda _n: [Fault("malformed_success")],
        "201 with an unreadable body; the lookup found it booked",
        None,
        201,
        looks_up=True,
        batch_error="no result for this item in the batch answer; the lookup found it booked",
        batch_status=200,
    ),
]


# -- helpers ------------------------------------------------------------------------------


def dead_url() -> str:
    """A loopback URL on a port nobody listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def arm(sim: GatewaySimulator, faults: Faults, attempt: int) -> None:
    """Replace the simulator's faults with those of `attempt`."""
    sim.faults.clear()
    for fault in faults(attempt):
        sim.faults.add(fault)


def key_of(database: Database, source_id: str) -> str:
    with database.reading() as session:
        return session.scalars(
            select(Record.idempotency_key).where(Record.source_id == source_id)
        ).one()


def posts(sim: GatewaySimulator, since: int = 0) -> list[tuple[str, list[str]]]:
    """(path, keys) of every posting request since the `since`-th request."""
    return [(r.path, r.idempotency_keys) for r in sim.requests()[since:] if r.method == "POST"]


def looked_up(sim: GatewaySimulator, since: int = 0) -> list[str]:
    """The keys the lookup endpoint was asked about since the `since`-th request."""
    return [k for r in sim.requests()[since:] if r.method == "GET" for k in r.idempotency_keys]


def book_directly(sim: GatewaySimulator, key: str, record: Posting) -> str:
    """Book a posting at the gateway behind the engine's back; its booking id."""
    answer = httpx.post(
        f"{sim.url}{SINGLE_PATH}",
        json=record.to_wire(),
        headers={"Idempotency-Key": key, "Authorization": f"Bearer {TOKEN}"},
    )
    assert answer.status_code == 201
    return str(answer.json()["id"])


def assert_never_booked_twice(sim: GatewaySimulator) -> None:
    assert sim.stats()["duplicate_bookings"] == 0
    assert all(count <= 1 for count in sim.booking_counts().values()), sim.booking_counts()


def wait_for_answers(sim: GatewaySimulator, posted: int, lookups: int) -> None:
    """Wait until so many posting and lookup requests were answered (the client may have
    given up on them long before)."""
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline and (
        len(posts(sim)) < posted or len(looked_up(sim)) < lookups
    ):
        time.sleep(0.05)


@dataclass
class Rig:
    """One case's engine and records, and how to read what the gateway received."""

    case: Case
    engine: SyncEngine
    sim: GatewaySimulator
    clock: FakeClock
    source_ids: list[str]
    batch: bool
    database: Database

    @property
    def keys(self) -> list[str]:
        return [key_of(self.database, s) for s in self.source_ids]

    def expected_error(self, attempt: int) -> str:
        text = (self.batch and self.case.batch_error) or self.case.error
        return text.format(n=attempt)

    def expected_status(self) -> int | None:
        return (self.batch and self.case.batch_status) or self.case.status

    def asked(self, keys: list[str]) -> list[str]:
        """The keys one attempt looks up."""
        if not self.case.looks_up:
            return []
        return keys[:1] if self.case.lookup_fails else keys

    def check_attempt(self, attempt: int, since: int) -> None:
        """What the gateway received and what every record became after attempt `attempt`."""
        case, keys = self.case, self.keys
        path = BATCH_PATH if self.batch else SINGLE_PATH
        sent = [] if case.refused else [(path, keys)]
        if not case.books_late:  # (a request is journaled once answered: see step 3)
            assert posts(self.sim, since) == sent
        if not case.lookup_fails:  # (likewise)
            assert looked_up(self.sim, since) == self.asked(keys)
        for source_id in self.source_ids:
            history = self.engine.history(source_id)
            last = history.attempts[-1]
            assert len(history.attempts) == attempt
            assert self.expected_error(attempt) in (last.error or "")
            assert last.http_status == self.expected_status()
            assert last.error_class == case.error_class
            if case.succeeds:
                assert last.outcome == "succeeded" and last.accounting_ref
                assert history.sync_log_state == "succeeded"
                assert history.accounting_ref == last.accounting_ref
                assert history.next_attempt_at is None and not history.parked
                continue
            assert last.outcome == ("uncertain" if case.lookup_fails else "failed")
            assert (history.sync_log_state, history.error_class) == ("failed", case.error_class)
            assert history.parked is case.parked
            due = None if case.wait is None else self.clock() + timedelta(seconds=case.wait)
            assert history.next_attempt_at == due
            assert history.retry_count == attempt - 1
            # The history keeps every error, in order: the earlier ones are never overwritten.
            errors = [a.error for a in history.attempts]
            assert all(self.expected_error(n) in (errors[n - 1] or "") for n in range(1, attempt))
        assert_never_booked_twice(self.sim)


def engine_settings(case: Case, *, batch: bool) -> dict[str, object]:
    return {
        "batch_size": 10 if batch else 1,
        "concurrency": 1,
        "backoff_base_seconds": BASE,
        "outage_threshold": 100,
        **case.settings,
    }


def rig(request, make_engine_for, sim, clock, case: Case, *, batch: bool) -> Rig:
    settings = engine_settings(case, batch=batch)
    if case.refused:
        url = request.getfixturevalue("database_url")
        engine = build_engine(
            settings_for(url, dead_url(), **settings), clock=clock, rng=LongestWait()
        )
        request.addfinalizer(engine.close)
    else:
        engine = make_engine_for(**settings, rng=LongestWait())
    records = [posting(n) for n in range(1, (BATCH if batch else 1) + 1)]
    engine.submit(records)
    database = request.getfixturevalue("database")
    return Rig(case, engine, sim, clock, [p.source_id for p in records], batch, database)


# -- the matrix -----------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_gateway_fault(request, make_engine_for, sim, clock, case: Case, batch: bool) -> None:
    r = rig(request, make_engine_for, sim, clock, case, batch=batch)

    # 1. The first posting (a sync run's initial attempt) meets the fault.
    arm(sim, case.faults, 1)
    engine = r.engine
    engine.sync(requested_by="scheduler", via="scheduler")
    r.check_attempt(1, since=0)
    if case.error_class == "auth":
        assert engine.outage() is not None  # and automatic sends pause; manual ones go on
    if case.succeeds:
        assert all(sim.booking_count(k) == 1 for k in r.keys)
        again = engine.retry_selected(r.source_ids, requested_by="U1", via="slack")
        assert again.attempted == 0 and len(again.skipped) == len(r.source_ids)
        return

    # 2. A manual retry meets it again: the new error is appended, the first kept, the
    # retry counted, and the backoff starts again from its first step.
    clock.advance(seconds=90)
    arm(sim, case.faults, 2)
    before = len(sim.requests())
    result = engine.retry_selected(r.source_ids, requested_by="U1", via="slack")
    assert len(result.failed) == len(r.source_ids) and not result.succeeded
    r.check_attempt(2, since=before)
    failed = engine.list_failed(limit=BATCH)
    assert failed.total == len(r.source_ids)
    assert all(len(row.errors) == 2 for row in failed.items)

    # 3. The cause is fixed: one more manual retry books every record exactly once.
    if case.books_late:
        # Both hanging requests reached the gateway; the first booked once the client had
        # given up, the second found the key still being posted.
        wait_for_answers(sim, 2, 2 * len(r.asked(r.keys)))
        path = BATCH_PATH if batch else SINGLE_PATH
        assert posts(sim) == [(path, r.keys)] * 2
        assert looked_up(sim) == r.asked(r.keys) * 2
        assert all(sim.booking_count(key) == 1 for key in r.keys)
    # (Connection refused is fixed by the gateway answering: an engine with its real URL.)
    healed = make_engine_for(**engine_settings(case, batch=batch)) if case.refused else engine
    arm(sim, case.recovery, 3)
    done = healed.retry_selected(r.source_ids, requested_by="U1", via="slack")
    assert sorted(s.source_id for s in done.succeeded) == r.source_ids
    bookings = sim.bookings()
    for source_id, key in zip(r.source_ids, r.keys, strict=True):
        history = healed.history(source_id)
        assert history.sync_log_state == "succeeded"
        assert history.accounting_ref == bookings[key].id
        assert len(history.attempts) == 3
        assert sim.booking_count(key) == 1
    assert healed.list_failed().total == 0
    assert_never_booked_twice(sim)


# -- batches: mixed per-item results, and 413 ------------------------------------------------


@pytest.mark.timeout(30)
def test_batch_with_mixed_item_results(database, make_engine_for, sim) -> None:
    engine = make_engine_for(batch_size=10, concurrency=1, outage_threshold=100, rng=LongestWait())
    records = [posting(n) for n in range(1, 6)]
    names = [p.source_id for p in records]
    engine.submit(records)
    ok, refused, after_booking, replayed, also_ok = names
    sim.faults.add(Fault("validation", source_ids=(refused,), detail="Period 2026-10 is closed"))
    sim.faults.add(Fault("upstream_error_after_booking", source_ids=(after_booking,)))
    keys = {s: key_of(database, s) for s in names}
    # One posting was booked under its key by an earlier try the engine never heard back from.
    book_directly(sim, keys[replayed], records[3])

    result = engine.sync(requested_by="scheduler", via="scheduler").initial

    # One batch request carried all five; only the uncertain item was looked up.
    assert posts(sim)[-1] == (BATCH_PATH, [keys[s] for s in names])
    assert looked_up(sim) == [keys[after_booking]]
    assert sorted(s.source_id for s in result.succeeded) == [ok, after_booking, replayed, also_ok]
    [failed] = result.failed
    assert (failed.source_id, failed.error_class, failed.next_attempt_at) == (
        refused,
        "needs_attention",
        None,
    )
    expected = {
        ok: (201, "succeeded", None),
        after_booking: (502, "succeeded", "the lookup found it booked"),
        replayed: (200, "succeeded", None),
        also_ok: (201, "succeeded", None),
        refused: (422, "failed", "Period 2026-10 is closed (payee.id: unknown vendor)"),
    }
    bookings = sim.bookings()
    for source_id, (status, state, text) in expected.items():
        history = engine.history(source_id)
        last = history.attempts[-1]
        assert (last.http_status, history.sync_log_state) == (status, state)
        assert text is None or text in (last.error or "")
        if state == "succeeded":
            assert history.accounting_ref == bookings[keys[source_id]].id
    refused_now = engine.history(refused)
    assert (refused_now.error_class, refused_now.next_attempt_at, refused_now.parked) == (
        "needs_attention",
        None,
        False,
    )
    assert all(sim.booking_count(k) == 1 for s, k in keys.items() if s != refused)
    assert sim.booking_count(keys[refused]) == 0

    # Retry all sends only what is left in the queue; its second error joins the first.
    sim.faults.clear()
    sim.faults.add(Fault("validation", source_ids=(refused,), detail="Account 6100 is closed"))
    before = len(sim.requests())
    again = engine.retry_all(requested_by="U1", via="slack")
    assert [f.source_id for f in again.failed] == [refused] and not again.succeeded
    assert posts(sim, before) == [(SINGLE_PATH, [keys[refused]])]
    errors = [a.error or "" for a in engine.history(refused).attempts]
    assert len(errors) == 2
    assert "Period 2026-10 is closed" in errors[0] and "Account 6100 is closed" in errors[1]
    assert_never_booked_twice(sim)


@dataclass(frozen=True)
class TooLarge:
    """A batch answered 413: how the gateway refuses, and the requests the client sends."""

    name: str
    records: int
    max_batch: int | None  # the simulator's cap, if lowered
    fault: int | None  # a `too_large` fault for this many requests (None: until cleared; 0: no)
    # (path, items, status) of each posting request, in order
    requests: list[tuple[str, int, int]]


TOO_LARGE = [
    TooLarge(
        "one 413, then accepted",
        6,
        None,
        1,
        [(BATCH_PATH, 6, 413), (BATCH_PATH, 3, 200), (BATCH_PATH, 3, 200)],
    ),
    TooLarge(
        "the gateway takes at most 2",
        7,
        2,
        0,
        [
            (BATCH_PATH, 7, 413),
            (BATCH_PATH, 3, 413),
            (BATCH_PATH, 1, 200),
            (BATCH_PATH, 2, 200),
            (BATCH_PATH, 4, 413),
            (BATCH_PATH, 2, 200),
            (BATCH_PATH, 2, 200),
        ],
    ),
    # Even a batch of one is refused: no record's fault, so it goes out as a single posting.
    TooLarge(
        "every batch refused",
        3,
        None,
        None,
        [
            (BATCH_PATH, 3, 413),
            (BATCH_PATH, 1, 413),
            (SINGLE_PATH, 1, 201),
            (BATCH_PATH, 2, 413),
            (BATCH_PATH, 1, 413),
            (SINGLE_PATH, 1, 201),
            (BATCH_PATH, 1, 413),
            (SINGLE_PATH, 1, 201),
        ],
    ),
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("too_large", TOO_LARGE, ids=[t.name for t in TOO_LARGE])
def test_batch_answered_413_is_split_and_resent(
    database, make_engine_for, sim, too_large: TooLarge
) -> None:
    engine = make_engine_for(batch_size=10, concurrency=1, outage_threshold=100)
    records = [posting(n) for n in range(1, too_large.records + 1)]
    engine.submit(records)
    if too_large.max_batch is not None:
        sim.config.max_batch = too_large.max_batch
    if too_large.fault != 0:
        sim.faults.add(Fault("too_large", count=too_large.fault))

    result = engine.sync(requested_by="scheduler", via="scheduler").initial

    sent = [
        (r.path, len(r.idempotency_keys), r.status) for r in sim.requests() if r.method == "POST"
    ]
    assert sent == too_large.requests
    assert looked_up(sim) == []
    assert len(result.succeeded) == too_large.records and not result.failed
    bookings = sim.bookings()
    for record in records:
        history = engine.history(record.source_id)
        assert history.sync_log_state == "succeeded"
        assert [(a.outcome, a.error) for a in history.attempts] == [("succeeded", None)]
        key = key_of(database, record.source_id)
        assert history.accounting_ref == bookings[key].id
        assert sim.booking_count(key) == 1
    assert sim.stats()["bookings"] == too_large.records
    assert_never_booked_twice(sim)
