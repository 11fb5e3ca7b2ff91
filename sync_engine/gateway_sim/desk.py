"""Posting, replaying and looking up: the gateway's answers once a request is admitted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sync_engine.gateway_sim.faults import FaultPlan
from sync_engine.gateway_sim.intake import Intake, Item
from sync_engine.gateway_sim.ledger import Ledger
from sync_engine.gateway_sim.messages import (
    Answer,
    FieldErrors,
    encode,
    error_object,
    garbled,
    json_answer,
    problem_answer,
)

REPLAYED = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Outcome:
    """What became of one posting: a status with a booking id or an error code."""

    status: int
    booking_id: str | None = None
    code: str | None = None
    detail: str | None = None
    errors: FieldErrors | None = None
    garbled: bool = False


class Desk:
    """Answers admitted posting requests against the ledger and the fault plan."""

    def __init__(
        self,
        ledger: Ledger,
        faults: FaultPlan,
        pause: Callable[[float], None],
        reference_length: int = 0,
    ) -> None:
        self._ledger = ledger
        self._faults = faults
        self._pause = pause
        self._reference_length = reference_length

    def single(self, intake: Intake, delay: float) -> Answer:
        """`POST /v1/postings`: post one posting, holding its key through the delay."""
        item = intake.items[0]
        assert item.key is not None
        held = self._ledger.claim([item.key])
        try:
            # Sleeping while the key is held is what lets a concurrent duplicate see 409.
            self._pause(delay)
            outcome = self._post(item) if held else Outcome(409, code="in_progress")
        finally:
            self._ledger.release(held)
        if outcome.code is not None:
            return problem_answer(outcome.code, outcome.detail, errors=outcome.errors)
        body = {"id": outcome.booking_id, "status": "posted"}
        if outcome.garbled:
            return Answer(outcome.status, garbled(body))
        return json_answer(outcome.status, body, REPLAYED if outcome.status == 200 else None)

    def batch(self, intake: Intake, delay: float) -> Answer:
        """`POST /v1/postings:batch`: post each item on its own; one delay for the whole batch."""
        wanted = {item.key for item in intake.items if item.error is None and item.key}
        held = self._ledger.claim(wanted)
        try:
            self._pause(delay)
            outcomes = [self._batch_item(item, held) for item in intake.items]
        finally:
            self._ledger.release(held)
        pairs = zip(intake.items, outcomes, strict=True)
        body = {"results": [_result(item, outcome) for item, outcome in pairs]}
        if any(outcome.garbled for outcome in outcomes):
            return Answer(200, garbled(body))
        return Answer(200, encode(body))

    def lookup(self, intake: Intake, delay: float) -> Answer:
        """`GET /v1/postings/{key}`: whether the key was posted."""
        assert intake.lookup_key is not None
        self._pause(delay)
        booking = self._ledger.find(intake.lookup_key)
        if booking is None:
            return problem_answer("not_found", f"nothing was posted with key {intake.lookup_key!r}")
        return json_answer(200, {"id": booking.id, "status": "posted"})

    def _batch_item(self, item: Item, held: set[str]) -> Outcome:
        if item.error is not None:
            return Outcome(400, code=item.error, detail=item.detail, errors=item.errors)
        if item.key not in held:
            return Outcome(409, code="in_progress")
        return self._post(item)

    def _post(self, item: Item) -> Outcome:
        """Book one valid posting whose key the caller holds, or replay or refuse it."""
        key, posting = item.key, item.posting
        assert key is not None and posting is not None
        existing = self._ledger.find(key)
        if existing is not None:
            if existing.posting == posting:
                return Outcome(200, existing.id)
            detail = f"key {key!r} was used for a different posting ({existing.id})"
            return Outcome(422, code="idempotency_key_reused", detail=detail)
        # Item faults act only on a posting about to be booked, never on a replay.
        fault = self._faults.take_item(posting)
        if fault is not None and fault.kind == "validation":
            detail = fault.detail or f"Payee {posting.payee_id} does not exist in the ledger"
            errors = [("payee.id", "unknown vendor")]
            return Outcome(422, code="validation_failed", detail=detail, errors=errors)
        booking = self._ledger.book(key, posting, self._reference_length)
        if fault is not None and fault.kind == "upstream_error_after_booking":
            detail = fault.detail or "the ledger failed after accepting the posting"
            return Outcome(502, booking.id, code="upstream_error", detail=detail)
        malformed = fault is not None and fault.kind == "malformed_success"
        return Outcome(201, booking.id, garbled=malformed)


def _result(item: Item, outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {"idempotency_key": item.key, "status": outcome.status}
    if outcome.code is None:
        result["id"] = outcome.booking_id
    else:
        result["error"] = error_object(outcome.code, outcome.detail, outcome.errors)
    return result
