"""Reading a request: its route, its keys and postings, and any fault of the request itself.

Everything is read up front so the request can be logged and matched against faults; the
answer to a bad request is kept in `Intake.refusal` and given only once faults had their say.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import unquote

from sync_engine.contract import Posting, PostingInvalid, posting_from_wire
from sync_engine.gateway_sim.messages import Answer, FieldErrors, Request, problem_answer

MAX_KEY_LENGTH = 128
SINGLE_PATH = "/v1/postings"
BATCH_PATH = "/v1/postings:batch"
LOOKUP_PREFIX = "/v1/postings/"
_NOT_JSON = object()


@dataclass
class Item:
    """One posting of a request with its key, or why it cannot be posted."""

    key: str | None
    source_id: str | None = None
    posting: Posting | None = None
    error: str | None = None
    detail: str | None = None
    errors: FieldErrors = field(default_factory=list)


@dataclass
class Intake:
    """A request read for routing, logging and fault matching, before anything is decided."""

    route: str  # "single", "batch", "lookup" or "other"
    items: list[Item] = field(default_factory=list)
    lookup_key: str | None = None
    refusal: Answer | None = None

    @property
    def keys(self) -> list[str]:
        """The idempotency keys the request carries, as sent."""
        if self.lookup_key is not None:
            return [self.lookup_key]
        return [item.key for item in self.items if item.key is not None]

    @property
    def source_ids(self) -> list[str]:
        """The source ids of the postings the request carries, valid or not."""
        return [item.source_id for item in self.items if item.source_id is not None]

    @property
    def postings(self) -> list[Posting]:
        """The postings that passed the contract's validation."""
        return [item.posting for item in self.items if item.posting is not None]


def read_intake(request: Request, max_batch: int) -> Intake:
    """Route `request` and read whatever it carries."""
    path, method = request.path, request.method
    if path == SINGLE_PATH:
        intake = _read_single(request) if method == "POST" else Intake("single")
    elif path == BATCH_PATH:
        intake = _read_batch(request.body, max_batch) if method == "POST" else Intake("batch")
    elif path.startswith(LOOKUP_PREFIX):
        intake = Intake("lookup", lookup_key=unquote(path[len(LOOKUP_PREFIX) :]))
        if not intake.lookup_key:
            intake.refusal = problem_answer("not_found", "no idempotency key in the path")
    else:
        return Intake("other", refusal=problem_answer("not_found", f"no such endpoint {path}"))
    allowed = "GET" if intake.route == "lookup" else "POST"
    if method != allowed:
        detail = f"{method} is not allowed on {path}; use {allowed}"
        intake.refusal = problem_answer("method_not_allowed", detail, headers={"Allow": allowed})
    return intake


def valid_key(key: object) -> bool:
    """Whether `key` is an idempotency key the contract accepts (1 to 128 characters)."""
    return isinstance(key, str) and 1 <= len(key) <= MAX_KEY_LENGTH


def _decode(body: bytes) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _NOT_JSON


def _read_item(key: object, body: object) -> Item:
    source_id = body.get("source_id") if isinstance(body, dict) else None
    item = Item(
        key if isinstance(key, str) else None,
        source_id if isinstance(source_id, str) else None,
    )
    if not valid_key(key):
        item.error = "missing_idempotency_key"
    if body is _NOT_JSON:
        errors = [("", "the body is not valid JSON")]
    else:
        try:
            item.posting = posting_from_wire(body)
            return item
        except PostingInvalid as exc:
            errors = exc.errors
    if item.error is None:
        item.error, item.errors = "malformed_request", errors
        item.detail = "the posting breaks the contract: " + "; ".join(
            f"{name or 'body'}: {message}" for name, message in errors
        )
    return item


def _read_single(request: Request) -> Intake:
    item = _read_item(request.header("Idempotency-Key"), _decode(request.body))
    intake = Intake("single", items=[item])
    if item.error is not None:
        intake.refusal = problem_answer(item.error, item.detail, errors=item.errors)
    return intake


def _read_batch(body: bytes, max_batch: int) -> Intake:
    data = _decode(body)
    entries = data.get("items") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        errors = [("items", "required, a list of {idempotency_key, posting} objects")]
        return Intake("batch", refusal=problem_answer("malformed_request", errors=errors))
    intake = Intake("batch")
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            intake.items.append(_read_item(entry.get("idempotency_key"), entry.get("posting")))
        else:
            errors = [(f"items[{index}]", "must be an object")]
            intake.items.append(Item(None, error="malformed_request", errors=errors))
    if not entries:
        errors = [("items", "must hold at least one item")]
        intake.refusal = problem_answer("malformed_request", errors=errors)
    elif len(entries) > max_batch:
        detail = f"{len(entries)} items in one batch; at most {max_batch} are accepted"
        intake.refusal = problem_answer("batch_too_large", detail)
    return intake
