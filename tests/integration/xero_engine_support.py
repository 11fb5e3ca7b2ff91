"""An engine on the Xero rig whose adapter speaks through a given httpx transport (real HTTP to
the double, with a test's twist: another tenant asked for, the double's clock moved between
writes). `xero_rig.XeroRig.engine` builds the plain one; this builds on the same harness."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import httpx

from sync_engine.build import build_engine
from sync_engine.engine import SyncEngine
from sync_engine.ledger import make_ledger
from sync_engine.send_log import SendLog
from tests.integration.xero_rig import XeroRig


def engine_over(rig: XeroRig, transport: httpx.BaseTransport, **overrides: object) -> SyncEngine:
    """`build_engine` with `ACCOUNTING_LEDGER=xero`, its adapter on `transport` and paced on
    the harness's clock; an uncertain write is looked up at once. The caller closes it."""
    xero = rig.xero
    values: dict[str, object] = {"xero_settle_seconds": 0}
    values.update(overrides)
    settings = xero.settings(**values)
    ledger = make_ledger(
        settings,
        send_log=SendLog(xero.database, xero.clock),
        transport=transport,
        monotonic=xero.time.monotonic,
        sleep=xero.time.sleep,
    )
    return build_engine(
        settings, database=xero.database, ledger=ledger, clock=xero.clock, rng=random.Random(7)
    )


class AfterWrites(httpx.HTTPTransport):
    """Real HTTP; once `writes` invoice writes have been answered, `then` runs (once)."""

    def __init__(self, writes: int, then: Callable[[], None]) -> None:
        super().__init__()
        self._left, self._then = writes, then
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        if request.method == "PUT":
            with self._lock:
                self._left -= 1
                due = self._left == 0
            if due:
                self._then()
        return answer
