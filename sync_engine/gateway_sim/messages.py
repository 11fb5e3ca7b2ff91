"""What travels over the wire: a received request, an answer, and the contract's problem bodies."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

FieldErrors = list[tuple[str, str]]


@dataclass(frozen=True)
class Request:
    """One HTTP request as the simulator sees it; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header `name` (any case), or None when it was not sent."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, body bytes and any headers beyond the content ones."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class Problem:
    """How the gateway reports one error code."""

    status: int
    title: str
    retryable: bool
    outcome: str
    detail: str


PROBLEMS: dict[str, Problem] = {
    "missing_idempotency_key": Problem(
        400,
        "Missing idempotency key",
        False,
        "not_applied",
        "an Idempotency-Key of 1 to 128 characters is required",
    ),
    "malformed_request": Problem(
        400, "Malformed request", False, "not_applied", "the request body breaks the contract"
    ),
    "auth_required": Problem(
        401, "Authentication required", False, "not_applied", "a bearer token is required"
    ),
    "forbidden": Problem(403, "Forbidden", False, "not_applied", "this token may not post here"),
    "not_found": Problem(404, "Not found", False, "not_applied", "no such resource"),
    "method_not_allowed": Problem(
        405, "Method not allowed", False, "not_applied", "this method is not allowed here"
    ),
    "in_progress": Problem(
        409,
        "Posting in progress",
        True,
        "not_applied",
        "this key is being posted right now by another request",
    ),
    "batch_too_large": Problem(
        413, "Batch too large", False, "not_applied", "the batch has too many items"
    ),
    "validation_failed": Problem(
        422, "Validation failed", False, "not_applied", "the ledger refused the posting"
    ),
    "idempotency_key_reused": Problem(
        422,
        "Idempotency key reused",
        False,
        "not_applied",
        "this key was used before with a different body",
    ),
    "rate_limited": Problem(429, "Rate limited", True, "not_applied", "too many requests"),
    "server_error": Problem(
        500, "Internal server error", True, "uncertain", "the gateway failed unexpectedly"
    ),
    "upstream_error": Problem(
        502, "Upstream error", True, "uncertain", "the ledger failed mid-request"
    ),
    "upstream_unavailable": Problem(
        503, "Upstream unavailable", True, "not_applied", "the ledger is down or offline"
    ),
}


def encode(payload: object) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(payload, separators=(",", ":")).encode()


def json_answer(status: int, payload: object, headers: dict[str, str] | None = None) -> Answer:
    """A JSON answer."""
    return Answer(status, encode(payload), dict(headers or {}))


def garbled(payload: object) -> bytes:
    """`payload` cut off half-way: a success body the client cannot read."""
    whole = encode(payload)
    return whole[: len(whole) // 2]


def error_object(
    code: str, detail: str | None = None, errors: FieldErrors | None = None
) -> dict[str, Any]:
    """The `error` of one batch result (also the core of a problem body)."""
    problem = PROBLEMS[code]
    body: dict[str, Any] = {
        "code": code,
        "detail": detail or problem.detail,
        "retryable": problem.retryable,
        "outcome": problem.outcome,
    }
    if errors:
        body["errors"] = [{"field": name, "message": message} for name, message in errors]
    return body


def problem_answer(
    code: str,
    detail: str | None = None,
    *,
    errors: FieldErrors | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """An `application/problem+json` answer for error `code`."""
    problem = PROBLEMS[code]
    body = {"type": "about:blank", "title": problem.title, "status": problem.status}
    body.update(error_object(code, detail, errors))
    body["request_id"] = f"req_{secrets.token_hex(4)}"
    return Answer(problem.status, encode(body), dict(headers or {}), "application/problem+json")


def rate_limited(retry_after: int, problem: str, detail: str | None = None) -> Answer:
    """A 429 telling the client which limit it hit and when to come back."""
    headers = {"Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem}
    return problem_answer("rate_limited", detail, headers=headers)
