"""Where a failed-records list stands: its filters and page, carried in its own buttons.

The list keeps no state on the server: every button and filter option of a list message holds
the state to render next, so any replica can answer a click on any list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sync_engine import ErrorClass, Kind

# Record ids and page numbers fit a signed 64-bit column; a bigger cursor is no list's.
MAX_NUMBER = 2**63 - 1


class BadListState(ValueError):
    """A button value that is not a list state (a message from another version, or forged)."""


@dataclass(frozen=True)
class ListState:
    """Filters, the keyset cursor the page starts after, and the page's number (from 1)."""

    kind: str | None = None
    error_class: str | None = None
    after: int | None = None
    page: int = 1

    def encode(self) -> str:
        """A compact JSON string for a button value (well under Slack's 150/2,000 chars)."""
        data = {"k": self.kind, "c": self.error_class, "a": self.after, "p": self.page}
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: object) -> ListState:
        """The state in a button value; anything else is a BadListState."""
        if not isinstance(value, str):
            raise BadListState(f"not a list state: {value!r}")
        try:
            data = json.loads(value)
        except (ValueError, RecursionError) as exc:
            # Not JSON, JSON nested too deep, or an integer of more digits than Python reads.
            raise BadListState(f"not a list state: {value[:100]!r}") from exc
        if not isinstance(data, dict):
            raise BadListState(f"not a list state: {value!r}")
        state = cls(data.get("k"), data.get("c"), data.get("a"), data.get("p", 1))
        state.check()
        return state

    def check(self) -> None:
        """Refuse values no list of ours would hold."""
        if self.kind is not None and self.kind not in tuple(Kind):
            raise BadListState(f"unknown kind {self.kind!r}")
        if self.error_class is not None and self.error_class not in tuple(ErrorClass):
            raise BadListState(f"unknown error class {self.error_class!r}")
        if self.after is not None and (
            type(self.after) is not int or not 0 <= self.after <= MAX_NUMBER
        ):
            raise BadListState(f"bad cursor {self.after!r}")
        if type(self.page) is not int or not 1 <= self.page <= MAX_NUMBER:
            raise BadListState(f"bad page {self.page!r}")

    def first_page(self) -> ListState:
        """The same filters, from the start."""
        return ListState(self.kind, self.error_class)

    def filtered(self, *, kind: str | None, error_class: str | None) -> ListState:
        """New filters, from the first page."""
        return ListState(kind, error_class)
