"""The OAuth 2.0 double's HTTP side: the authorize redirect, the token and revoke endpoints."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sync_engine.gateway_sim.messages import Answer, Request, encode, json_answer
from sync_engine.oauth_sim.authority import MAX_TOKEN_CHARS, OAuthError, TokenAuthority, TokenSet

MAX_FIELDS = 16
MAX_URI_CHARS = 2048
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class OAuthPaths:
    """Where the double serves each endpoint (Intuit's paths by default)."""

    authorize: str = "/connect/oauth2"
    token: str = "/oauth2/v1/tokens/bearer"
    revoke: str = "/v2/oauth2/tokens/revoke"


def oauth_error(error: OAuthError) -> Answer:
    """An RFC 6749 error answer; `invalid_client` also asks for Basic credentials."""
    body = {"error": error.error, "error_description": error.description}
    headers = dict(NO_STORE)
    if error.error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return json_answer(error.status, body, headers)


def token_answer(authority: TokenAuthority, tokens: TokenSet) -> Answer:
    """A 200 token answer in the shape the authority's provider uses."""
    body: dict[str, object] = {
        "token_type": authority.config.token_type,
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "refresh_token": tokens.refresh_token,
    }
    if authority.config.report_refresh_lifetime:
        body["x_refresh_token_expires_in"] = tokens.refresh_expires_in
    else:
        body["scope"] = authority.config.scope
    return json_answer(200, body, NO_STORE)


class OAuthEndpoints:
    """Answers the requests under `paths`; `answer` returns None for any other path."""

    def __init__(self, authority: TokenAuthority, paths: OAuthPaths | None = None) -> None:
        self.authority = authority
        self.paths = paths if paths is not None else OAuthPaths()
        self._lock = threading.Lock()
        self._failing: list[int] = []  # statuses the next token requests get, nothing changed
        self.delay_seconds = 0.0  # held before a token request is decided: widens races

    def fail_next(self, status: int, count: int = 1) -> None:
        """Answer the next `count` token requests `status` (a 5xx: the client retries)."""
        if not 400 <= status <= 599 or not 1 <= count <= 1000:
            raise ValueError("status must be 400 to 599 and count 1 to 1000")
        with self._lock:
            self._failing.extend([status] * count)

    def _planned_failure(self) -> Answer | None:
        with self._lock:
            status = self._failing.pop(0) if self._failing else None
        if status is None:
            return None
        return json_answer(status, {"error": "server_error", "error_description": "planned"})

    def routes(self) -> dict[str, str]:
        """Path -> route name, for the journal."""
        p = self.paths
        return {p.authorize: "GET authorize", p.token: "POST token", p.revoke: "POST revoke"}

    def answer(self, request: Request) -> Answer | None:
        """Answer an OAuth request, or None when `request` is for another path."""
        path = request.path.rstrip("/") or "/"
        if path not in self.routes():
            return None
        want = "GET" if path == self.paths.authorize else "POST"
        if request.method != want:
            error = OAuthError(405, "invalid_request", f"use {want} on {path}")
            return oauth_error(error)
        try:
            if path == self.paths.authorize:
                return self._authorize(request)
            self._check_client(request)
            if path == self.paths.token:
                time.sleep(min(self.delay_seconds, 60.0))
                failed = self._planned_failure()
                if failed is not None:
                    return failed
                return token_answer(self.authority, self._token(request))
            return self._revoke(request)
        except OAuthError as error:
            return oauth_error(error)

    def _check_client(self, request: Request) -> None:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, colon, secret = decoded.partition(":")
        known = bool(colon) and self.authority.client_ok(client_id, secret)
        if scheme.lower() != "basic" or not known:
            raise OAuthError(401, "invalid_client", "client authentication failed")

    def _token(self, request: Request) -> TokenSet:
        form = _form(request.body)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            code, redirect_uri = _field(form, "code"), _field(form, "redirect_uri", MAX_URI_CHARS)
            return self.authority.exchange_code(code, redirect_uri)
        if grant_type == "refresh_token":
            return self.authority.refresh(_field(form, "refresh_token"))
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not served")

    def _revoke(self, request: Request) -> Answer:
        # Intuit takes JSON {"token": ...}; RFC 7009 a form: both are read.
        try:
            data = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            data = _form(request.body)
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
            raise OAuthError(400, "invalid_request", "token is required")
        self.authority.revoke(token)  # RFC 7009: an unknown token is answered 200 too
        return Answer(200, b"", dict(NO_STORE))

    def _authorize(self, request: Request) -> Answer:
        query = request.query
        client_id = query.get("client_id", "")
        redirect_uri = query.get("redirect_uri", "")
        # RFC 6749 4.1.2.1: with a bad client or redirect URI the user is told, never redirected.
        if client_id != self.authority.config.client_id:
            return _page(400, "unknown client_id")
        if len(redirect_uri) > MAX_URI_CHARS or not self.authority.redirect_ok(redirect_uri):
            return _page(400, "redirect_uri is not registered for this app")
        back: dict[str, str] = {}
        state = query.get("state")
        if state is not None:
            back["state"] = state[:MAX_TOKEN_CHARS]
        if query.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        elif self.authority.config.scope not in query.get("scope", "").split():
            back["error"] = "invalid_scope"
        else:
            back["code"] = self.authority.issue_code(redirect_uri)
            realm = self.authority.config.realm_id
            if realm is not None:
                back[self.authority.config.realm_param] = realm
        return Answer(302, b"", {"Location": _with_query(redirect_uri, back)}, "text/plain")


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode(), max_num_fields=MAX_FIELDS, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError(400, "invalid_request", "the body is not a form") from exc
    return dict(pairs)


def _field(form: dict[str, str], name: str, limit: int = MAX_TOKEN_CHARS) -> str:
    value = form.get(name, "")
    if not 0 < len(value) <= limit:
        raise OAuthError(400, "invalid_request", f"{name} is required (at most {limit} chars)")
    return value


def _with_query(uri: str, extra: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _page(status: int, text: str) -> Answer:
    return Answer(status, encode({"error": "invalid_request", "error_description": text}))
