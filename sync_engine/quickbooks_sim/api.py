"""The API routes under /v3/company/{realm}/: bill, batch, query, companyinfo, preferences.

`Api.serve` answers a request that passed authentication and limits: request faults first,
then the `requestid` store (writes only), then the route with its booking faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sync_engine.gateway_sim.messages import Answer, Request
from sync_engine.quickbooks_sim import query as queries
from sync_engine.quickbooks_sim.bills import book
from sync_engine.quickbooks_sim.company import Company
from sync_engine.quickbooks_sim.config import QboConfig
from sync_engine.quickbooks_sim.faults import BOOKING_KINDS, ITEM_KINDS, REQUEST_KINDS, QboFaultPlan
from sync_engine.quickbooks_sim.faults import PlannedFault as Planned
from sync_engine.quickbooks_sim.replays import IN_FLIGHT, RequestIds
from sync_engine.quickbooks_sim.wire import (
    QboFault,
    answer,
    decode,
    fault_answer,
    fault_object,
    system_fault,
    throttled,
    validation,
)
from sync_engine.sim_service import DROP

PREFIX = "/v3/company/"
ROUTES = {("POST", "bill"), ("POST", "batch"), ("GET", "query"), ("GET", "preferences")}
MAX_RID = {"bill": 50, "batch": 36}
MAX_BID = 10


@dataclass(frozen=True)
class Outcome:
    """What a write answers, and what its requestid replays (by default the same)."""

    sent: Answer
    booked: Answer | None = None

    @property
    def stored(self) -> Answer:
        """The answer a repeated requestid gets."""
        return self.booked if self.booked is not None else self.sent


@dataclass(frozen=True)
class Call:
    """An API request resolved to its realm and route, with the DocNumbers it carries."""

    request: Request
    realm: str
    route: str  # "bill", "batch", "query", "companyinfo", "preferences"
    doc_numbers: tuple[str | None, ...] = ()
    markers: tuple[str, ...] = ()


def resolve(request: Request) -> tuple[str, str] | None:
    """(realm, route) of an API path, or None when the path is no route of the double."""
    if not request.path.startswith(PREFIX):
        return None
    realm, _, rest = request.path[len(PREFIX) :].partition("/")
    rest = rest.rstrip("/")
    if not realm or len(realm) > 64:
        return None
    if request.method == "GET" and rest.startswith("companyinfo/"):
        return realm, "companyinfo"
    if (request.method, rest) in ROUTES:
        return realm, rest
    return None


class Api:
    """Answers admitted API calls against the companies, the fault plan and the requestid store."""

    def __init__(
        self,
        config: Callable[[], QboConfig],
        plan: QboFaultPlan,
        replays: RequestIds,
        pause: Callable[[float], None],
        today: Callable[[], date],
    ) -> None:
        self._config = config
        self._plan = plan
        self._replays = replays
        self._pause = pause
        self._today = today
        self._random = random.Random(config().seed)

    def serve(self, call: Call, company: Company) -> Answer:
        """Answer `call` for `company`."""
        fault = self._plan.take(REQUEST_KINDS, call.route, call.doc_numbers)
        if fault is not None:
            return _planned_answer(fault)
        if call.route not in MAX_RID:
            return self._read(call, company)
        rid = call.request.query.get("requestid")
        if rid is None or self._config().requestid_mode == "ignore":
            return self._write(call, company).sent
        if not 0 < len(rid) <= MAX_RID[call.route]:
            detail = f"requestid must be 1 to {MAX_RID[call.route]} characters"
            return fault_answer(validation("2050", "Invalid requestid", detail, "requestid"))
        stored = self._replays.begin(company.realm_id, rid)
        if stored is None:
            ran: Outcome | None = None
            try:
                ran = self._write(call, company)
                return ran.sent
            finally:
                self._replays.finish(company.realm_id, rid, ran.stored if ran else None)
        if stored == IN_FLIGHT or self._config().requestid_mode == "refuse":
            detail = f"Duplicate Request ID: {rid}"
            return fault_answer(validation("600", "Duplicate Request ID", detail))
        assert isinstance(stored, Answer)
        return stored

    def _read(self, call: Call, company: Company) -> Answer:
        if call.route == "companyinfo":
            wanted = call.request.path.rstrip("/").rsplit("/", 1)[-1]
            if wanted not in (company.realm_id, "1"):
                return answer(404, {"message": f"no CompanyInfo {wanted[:64]}"})
            return answer(200, {"CompanyInfo": company.info()})
        if call.route == "preferences":
            return answer(200, {"Preferences": company.preferences()})
        try:
            parsed = queries.parse(call.request.query.get("query", ""))
            if parsed.field == "AcctNum" and parsed.entity in self._config().refuse_acctnum:
                raise queries.syntax_error(f"property AcctNum is not queryable on {parsed.entity}")
        except QboFault as refused:
            return fault_answer(refused)
        return answer(200, {"QueryResponse": queries.run(company, parsed)})

    def _write(self, call: Call, company: Company) -> Outcome:
        try:
            data = decode(call.request.body)
            if call.route == "bill":
                return self._bill(call, company, data)
            return self._batch(call, company, data)
        except QboFault as refused:
            return Outcome(fault_answer(refused))

    def _bill(self, call: Call, company: Company, data: object) -> Outcome:
        fault = self._plan.take(BOOKING_KINDS, "bill", call.doc_numbers)
        if fault is not None and fault.kind == "book_late":
            self._pause(fault.seconds)  # the client has given up by the time this books
        dup_check = self._config().duplicate_docnumber_check
        bill = book(company, data, self._today(), dup_check)
        return _after_booking(fault, answer(200, {"Bill": bill.entity}))

    def _batch(self, call: Call, company: Company, data: object) -> Outcome:
        items = data.get("BatchItemRequest") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            raise validation(
                "2020", "Required param missing", "BatchItemRequest", "BatchItemRequest"
            )
        if len(items) > self._config().max_batch:
            detail = f"{len(items)} items; at most {self._config().max_batch} are allowed"
            raise validation("1040", "Batch size exceeds allowed limit", detail)
        bids = [item.get("bId") if isinstance(item, dict) else None for item in items]
        if len(set(bids)) != len(bids) or not all(
            isinstance(bid, str) and 0 < len(bid) <= MAX_BID for bid in bids
        ):
            raise validation(
                "2020", "Required param missing", "each item needs a unique bId", "bId"
            )
        fault = self._plan.take(BOOKING_KINDS, "batch", call.doc_numbers)
        if fault is not None and fault.kind == "book_late":
            self._pause(fault.seconds)
        answers = [self._item(company, item) for item in items]
        kept = [item for item in answers if item is not None]
        if self._config().shuffle_batch:
            self._random.shuffle(kept)
        return _after_booking(fault, answer(200, {"BatchItemResponse": kept}))

    def _item(self, company: Company, item: dict[str, Any]) -> dict[str, Any] | None:
        bill = item.get("Bill")
        doc = bill.get("DocNumber") if isinstance(bill, dict) else None
        fault = self._plan.take(ITEM_KINDS, "batch", (doc if isinstance(doc, str) else None,))
        if fault is not None and fault.kind == "item_missing" and not fault.book:
            return None
        result: dict[str, Any] = {"bId": item["bId"]}
        try:
            if item.get("operation") != "create" or not isinstance(bill, dict):
                detail = 'the double serves only {"operation": "create", "Bill": {...}} items'
                raise validation("2010", "Request has invalid or unsupported property", detail)
            booked = book(company, bill, self._today(), self._config().duplicate_docnumber_check)
        except QboFault as refused:
            result["Fault"] = fault_object(refused)
            return result
        if fault is not None and fault.kind == "item_missing":
            return None
        if fault is not None:  # item_system_fault: booked, but the item says otherwise
            result["Fault"] = fault_object(system_fault("booked, then the item failed"))
        else:
            result["Bill"] = booked.entity
        return result


def _after_booking(fault: Planned | None, booked: Answer) -> Outcome:
    # The store keeps what was booked, whatever the client was told: a working requestid
    # replays the booking.
    if fault is None or fault.kind == "book_late":
        return Outcome(booked)
    if fault.kind == "book_then_drop":
        return Outcome(DROP, booked)
    failed = fault_answer(system_fault(fault.detail or "booked, then the server failed"))
    return Outcome(failed, booked)


def _planned_answer(fault: Planned) -> Answer:
    if fault.kind == "unavailable":
        detail = fault.detail or "Service Unavailable"
        return fault_answer(QboFault(503, "SystemFault", "10000", "Service Unavailable", detail))
    if fault.kind == "throttle":
        after = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
        return fault_answer(throttled(fault.detail or "Too many requests"), headers=after)
    message = "A business validation error has occurred" if fault.code == "6000" else "Fault"
    planned = QboFault(fault.status, fault.type, fault.code, message, fault.detail or "")
    return fault_answer(planned)
