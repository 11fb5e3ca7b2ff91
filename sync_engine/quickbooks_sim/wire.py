"""QuickBooks Online's wire format: decimal-exact JSON, the `time` stamp, and Fault bodies."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sync_engine.gateway_sim.messages import Answer

MAX_DEPTH = 32


@dataclass
class QboFault(Exception):
    """One Fault: HTTP status, `type`, `code`, Message, Detail and element."""

    status: int
    type: str
    code: str
    message: str
    detail: str = ""
    element: str = ""


def number(value: Decimal) -> str:
    """A decimal as QBO writes it: no exponent, no trailing zeros (42.50 -> 42.5)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def encode(value: object) -> bytes:
    """Compact JSON in which a Decimal is written as a JSON number, never through a float."""
    return _encode(value).encode()


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, dict):
        inner = ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value)


def decode(body: bytes) -> object:
    """A client's JSON with numbers kept as Decimal; a QboFault 2010 if it is not JSON."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise QboFault(
            400,
            "ValidationFault",
            "2010",
            "Request has invalid or unsupported property",
            f"the body is not JSON: {exc}",
        ) from exc
    if _depth(data) > MAX_DEPTH:
        raise QboFault(
            400,
            "ValidationFault",
            "2010",
            "Request has invalid or unsupported property",
            "the body is nested too deeply",
        )
    return data


def _depth(value: object, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


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
