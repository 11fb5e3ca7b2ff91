"""Sending prepared Bills: one create, or one batch call whose items are matched by `bId`.

A batch is not atomic and answers in no set order; each item is read on its own. A batch
answered 1040 (too large: nothing ran) is split and sent again; a batch with no answer, or a
5xx, leaves every item uncertain, each settled by its own lookup (never re-packed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.vocabulary import ErrorClass, Outcome
from sync_engine.credentials import CredentialsError
from sync_engine.ledger_groups import auth_failure
from sync_engine.post_result import PostResult
from sync_engine.quickbooks import bills
from sync_engine.quickbooks.answers import fault_text, read_answer
from sync_engine.quickbooks.api import Lost, Reply, Unsent
from sync_engine.quickbooks.faults import Verdict, raw_text, read_faults, verdict_of
from sync_engine.quickbooks.messages import AUTH_EXPIRED

if TYPE_CHECKING:
    from sync_engine.quickbooks.adapter import Prepared, QuickBooksLedger

MISSING = "QuickBooks' batch answer has no result for this item"


class Sending:
    """Sends prepared writes for one adapter."""

    def __init__(self, ledger: QuickBooksLedger) -> None:
        self._ledger = ledger

    def send(self, prepared: list[Prepared]) -> list[PostResult]:
        """One result per prepared write, in order."""
        if len(prepared) == 1:
            return [self._single(prepared[0])]
        return self._batch(prepared)

    def _no_answer(self, prepared: list[Prepared], exc: Exception) -> list[PostResult]:
        ledger = self._ledger
        if isinstance(exc, Unsent):
            ledger.note_answered([p.key for p in prepared])
            text = f"QuickBooks could not be reached; nothing was sent: {exc}"
            return [ledger.failed(p.key, text, ErrorClass.TRANSIENT) for p in prepared]
        if isinstance(exc, CredentialsError):
            ledger.note_answered([p.key for p in prepared])
            text = auth_failure(AUTH_EXPIRED, exc)
            return [ledger.failed(p.key, text, ErrorClass.AUTH) for p in prepared]
        text = f"QuickBooks did not answer ({exc})"
        return [ledger.uncertain(p.key, p.posting, text, None) for p in prepared]

    def _single(self, prepared: Prepared) -> PostResult:
        ledger = self._ledger
        rid = bills.request_id(ledger.realm_id, prepared.key, prepared.generation)
        ledger.note_sending([prepared])
        try:
            reply = ledger.api.post("/bill", bills.dumps(prepared.body), rid)
        except (Unsent, Lost, CredentialsError) as exc:
            return self._no_answer([prepared], exc)[0]
        if reply.body is None and 200 <= reply.status < 300:
            text = f"QuickBooks answered {reply.status} unreadably"
            return ledger.uncertain(prepared.key, prepared.posting, text, reply.status)
        return read_answer(ledger, prepared, reply.status, reply.body, reply.tid, reply.retry_after)

    def _batch(self, prepared: list[Prepared]) -> list[PostResult]:
        ledger = self._ledger
        rid = bills.batch_request_id(ledger.realm_id, [(p.key, p.generation) for p in prepared])
        body = {
            "BatchItemRequest": [
                {"bId": f"b{i}", "operation": "create", "Bill": p.body}
                for i, p in enumerate(prepared)
            ]
        }
        ledger.note_sending(prepared)
        try:
            reply = ledger.api.post("/batch", bills.dumps(body), rid, route="batch")
        except (Unsent, Lost, CredentialsError) as exc:
            return self._no_answer(prepared, exc)
        items = reply.body.get("BatchItemResponse") if isinstance(reply.body, dict) else None
        if reply.status == 200 and isinstance(items, list) and not read_faults(reply.body):
            return self._items(prepared, items, reply)
        return self._whole(prepared, reply)

    def _whole(self, prepared: list[Prepared], reply: Reply) -> list[PostResult]:
        """A batch answered as a whole (no per-item results)."""
        ledger = self._ledger
        faults = read_faults(reply.body)
        verdict, error_class = verdict_of(reply.status, faults)
        if verdict == Verdict.TOO_LARGE:
            half = len(prepared) // 2
            return self.send(prepared[:half]) + self.send(prepared[half:])
        if verdict == Verdict.FAILED or (verdict == Verdict.REFUSED and reply.status != 200):
            # Nothing ran (auth, throttle: the identical batch may go again; a refusal: the
            # next send is a new request, not the stored refusal replayed).
            refused = verdict == Verdict.REFUSED
            ledger.note_answered([p.key for p in prepared], next_generation=refused)
            text = fault_text(
                ledger, prepared[0], reply.status, faults, reply.tid, reply.retry_after
            )
            return [ledger.failed(p.key, text, error_class, reply) for p in prepared]
        said = raw_text(reply.status, faults, reply.tid)
        text = f"QuickBooks answered the batch {reply.status} [{said}]"
        return [ledger.uncertain(p.key, p.posting, text, reply.status) for p in prepared]

    def _items(
        self, prepared: list[Prepared], items: list[object], reply: Reply
    ) -> list[PostResult]:
        by_bid = {}
        for item in items[:1000]:
            bid = item.get("bId") if isinstance(item, dict) else None
            if isinstance(bid, str) and bid not in by_bid:
                by_bid[bid] = item
        results: list[PostResult] = []
        booked: list[str] = []
        for index, one in enumerate(prepared):
            item = by_bid.get(f"b{index}")
            if item is None:
                results.append(self._ledger.uncertain(one.key, one.posting, MISSING, 200))
                continue
            faults = read_faults(item)
            # An item's Fault carries no status: a ValidationFault reads as a 400, others a 500.
            kind = faults[0].type.lower() if faults else ""
            status = 200 if not faults else 400 if kind == "validationfault" else 500
            results.append(read_answer(self._ledger, one, status, item, reply.tid, booked=booked))
        self._ledger.note_answered(booked)  # one transaction for the batch's Bills
        return results


__all__ = ["Outcome", "Sending"]
