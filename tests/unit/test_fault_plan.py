"""The gateway simulator's fault plan: its JSON form round-trips, and bad faults are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync_engine.gateway_sim import Fault, FaultPlan


def test_fault_plan_round_trips_through_json() -> None:
    plan = FaultPlan(
        [
            Fault("validation", source_ids=("RMB-1",), detail="Closed period"),
            Fault("slow", count=3, seconds=0.5),
            Fault("rate_limit", payee_ids=("VOL-1",), retry_after=30),
        ]
    )
    wire = json.loads(json.dumps(plan.to_json()))
    assert FaultPlan.from_json(wire).faults() == plan.faults()
    assert wire[0] == {
        "kind": "validation",
        "count": None,
        "source_ids": ["RMB-1"],
        "payee_ids": [],
        "seconds": 0.0,
        "retry_after": 1,
        "detail": "Closed period",
    }


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "meteor"},
        {"kind": "slow", "seconds": -1},
        {"kind": "validation", "source_ids": "RMB-1"},
        {"kind": "unavailable", "count": 0},
        {"kind": "unavailable", "colour": "red"},
        {"count": 1},
    ],
)
def test_bad_faults_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Fault.from_json(data)
