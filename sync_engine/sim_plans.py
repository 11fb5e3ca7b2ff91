"""What the ledger doubles share about their settings and fault plans: read from JSON, applied
first match first, changed from any thread (a test, or `POST /_sim/...` from another process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields, replace
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

MAX_FAULTS = 1000


def from_json_fields(cls: Any, data: object, noun: str, *, required: str | None = None) -> Any:
    """A dataclass `cls` made from JSON object `data`; ValueError naming unknown fields."""
    if not isinstance(data, dict) or (required is not None and required not in data):
        with_field = f' with at least a "{required}"' if required else ""
        raise ValueError(f"a {noun} is a JSON object{with_field}")
    unknown = set(data) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {noun} fields: {', '.join(sorted(map(str, unknown)))}")
    return cls(**data)


def changed_by_json(current: Any, data: object) -> Any:
    """A copy of dataclass `current` with the fields of JSON object `data`; ValueError on
    unknown fields (and whatever its own checks refuse)."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object of settings")
    unknown = set(data) - {f.name for f in fields(current)}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(map(str, unknown)))}")
    return replace(current, **data)


class Fault(Protocol):
    """What a plan needs of its faults."""

    kind: str
    count: int | None

    def to_json(self) -> dict[str, Any]: ...


F = TypeVar("F", bound=Fault)


class FaultPlan(Generic[F]):
    """The faults a running double applies, first match first; safe to change from any thread."""

    fault_type: ClassVar[Any]  # its `from_json` reads one fault

    def __init__(self, faults: Iterable[F] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[F] = list(faults)

    @classmethod
    def from_json(cls, data: object) -> Self:
        """Read a JSON list of fault objects."""
        if not isinstance(data, list) or len(data) > MAX_FAULTS:
            raise ValueError(f"expected a JSON list of at most {MAX_FAULTS} faults")
        return cls(cls.fault_type.from_json(item) for item in data)

    def to_json(self) -> list[dict[str, Any]]:
        """The plan as a JSON list."""
        with self._lock:
            return [fault.to_json() for fault in self._faults]

    def faults(self) -> list[F]:
        """Copies of the faults still in the plan."""
        with self._lock:
            return [replace(fault) for fault in self._faults]  # type: ignore[type-var]

    def add(self, fault: F) -> F:
        """Append `fault` and return it."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def extend(self, faults: Iterable[F]) -> None:
        """Append several faults."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take_first(self, kinds: Sequence[str], acts_on: Callable[[F], bool]) -> F | None:
        """The first fault of `kinds` that `acts_on` this request; spends one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and acts_on(fault):
                    taken = replace(fault)  # type: ignore[type-var]  # copied before spending
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults = [f for f in self._faults if f is not fault]
                    return taken
        return None
