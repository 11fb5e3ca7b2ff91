"""The gateway simulator: the contract's other side, served over loopback HTTP."""

from __future__ import annotations

import hmac
from typing import Any

from sync_engine.gateway_sim import admin
from sync_engine.gateway_sim.config import SimConfig
from sync_engine.gateway_sim.desk import Desk
from sync_engine.gateway_sim.faults import Fault, FaultPlan
from sync_engine.gateway_sim.intake import Intake, read_intake
from sync_engine.gateway_sim.journal import Journal, ReceivedRequest
from sync_engine.gateway_sim.ledger import Booking, Ledger
from sync_engine.gateway_sim.limits import Limiter
from sync_engine.gateway_sim.messages import Answer, Request, problem_answer, rate_limited
from sync_engine.gateway_sim.service import Service, serve_until_interrupted

# A fault kind that answers the whole request -> the error code it answers with.
FAULT_CODES = {
    "auth": "auth_required",
    "forbidden": "forbidden",
    "unavailable": "upstream_unavailable",
    "server_error": "server_error",
    "too_large": "batch_too_large",
}
FAULT_DETAILS = {"auth": "token revoked", "too_large": "the gateway takes fewer items right now"}


class GatewaySimulator(Service):
    """An accounting gateway for tests, demos and benchmarks; `with` starts and stops it."""

    name = "gateway simulator"

    def __init__(self, config: SimConfig | None = None, faults: FaultPlan | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else SimConfig()
        self.faults = faults if faults is not None else FaultPlan()
        self._ledger = Ledger()
        self._journal = Journal()
        self._limiter = Limiter(self.config)

    def booking_count(self, idempotency_key: str) -> int:
        """How many times `idempotency_key` was booked (more than 1 is a duplicate booking)."""
        return self._ledger.booking_count(idempotency_key)

    def booking_counts(self) -> dict[str, int]:
        """Idempotency key -> how many times it was booked."""
        return self._ledger.counts()

    def bookings(self) -> dict[str, Booking]:
        """Idempotency key -> its booking."""
        return self._ledger.bookings()

    def requests(self) -> list[ReceivedRequest]:
        """Every answered request (admin ones aside), in the order they arrived."""
        return self._journal.entries()

    def stats(self) -> dict[str, Any]:
        """Counts of requests, bookings, duplicate bookings, 429s and answers by status."""
        counts = self._ledger.counts()
        by_status = self._journal.by_status()
        return {
            "requests": sum(by_status.values()),
            "bookings": sum(counts.values()),
            "duplicate_bookings": sum(1 for count in counts.values() if count > 1),
            "rate_limited": by_status.get("429", 0),
            "by_status": by_status,
        }

    def reset(self) -> None:
        """Forget bookings, requests, faults and the rate window."""
        self._ledger.reset()
        self._journal.reset()
        self.faults.clear()
        self._limiter.reset()

    def handle(self, request: Request, received_at: float) -> Answer:
        """Answer one request (the HTTP server's entry point) and record it."""
        if request.path.startswith(admin.PREFIX):
            return admin.answer(self, request)
        intake = read_intake(request, self.config.max_batch)
        answer = self._admit(request, intake)
        entry = ReceivedRequest(
            request.method, request.path, intake.keys, intake.source_ids, answer.status, received_at
        )
        self._journal.add(entry)
        return answer

    def _admit(self, request: Request, intake: Intake) -> Answer:
        # The contract's order: credentials, then limits, then faults, then the request itself.
        refused = _check_token(self.config.token, request.header("Authorization"))
        if refused is None:
            limit = self._limiter.acquire()
            if limit is None:
                try:
                    return self._serve(intake)
                finally:
                    self._limiter.release()
            refused = rate_limited(limit.retry_after, limit.problem)
        self.pause(self.config.latency_seconds)
        return refused

    def _serve(self, intake: Intake) -> Answer:
        faults = self.faults
        fault, slow = faults.take_request(intake.postings, batch=intake.route == "batch")
        delay = self.config.latency_seconds + slow
        if fault is not None:
            self.pause(delay)
            return _fault_answer(fault)
        if intake.refusal is not None:
            self.pause(delay)
            return intake.refusal
        desk = Desk(self._ledger, faults, self.pause, self.config.reference_length)
        if intake.route == "single":
            return desk.single(intake, delay)
        if intake.route == "batch":
            return desk.batch(intake, delay)
        return desk.lookup(intake, delay)


def _check_token(token: str | None, header: str | None) -> Answer | None:
    if token is None:
        return None
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        detail = "send Authorization: Bearer <token>"
        return problem_answer("auth_required", detail, headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(value.strip().encode(), token.encode()):
        return problem_answer("forbidden", "the token is not valid for this gateway")
    return None


def _fault_answer(fault: Fault) -> Answer:
    if fault.kind == "rate_limit":
        return rate_limited(fault.retry_after, "minute", fault.detail)
    detail = fault.detail or FAULT_DETAILS.get(fault.kind)
    headers = {"WWW-Authenticate": "Bearer"} if fault.kind == "auth" else None
    return problem_answer(FAULT_CODES[fault.kind], detail, headers=headers)


def serve_forever(config: SimConfig, faults: FaultPlan, host: str, port: int) -> None:
    """Serve until interrupted (the `syncbot gateway-sim` command); prints the URL it serves on."""
    serve_until_interrupted(
        GatewaySimulator(config, faults),
        host,
        port,
        lambda url: [f"gateway simulator listening on {url}"],
    )
