"""The token authority of the OAuth 2.0 double: clients, codes, grants and their rotation.

No HTTP here (`endpoints.py` speaks it), so a ledger double checks its bearer tokens by calling
`check_access` directly. One lock orders every change: of two refreshes presenting one token,
the second sees it superseded, as a real authorization server would.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_TOKEN_CHARS = 512  # Intuit: a code is at most 512 characters; tokens are bounded alike
MAX_GRANTS = 10_000


@dataclass(frozen=True)
class RotationPolicy:
    """When a refresh hands out a new refresh token; how long the one it replaces still works."""

    # 0: every refresh rotates (Intuit's safe reading); 86400: at most once a day (integrators).
    rotate_every_seconds: float = 0.0
    # 0: the replaced token fails at once (Intuit); 1800: Xero's 30-minute grace after first use.
    grace_seconds: float = 0.0


@dataclass
class OAuthConfig:
    """The one client the double knows, its lifetimes, what the authorize step redirects with."""

    client_id: str = "sim-client-id"
    client_secret: str = "sim-client-secret"
    scope: str = "com.intuit.quickbooks.accounting"
    # Empty: any http(s) redirect URI on localhost or 127.0.0.1 is accepted.
    redirect_uris: tuple[str, ...] = ()
    access_lifetime: float = 3600.0
    refresh_lifetime: float = 8_726_400.0  # rolling: extended by each use
    code_lifetime: float = 300.0
    rotation: RotationPolicy = field(default_factory=RotationPolicy)
    # The company the consenting user picks; sent back as `realm_param` (None: not sent, Xero).
    realm_id: str | None = "9130350000000001"
    realm_param: str = "realmId"
    # Intuit reports the refresh token's lifetime; Xero does not.
    report_refresh_lifetime: bool = True
    # As the provider spells it in a token answer: Intuit "bearer", Xero "Bearer".
    token_type: str = "bearer"

    def __post_init__(self) -> None:
        for name in ("access_lifetime", "refresh_lifetime", "code_lifetime"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.rotation.rotate_every_seconds < 0 or self.rotation.grace_seconds < 0:
            raise ValueError("rotation periods must not be negative")


@dataclass
class OAuthError(Exception):
    """A refusal in RFC 6749's words: the HTTP status, `error` and `error_description`."""

    status: int
    error: str
    description: str


@dataclass(frozen=True)
class TokenSet:
    """What a successful token request answers."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    realm_id: str | None


@dataclass(frozen=True)
class AccessCheck:
    """Whether a bearer token is good: "valid", "expired" or "unknown", and its grant's realm."""

    status: str
    realm_id: str | None = None


@dataclass
class _Grant:
    realm_id: str | None
    refresh_token: str
    refresh_issued_at: float
    refresh_expires_at: float
    retired: dict[str, float] = field(default_factory=dict)  # replaced token -> when
    revoked: bool = False


@dataclass(frozen=True)
class _Code:
    realm_id: str | None
    redirect_uri: str
    expires_at: float


def _new_token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(32)}"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class TokenAuthority:
    """Issues and checks codes and tokens for one client under one rotation policy."""

    def __init__(self, config: OAuthConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._grants: list[_Grant] = []
        self._by_refresh: dict[str, _Grant] = {}
        self._access: dict[str, tuple[_Grant, float]] = {}
        self.refreshes = 0  # successful refresh grants, for tests and benchmarks

    def client_ok(self, client_id: str, client_secret: str) -> bool:
        """Whether the Basic credentials name this double's client."""
        return _same(client_id, self.config.client_id) & _same(
            client_secret, self.config.client_secret
        )

    def redirect_ok(self, redirect_uri: str) -> bool:
        """Whether `redirect_uri` is registered (or on loopback, when none is)."""
        if self.config.redirect_uris:
            return redirect_uri in self.config.redirect_uris
        parts = urlsplit(redirect_uri)
        return parts.scheme in ("http", "https") and parts.hostname in ("localhost", "127.0.0.1")

    def issue_code(self, redirect_uri: str, realm_id: str | None = None) -> str:
        """A single-use authorization code bound to `redirect_uri` (the user consented)."""
        code = _new_token("AB11")
        realm = realm_id if realm_id is not None else self.config.realm_id
        with self._lock:
            now = self._clock()
            self._codes = {k: c for k, c in self._codes.items() if c.expires_at > now}
            self._codes[code] = _Code(realm, redirect_uri, now + self.config.code_lifetime)
        return code

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """The `authorization_code` grant: each code works once, with its own redirect URI."""
        with self._lock:
            # Popped whatever happens next: a code is spent by its first presentation.
            found = self._codes.pop(code, None)
            if found is None or found.expires_at <= self._clock():
                raise OAuthError(400, "invalid_grant", "the authorization code is invalid or used")
            if redirect_uri != found.redirect_uri:
                raise OAuthError(400, "invalid_grant", "redirect_uri is not the authorize one")
            return self._new_grant(found.realm_id)

    def grant(self, realm_id: str | None = None) -> TokenSet:
        """A token set as if obtained elsewhere (the OAuth Playground): no code, no redirect."""
        with self._lock:
            return self._new_grant(realm_id if realm_id is not None else self.config.realm_id)

    def refresh(self, refresh_token: str) -> TokenSet:
        """The `refresh_token` grant under the rotation policy."""
        with self._lock:
            now = self._clock()
            grant = self._by_refresh.get(refresh_token)
            if grant is None or grant.revoked:
                raise OAuthError(400, "invalid_grant", "the refresh token is invalid or revoked")
            if now >= grant.refresh_expires_at:
                raise OAuthError(400, "invalid_grant", "the refresh token has expired")
            if refresh_token != grant.refresh_token:
                retired_at = grant.retired.get(refresh_token, now)
                if now - retired_at >= self.config.rotation.grace_seconds:
                    raise OAuthError(400, "invalid_grant", "the refresh token was superseded")
                self._rotate(grant, now)  # within the grace: a fresh set replaces the current one
            elif now - grant.refresh_issued_at >= self.config.rotation.rotate_every_seconds:
                self._rotate(grant, now)
            grant.refresh_expires_at = now + self.config.refresh_lifetime
            self.refreshes += 1
            return self._token_set(grant, now)

    def revoke(self, token: str) -> bool:
        """Revoke the grant of `token` (a refresh or access token): the user disconnected."""
        with self._lock:
            grant = self._by_refresh.get(token)
            if grant is None and token in self._access:
                grant = self._access[token][0]
            if grant is None:
                return False
            grant.revoked = True
            return True

    def revoke_all(self) -> int:
        """Revoke every grant (the company disconnected the app); return how many there were."""
        with self._lock:
            for grant in self._grants:
                grant.revoked = True
            return len(self._grants)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired now."""
        with self._lock:
            now = self._clock()
            self._access = {token: (grant, now) for token, (grant, _) in self._access.items()}

    def check_access(self, token: str) -> AccessCheck:
        """Whether bearer `token` may call the API now, and for which realm."""
        with self._lock:
            found = self._access.get(token)
            if found is None or found[0].revoked:
                return AccessCheck("unknown")
            grant, expires_at = found
            if self._clock() >= expires_at:
                return AccessCheck("expired", grant.realm_id)
            return AccessCheck("valid", grant.realm_id)

    def _new_grant(self, realm_id: str | None) -> TokenSet:
        # Callers hold the lock.
        if len(self._grants) >= MAX_GRANTS:
            raise OAuthError(400, "invalid_request", "the double holds too many grants")
        now = self._clock()
        grant = _Grant(realm_id, _new_token("RT1-"), now, now + self.config.refresh_lifetime)
        self._grants.append(grant)
        self._by_refresh[grant.refresh_token] = grant
        return self._token_set(grant, now)

    def _rotate(self, grant: _Grant, now: float) -> None:
        # Tokens past their grace are forgotten, so the maps stay bounded by the grace period.
        grace = self.config.rotation.grace_seconds
        for old, at in list(grant.retired.items()):
            if now - at >= grace:
                del grant.retired[old]
        grant.retired.setdefault(grant.refresh_token, now)
        grant.refresh_token = _new_token("RT1-")
        grant.refresh_issued_at = now
        self._by_refresh = {
            token: owner
            for token, owner in self._by_refresh.items()
            if owner is not grant or token in grant.retired
        }
        self._by_refresh[grant.refresh_token] = grant

    def _token_set(self, grant: _Grant, now: float) -> TokenSet:
        access = _new_token("eyJ")
        self._access = {t: a for t, a in self._access.items() if a[1] > now - 86_400}
        self._access[access] = (grant, now + self.config.access_lifetime)
        return TokenSet(
            access_token=access,
            expires_in=int(self.config.access_lifetime),
            refresh_token=grant.refresh_token,
            refresh_expires_in=int(grant.refresh_expires_at - now),
            realm_id=grant.realm_id,
        )
