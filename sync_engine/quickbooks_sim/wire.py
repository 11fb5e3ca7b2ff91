"""QuickBooks Online's wire format: decimal-exact JSON, the `time` stamp, and Fault bodies."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sync_engine.gateway_sim.messages import Answer
from sync_engine.sim_json import encode, loads


@dataclass
class QboFault(Exception):
    """One Fault: HTTP status, `type`, `code`, Message, Detail and element."""

    status: int
    type: str
    code: str
    message: str
    detail: str = ""
    element: str = ""


def decode(body: bytes) -> object:
    """A client's JSON with numbers kept as Decimal; a QboFault 2010 if it is not JSON."""
    try:
        return loads(body)
    except ValueError as exc:
        raise QboFault(
            400, "ValidationFault", "2010", "Request has invalid or unsupported property", str(exc)
        ) from exc


def stamp(now: datetime | None = None) -> str:
    """The `time` every answer carries, in QBO's form (Pacific offset aside, UTC here)."""
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds")


def fault_object(fault: QboFault) -> dict[str, Any]:
    """The `Fault` object of an answer or a batch item."""
    error = {
        "Message": fault.message,
        "Detail": fault.detail,
        "code": fault.code,
        "element": fault.element,
    }
    return {"Error": [error], "type": fault.type}


def answer(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    """A JSON answer stamped with `time` and an `intuit_tid` header, as every QBO answer is."""
    body = dict(payload)
    body["time"] = stamp()
    sent = {"intuit_tid": f"1-{secrets.token_hex(12)}", **(headers or {})}
    return Answer(status, encode(body), sent)


def fault_answer(
    fault: QboFault, status: int | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """A Fault answer; 401s use the lower-case keys real ones carry (the adapter must cope)."""
    if fault.type == "AUTHENTICATION":
        error = {"message": fault.message, "detail": fault.detail, "code": fault.code}
        payload: dict[str, Any] = {"fault": {"error": [error], "type": fault.type}}
    else:
        payload = {"Fault": fault_object(fault)}
    return answer(fault.status if status is None else status, payload, headers)


def auth_failed(detail: str) -> QboFault:
    """401 AUTHENTICATION 3200: no, an expired, or an unknown bearer token."""
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    return QboFault(401, "AUTHENTICATION", "3200", message, detail)


def forbidden(realm: str) -> QboFault:
    """403 SERVICE 3100: a realm the token may not use (or no such company)."""
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    return QboFault(403, "SERVICE", "3100", message, f"no access to company {realm}")


def throttled(detail: str = "Too many requests") -> QboFault:
    """429 SERVICE 3001 ThrottleExceeded."""
    message = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    return QboFault(429, "SERVICE", "3001", message, detail)


def system_fault(
    detail: str = "An application error has occurred while processing your request",
) -> QboFault:
    """500 SystemFault 10000."""
    return QboFault(
        500,
        "SystemFault",
        "10000",
        "An application error has occurred while processing your request",
        detail,
    )


def validation(code: str, message: str, detail: str, element: str = "") -> QboFault:
    """400 ValidationFault."""
    return QboFault(400, "ValidationFault", code, message, detail, element)
