"""Admin endpoints under /_sim/, for a simulator running in another process (benchmarks).

They need no token, pass no limits or faults, and are not recorded in the journal.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sync_engine.gateway_sim.faults import FaultPlan
from sync_engine.gateway_sim.messages import Answer, Request, json_answer, problem_answer

if TYPE_CHECKING:
    from sync_engine.gateway_sim.simulator import GatewaySimulator

PREFIX = "/_sim/"
TRUE_WORDS = ("1", "true", "yes")


def answer(sim: GatewaySimulator, request: Request) -> Answer:
    """Answer one admin request."""
    route = (request.method, request.path.rstrip("/"))
    if route == ("GET", "/_sim/stats"):
        stats = sim.stats()
        if request.query.get("keys", "").lower() in TRUE_WORDS:
            stats["booking_counts"] = sim.booking_counts()
        return json_answer(200, stats)
    if route == ("GET", "/_sim/faults"):
        return json_answer(200, {"faults": sim.faults.to_json()})
    if route == ("POST", "/_sim/faults"):
        return _add_faults(sim, request.body)
    if route == ("POST", "/_sim/fix"):
        return _fix(sim, request.body)
    if route == ("POST", "/_sim/reset"):
        sim.reset()
        return json_answer(200, {"reset": True})
    return problem_answer("not_found", f"no admin endpoint {request.method} {request.path}")


def _add_faults(sim: GatewaySimulator, body: bytes) -> Answer:
    # A lone fault object is taken as a list of one: the mistake is too easy to make.
    try:
        data = json.loads(body)
        plan = FaultPlan.from_json([data] if isinstance(data, dict) else data)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as exc:
        return problem_answer("malformed_request", f"expected a JSON list of faults: {exc}")
    sim.faults.extend(plan.faults())
    return json_answer(200, {"faults": sim.faults.to_json()})


def _fix(sim: GatewaySimulator, body: bytes) -> Answer:
    try:
        data = json.loads(body) if body.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    kind = data.get("kind") if isinstance(data, dict) else None
    source_id = data.get("source_id") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not all(
        value is None or isinstance(value, str) for value in (kind, source_id)
    ):
        detail = 'expected {"kind": ..., "source_id": ...} (both optional strings)'
        return problem_answer("malformed_request", detail)
    return json_answer(200, {"fixed": sim.faults.fix(kind, source_id)})
