"""An OAuth 2.0 client for one ledger app: authorize URL, code exchange, refresh, revoke.

Every OAuth ledger (QuickBooks Online, Xero) speaks its token endpoint through an `OAuthClient`
configured by an `OAuthApp` (its URLs, client, scope, the setting names a missing value is
reported under). The token endpoint is spoken here and nowhere else. A refusal is a
`CredentialsError` (class `auth`): `RefreshRefused` for a refresh (`TokenKeeper` marks
`invalid_grant` reconnect required), `TokenRequestRefused` for a code exchange or a revoke. A
5xx, a 429, a timeout or an unreadable answer is `TokenEndpointUnreachable` (class
`transient`): nothing changed, the same refresh token may be presented again.

The token request times out after `TOKEN_TIMEOUT_SECONDS` (20 s), well within SQLite's 30 s
busy timeout, because `TokenKeeper` holds the database's write lock across it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from storage.vocabulary import ErrorClass
from sync_engine.credentials import CredentialsError, RefreshRefused, Tokens
from sync_engine.errors import GatewayUnreachable

TOKEN_TIMEOUT_SECONDS = 20.0
MAX_ANSWER_BYTES = 64 * 1024
JSON_BODY = {"Content-Type": "application/json"}


class TokenEndpointUnreachable(GatewayUnreachable):
    """The token endpoint could not answer (5xx, 429, timeout, unreadable): try again later."""

    error_class = ErrorClass.TRANSIENT


class TokenRequestRefused(CredentialsError):
    """The ledger refused a code exchange or a revoke (a 4xx with an OAuth error)."""

    def __init__(self, title: str, what: str, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description
        detail = f" ({description[:200]})" if description else ""
        super().__init__(f"{title} refused the {what}: {error}{detail}")


class MissingSetting(CredentialsError):
    """A setting the OAuth flow needs (QBO_*, XERO_*) is not set."""


@dataclass(frozen=True)
class SettingNames:
    """The settings an `OAuthApp`'s values come from, and where a person finds them."""

    client_id: str  # "QBO_CLIENT_ID"
    client_secret: str
    redirect_uri: str
    app: str  # "the Intuit app": where the keys and the redirect URI are registered


@dataclass(frozen=True, repr=False)
class OAuthApp:
    """One ledger's OAuth app: its endpoints, client and scope."""

    title: str  # for people: "QuickBooks", "Xero"
    auth_url: str
    token_url: str
    revoke_url: str | None
    client_id: str
    client_secret: SecretStr | None
    redirect_uri: str
    scope: str
    names: SettingNames
    # The refresh token's lifetime in seconds when the token answer gives none (Xero: 60 days).
    refresh_lifetime: float | None = None
    revoke_as_json: bool = False  # Intuit takes {"token": ...}; RFC 7009 a form

    def __repr__(self) -> str:
        return f"OAuthApp(title={self.title!r}, token_url={self.token_url!r})"


class OAuthClient:
    """The OAuth 2.0 client of one ledger app (client secret sent as HTTP Basic)."""

    def __init__(self, app: OAuthApp, *, transport: httpx.BaseTransport | None = None) -> None:
        self.app = app
        self._http = httpx.Client(
            timeout=httpx.Timeout(TOKEN_TIMEOUT_SECONDS),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self.app.token_url!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def authorization_url(self, state: str) -> str:
        """The URL a person opens to consent; the ledger redirects to the redirect URI with
        `state`."""
        query = {
            "response_type": "code",
            "client_id": self._client_id(),
            "redirect_uri": self._redirect_uri(),
            "scope": self.app.scope,
            "state": state,
        }
        parts = urlsplit(self.app.auth_url)
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
            error, description = oauth_error(status, body)
            raise TokenRequestRefused(self.app.title, "authorization code", error, description)
        return self._tokens(body)

    def refresh(self, refresh_token: str) -> Tokens:
        """A new token set for `refresh_token` (the latest stored); RefreshRefused if refused."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        status, body = self._token_request(form)
        if status != 200:
            raise RefreshRefused(*oauth_error(status, body))
        return self._tokens(body)

    def revoke(self, token: str) -> None:
        """Disconnect: revoke the grant of `token`."""
        if not self.app.revoke_url:
            raise MissingSetting(f"{self.app.title} has no revoke URL set")
        body: dict[str, Any] = (
            {"content": json.dumps({"token": token}).encode(), "headers": JSON_BODY}
            if self.app.revoke_as_json
            else {"data": {"token": token}}
        )
        try:
            response = self._http.post(self.app.revoke_url, auth=self._client_auth(), **body)
        except httpx.HTTPError as exc:
            raise self.unreachable(type(exc).__name__) from None
        if response.status_code == 200:
            return
        if response.status_code >= 500 or response.status_code == 429:
            raise self.unreachable(f"HTTP {response.status_code}")
        error, description = oauth_error(response.status_code, read_json(response))
        raise TokenRequestRefused(self.app.title, "revoke", error, description)

    def unreachable(self, why: str) -> TokenEndpointUnreachable:
        """The transient error of this app's token endpoint, saying why (never a token)."""
        return TokenEndpointUnreachable(
            f"the {self.app.title} token endpoint could not answer ({why})"
        )

    def _token_request(self, form: Mapping[str, str]) -> tuple[int, Mapping[str, object]]:
        """POST the token endpoint; transient failures raise, any other answer is returned."""
        try:
            response = self._http.post(
                self.app.token_url, auth=self._client_auth(), data=dict(form)
            )
        except httpx.HTTPError as exc:
            # The exception's name only: its text never carries the form, but keep it that way.
            raise self.unreachable(type(exc).__name__) from None
        status = response.status_code
        if status >= 500 or status == 429:
            raise self.unreachable(f"HTTP {status}")
        body = read_json(response)
        if status == 200 and body is None:
            raise self.unreachable("an unreadable 200 answer")
        return status, body or {}

    def _tokens(self, body: Mapping[str, object]) -> Tokens:
        try:
            return Tokens.from_answer(body, refresh_expires_in=self.app.refresh_lifetime)
        except ValueError as exc:  # its text names the missing field, never a value
            raise self.unreachable(str(exc)) from None

    def _client_auth(self) -> httpx.BasicAuth:
        secret = self.app.client_secret
        if secret is None or not secret.get_secret_value():
            names = self.app.names
            raise MissingSetting(
                f"{names.client_secret} is not set: copy it from {names.app}'s keys"
            )
        return httpx.BasicAuth(self._client_id(), secret.get_secret_value())

    def _client_id(self) -> str:
        if not self.app.client_id:
            names = self.app.names
            raise MissingSetting(f"{names.client_id} is not set: copy it from {names.app}'s keys")
        return self.app.client_id

    def _redirect_uri(self) -> str:
        if not self.app.redirect_uri:
            names = self.app.names
            raise MissingSetting(
                f"{names.redirect_uri} is not set: use the redirect URI registered for {names.app}"
            )
        return self.app.redirect_uri


def read_json(response: httpx.Response) -> Mapping[str, object] | None:
    """The answer's JSON object, or None if it is not one (or is too large to be a token answer)."""
    if len(response.content) > MAX_ANSWER_BYTES:
        return None
    try:
        body = json.loads(response.content)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def oauth_error(status: int, body: Mapping[str, object] | None) -> tuple[str, str | None]:
    """RFC 6749's `error` and `error_description`, or words for an answer without them."""
    body = body or {}
    error = body.get("error")
    description = body.get("error_description")
    if not isinstance(error, str) or not error:
        error = "invalid_client" if status == 401 else f"http_{status}"
    return error[:100], description if isinstance(description, str) else None
