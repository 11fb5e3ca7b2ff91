"""Intuit's OAuth 2.0 endpoints (contract section 1): authorize URL, code exchange, refresh, revoke.

The token endpoint is spoken here and nowhere else. A refusal is a `CredentialsError` (class
`auth`): `RefreshRefused` for a refresh (`TokenKeeper` marks `invalid_grant` reconnect
required), `TokenRequestRefused` for a code exchange or a revoke. A 5xx, a 429, a timeout or an
unreadable answer is `TokenEndpointUnreachable` (class `transient`): nothing changed, the same
refresh token may be presented again.

The token request times out after `TOKEN_TIMEOUT_SECONDS` (20 s), well within SQLite's 30 s
busy timeout, because `TokenKeeper` holds the database's write lock across it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Self
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from storage.vocabulary import ErrorClass
from sync_engine.credentials import CredentialsError, RefreshRefused, Tokens
from sync_engine.errors import GatewayUnreachable
from sync_engine.settings import Settings

SCOPE = "com.intuit.quickbooks.accounting"  # read and write; the only scope requested
TOKEN_TIMEOUT_SECONDS = 20.0
MAX_ANSWER_BYTES = 64 * 1024


class TokenEndpointUnreachable(GatewayUnreachable):
    """Intuit's token endpoint could not answer (5xx, 429, timeout, unreadable): try again later."""

    error_class = ErrorClass.TRANSIENT


class TokenRequestRefused(CredentialsError):
    """Intuit refused a code exchange or a revoke (a 4xx with an OAuth error)."""

    def __init__(self, what: str, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description
        detail = f" ({description[:200]})" if description else ""
        super().__init__(f"QuickBooks refused the {what}: {error}{detail}")


class MissingSetting(CredentialsError):
    """A QBO_* setting the OAuth flow needs is not set."""


class QuickBooksOAuth:
    """The OAuth 2.0 client of one Intuit app (QBO_CLIENT_ID, QBO_CLIENT_SECRET)."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._http = httpx.Client(
            timeout=httpx.Timeout(TOKEN_TIMEOUT_SECONDS),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"QuickBooksOAuth(token_url={self._settings.qbo_token_url!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def authorization_url(self, state: str) -> str:
        """The URL a person opens to consent; Intuit redirects to QBO_REDIRECT_URI with `state`."""
        query = {
            "client_id": self._client_id(),
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": self._redirect_uri(),
            "state": state,
        }
        parts = urlsplit(self._settings.qbo_auth_url)
        joined = "&".join(q for q in (parts.query, urlencode(query)) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, joined, ""))

    def exchange(self, code: str) -> Tokens:
        """Trade an authorization code (used once) for the company's first token set."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri(),
        }
        status, body = self._token_request(form)
        if status != 200:
            error, description = _oauth_error(status, body)
            raise TokenRequestRefused("authorization code", error, description)
        return _tokens(body)

    def refresh(self, refresh_token: str) -> Tokens:
        """A new token set for `refresh_token` (the latest stored); RefreshRefused if refused."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        status, body = self._token_request(form)
        if status != 200:
            raise RefreshRefused(*_oauth_error(status, body))
        return _tokens(body)

    def revoke(self, refresh_token: str) -> None:
        """Disconnect: revoke the grant of `refresh_token` (Intuit takes a JSON body)."""
        try:
            response = self._http.post(
                self._settings.qbo_revoke_url,
                auth=self._client_auth(),
                content=json.dumps({"token": refresh_token}).encode(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise _unreachable(type(exc).__name__) from None
        if response.status_code == 200:
            return
        body = _json(response)
        if response.status_code >= 500 or response.status_code == 429:
            raise _unreachable(f"HTTP {response.status_code}")
        raise TokenRequestRefused("revoke", *_oauth_error(response.status_code, body))

    def _token_request(self, form: Mapping[str, str]) -> tuple[int, Mapping[str, object]]:
        """POST the token endpoint; transient failures raise, any other answer is returned."""
        try:
            response = self._http.post(
                self._settings.qbo_token_url, auth=self._client_auth(), data=dict(form)
            )
        except httpx.HTTPError as exc:
            # The exception's name only: its text never carries the form, but keep it that way.
            raise _unreachable(type(exc).__name__) from None
        status = response.status_code
        if status >= 500 or status == 429:
            raise _unreachable(f"HTTP {status}")
        body = _json(response)
        if status == 200 and body is None:
            raise _unreachable("an unreadable 200 answer")
        return status, body or {}

    def _client_auth(self) -> httpx.BasicAuth:
        secret = self._settings.qbo_client_secret
        if secret is None or not secret.get_secret_value():
            raise MissingSetting("QBO_CLIENT_SECRET is not set: copy it from the Intuit app's keys")
        return httpx.BasicAuth(self._client_id(), secret.get_secret_value())

    def _client_id(self) -> str:
        client_id = self._settings.qbo_client_id
        if not client_id:
            raise MissingSetting("QBO_CLIENT_ID is not set: copy it from the Intuit app's keys")
        return client_id

    def _redirect_uri(self) -> str:
        uri = self._settings.qbo_redirect_uri
        if not uri:
            raise MissingSetting(
                "QBO_REDIRECT_URI is not set: use the redirect URI registered for the Intuit app"
            )
        return uri


def _unreachable(why: str) -> TokenEndpointUnreachable:
    return TokenEndpointUnreachable(f"the QuickBooks token endpoint could not answer ({why})")


def _json(response: httpx.Response) -> Mapping[str, object] | None:
    """The answer's JSON object, or None if it is not one (or is too large to be a token answer)."""
    if len(response.content) > MAX_ANSWER_BYTES:
        return None
    try:
        body = json.loads(response.content)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def _tokens(body: Mapping[str, object]) -> Tokens:
    try:
        return Tokens.from_answer(body)
    except ValueError as exc:  # its text names the missing field, never a value
        raise _unreachable(str(exc)) from None


def _oauth_error(status: int, body: Mapping[str, object] | None) -> tuple[str, str | None]:
    """RFC 6749's `error` and `error_description`, or words for an answer without them."""
    body = body or {}
    error = body.get("error")
    description = body.get("error_description")
    if not isinstance(error, str) or not error:
        error = "invalid_client" if status == 401 else f"http_{status}"
    return error[:100], description if isinstance(description, str) else None
