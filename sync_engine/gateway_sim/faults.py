"""Fault injection: what the simulated ledger gets wrong, for how long, and for which postings."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from sync_engine.contract import Posting

# Request kinds decide the whole answer; item kinds act on one posting about to be booked.
REQUEST_KINDS = (
    "auth",
    "forbidden",
    "rate_limit",
    "unavailable",
    "server_error",
    "too_large",
    "slow",
)
ITEM_KINDS = ("validation", "upstream_error_after_booking", "malformed_success")
KINDS = REQUEST_KINDS + ITEM_KINDS


def _ids(name: str, value: object) -> tuple[str, ...]:
    # A bare string would silently become a tuple of characters, so refuse it.
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of strings")
    ids = tuple(value)
    if not all(isinstance(item, str) for item in ids):
        raise ValueError(f"{name} must be a list of strings")
    return ids


def _number(name: str, value: object, kind: type) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a non-negative number, not {value!r}")


@dataclass
class Fault:
    """One injected failure, for `count` matching requests (None: until fixed or cleared)."""

    kind: str
    count: int | None = None
    source_ids: tuple[str, ...] = ()
    payee_ids: tuple[str, ...] = ()
    seconds: float = 0.0
    retry_after: int = 1
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r} (expected one of {', '.join(KINDS)})"
            )
        if self.count is not None:
            _number("count", self.count, int)
            if self.count < 1:
                raise ValueError("count must be at least 1 (or None: until fixed)")
        self.source_ids = _ids("source_ids", self.source_ids)
        self.payee_ids = _ids("payee_ids", self.payee_ids)
        _number("seconds", self.seconds, (int, float))  # type: ignore[arg-type]
        _number("retry_after", self.retry_after, int)
        if self.detail is not None and not isinstance(self.detail, str):
            raise ValueError("detail must be a string")

    @property
    def targeted(self) -> bool:
        """Whether the fault is restricted to some source or payee ids."""
        return bool(self.source_ids or self.payee_ids)

    def matches(self, posting: Posting) -> bool:
        """Whether the fault applies to `posting` (an untargeted fault applies to every one)."""
        return (not self.source_ids or posting.source_id in self.source_ids) and (
            not self.payee_ids or posting.payee_id in self.payee_ids
        )

    def applies_to(self, postings: Sequence[Posting]) -> bool:
        """Whether the fault applies to a request carrying `postings`."""
        return not self.targeted or any(self.matches(posting) for posting in postings)

    def to_json(self) -> dict[str, Any]:
        """The fault as a JSON object that `Fault.from_json` reads back."""
        return {
            "kind": self.kind,
            "count": self.count,
            "source_ids": list(self.source_ids),
            "payee_ids": list(self.payee_ids),
            "seconds": self.seconds,
            "retry_after": self.retry_after,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Read a fault object; raise ValueError on unknown fields or bad values."""
        if not isinstance(data, dict) or "kind" not in data:
            raise ValueError('a fault is a JSON object with at least a "kind"')
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(**data)


class FaultPlan:
    """The faults a running simulator applies, first match first; safe to change from any thread."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = list(faults)

    @classmethod
    def from_json(cls, items: object) -> FaultPlan:
        """A plan from a JSON list of fault objects."""
        if not isinstance(items, list):
            raise ValueError("a fault plan is a JSON list of fault objects")
        return cls(Fault.from_json(item) for item in items)

    def to_json(self) -> list[dict[str, Any]]:
        """The plan as a JSON list that `FaultPlan.from_json` reads back."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def faults(self) -> list[Fault]:
        """Copies of the faults still in the plan."""
        with self._lock:
            return [replace(fault) for fault in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def add(self, fault: Fault) -> Fault:
        """Append `fault` to the plan and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def extend(self, faults: Iterable[Fault]) -> None:
        """Append several faults."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def fix(self, kind: str | None = None, source_id: str | None = None) -> int:
        """Remove faults of `kind` (any if None), or only `source_id`'s part of them; count them."""
        # A fault aimed at several records loses just `source_id` and stays for the others;
        # an untargeted fault is not fixed by fixing one record.
        with self._lock:
            kept: list[Fault] = []
            changed = 0
            for fault in self._faults:
                if (kind is not None and fault.kind != kind) or (
                    source_id is not None and source_id not in fault.source_ids
                ):
                    kept.append(fault)
                    continue
                changed += 1
                if source_id is not None and len(fault.source_ids) > 1:
                    fault.source_ids = tuple(s for s in fault.source_ids if s != source_id)
                    kept.append(fault)
            self._faults = kept
        return changed

    def take_request(
        self, postings: Sequence[Posting], *, batch: bool
    ) -> tuple[Fault | None, float]:
        """The first fault answering this whole request, and the extra seconds of delay."""
        # Spends one use of the chosen fault and of every matching `slow` fault.
        chosen: Fault | None = None
        slow = 0.0
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in REQUEST_KINDS or not fault.applies_to(postings):
                    continue
                if fault.kind == "too_large" and not batch:
                    continue
                if fault.kind == "slow":
                    slow += fault.seconds
                elif chosen is None:
                    chosen = replace(fault)
                else:
                    continue
                self._spend(fault)
        return chosen, slow

    def take_item(self, posting: Posting) -> Fault | None:
        """The first per-posting fault for `posting` about to be booked; spends one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in ITEM_KINDS and fault.matches(posting):
                    taken = replace(fault)
                    self._spend(fault)
                    return taken
        return None

    def _spend(self, fault: Fault) -> None:
        # Callers hold the lock.
        if fault.count is None:
            return
        fault.count -= 1
        if fault.count <= 0:
            # By identity: two equal faults in the plan are still two separate faults.
            self._faults = [kept for kept in self._faults if kept is not fault]
