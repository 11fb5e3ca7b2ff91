"""A ledger connection's OAuth tokens: stored encrypted, refreshed once at a time, saved before use.

One store serves every OAuth ledger (QuickBooks Online, Xero): a row per company in
`ledger_connections` (`storage/connections.py`), its tokens sealed by `SecretBox`.

An adapter holds a `TokenKeeper` and asks it for `access_token()` before each call (and for
`after_unauthorized(token)` after a 401, then repeats the call once). The keeper hands out the
stored token while it has more than `margin` left. Otherwise it locks the company's row (a row
lock on PostgreSQL, the write lock on SQLite), reads it again (another process may have
refreshed meanwhile: then its token is used), calls the adapter's `refresh(refresh_token)`,
and commits the new token set before returning the new access token: no token of a new set
is used before the set is stored. If the commit fails, the commit is retried, never the
refresh. A `RefreshRefused` with `invalid_grant` marks the connection `reconnect_required`.

The lock is held across the refresh's HTTP call. On SQLite that is the database's one write
lock: other writers wait (other processes for at most the 30 s busy timeout), so the adapter's
token request should time out well within that (about 20 s).

CredentialsError (SyncEngineError)   error_class "auth": the adapter records it as such
+-- NotConnected                     no connection stored for the company
+-- ReconnectRequired                the connection must be made again by a person
+-- RefreshRefused                   raised by the adapter's refresh: the token endpoint said no
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage import connections
from storage.connections import SealedTokens, StoredConnection
from storage.db import Database, Tx
from storage.vocabulary import ConnectionState, ErrorClass
from sync_engine.errors import SyncEngineError
from sync_engine.secret_box import SecretBox

log = logging.getLogger(__name__)

QUICKBOOKS, XERO = "quickbooks", "xero"
LEDGERS = (QUICKBOOKS, XERO)
INVALID_GRANT = "invalid_grant"
# Both contracts: refresh when fewer than 300 s remain; store expiry 60 s early for clock skew.
REFRESH_MARGIN = timedelta(seconds=300)
EXPIRY_SKEW = timedelta(seconds=60)
COMMIT_ATTEMPTS = 3


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, repr=False)
class Tokens:
    """A token endpoint's answer: the tokens and their lifetimes in seconds from the answer."""

    access_token: str
    refresh_token: str
    expires_in: float
    refresh_expires_in: float | None = None
    refresh_hard_expires_in: float | None = None

    def __repr__(self) -> str:
        return (
            f"Tokens(access_token=<redacted>, refresh_token=<redacted>,"
            f" expires_in={self.expires_in!r}, refresh_expires_in={self.refresh_expires_in!r},"
            f" refresh_hard_expires_in={self.refresh_hard_expires_in!r})"
        )

    @classmethod
    def from_answer(
        cls, body: Mapping[str, object], *, refresh_expires_in: float | None = None
    ) -> Tokens:
        """Read a 200 answer of the token endpoint (QBO's `x_refresh_token_*` fields included).

        `refresh_expires_in` is the refresh token's lifetime when the answer does not give one
        (Xero: 60 days unused).
        """
        access, refresh = body.get("access_token"), body.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise ValueError("the token endpoint's answer has no access_token")
        if not isinstance(refresh, str) or not refresh:
            raise ValueError("the token endpoint's answer has no refresh_token")
        return cls(
            access_token=access,
            refresh_token=refresh,
            expires_in=_seconds(body, "expires_in") or 0.0,
            refresh_expires_in=_seconds(body, "x_refresh_token_expires_in") or refresh_expires_in,
            refresh_hard_expires_in=_seconds(body, "x_refresh_token_hard_expires_in"),
        )


def _seconds(body: Mapping[str, object], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"the token endpoint's answer has a malformed {name}")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"the token endpoint's answer has a malformed {name}") from None


class CredentialsError(SyncEngineError):
    """The ledger's credentials do not work; the adapter classes the failure `auth`."""

    error_class = ErrorClass.AUTH


class NotConnected(CredentialsError):
    """No connection is stored for this company."""


class ReconnectRequired(CredentialsError):
    """The connection was refused for good (invalid_grant); a person must connect it again."""


class RefreshRefused(CredentialsError):
    """Raised by an adapter's refresh function: the token endpoint refused (400 and an error)."""

    def __init__(self, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description
        detail = f" ({description[:200]})" if description else ""
        super().__init__(f"the token endpoint refused the refresh: {error}{detail}")


@dataclass(frozen=True)
class ConnectionStatus:
    """What may be shown of a connection: never a token."""

    ledger: str
    company_id: str
    company_name: str | None
    state: str
    state_reason: str | None
    state_changed_at: datetime
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refreshed_at: datetime
    generation: int


def _status(row: StoredConnection) -> ConnectionStatus:
    return ConnectionStatus(
        ledger=row.ledger,
        company_id=row.company_id,
        company_name=row.company_name,
        state=row.state,
        state_reason=row.state_reason,
        state_changed_at=row.state_changed_at,
        access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at,
        refreshed_at=row.refreshed_at,
        generation=row.generation,
    )


def seal_tokens(box: SecretBox, tokens: Tokens, now: datetime) -> SealedTokens:
    """Encrypt a token set and turn its lifetimes into times (the access expiry 60 s early)."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else now + timedelta(seconds=seconds)

    return SealedTokens(
        refresh_token_encrypted=box.seal(tokens.refresh_token),
        access_token_encrypted=box.seal(tokens.access_token),
        access_expires_at=now + timedelta(seconds=tokens.expires_in) - EXPIRY_SKEW,
        refresh_expires_at=after(tokens.refresh_expires_in),
        refresh_hard_expires_at=after(tokens.refresh_hard_expires_in),
    )


def _known_ledger(ledger: str) -> str:
    if ledger not in LEDGERS:
        raise ValueError(f"unknown ledger {ledger!r}: expected one of {', '.join(LEDGERS)}")
    return ledger


def connect(
    database: Database,
    box: SecretBox,
    ledger: str,
    company_id: str,
    tokens: Tokens,
    *,
    company_name: str | None = None,
    ledger_ref: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> ConnectionStatus:
    """Store a company's new connection (tokens the caller just proved), clearing any
    reconnect_required; committed when this returns."""
    now = clock()
    sealed = seal_tokens(box, tokens, now)
    with database.transaction() as tx:
        connections.store_connection(
            tx,
            _known_ledger(ledger),
            company_id,
            sealed,
            company_name=company_name,
            ledger_ref=ledger_ref,
            now=now,
        )
        row = connections.find(tx, ledger, company_id)
    assert row is not None  # written just above, in the same transaction
    log.info(
        "ledger connected",
        extra={"event": "ledger_connected", "ledger": ledger, "company_id": company_id},
    )
    return _status(row)


def connection_statuses(database: Database) -> list[ConnectionStatus]:
    """Every stored connection, without its tokens."""
    with database.reading() as session, session.begin():
        return [_status(row) for row in connections.all_connections(session)]


class TokenKeeper:
    """Gives one company's adapter a valid access token, refreshing once at a time across
    processes."""

    def __init__(
        self,
        database: Database,
        box: SecretBox,
        ledger: str,
        company_id: str,
        refresh: Callable[[str], Tokens],
        *,
        clock: Callable[[], datetime] = utc_now,
        margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self._db = database
        self._box = box
        self._ledger = _known_ledger(ledger)
        self._company = company_id
        self._refresh = refresh
        self._clock = clock
        self._margin = margin

    def __repr__(self) -> str:
        return f"TokenKeeper(ledger={self._ledger!r}, company_id={self._company!r})"

    def access_token(self) -> str:
        """A stored access token valid for more than the margin, refreshing it first if needed."""
        with self._db.reading() as session, session.begin():
            row = self._checked(connections.find(session, self._ledger, self._company))
        if self._usable(row, refused=None):
            return self._box.open(row.access_token_encrypted)
        return self._refresh_under_lock(refused=None)

    def after_unauthorized(self, refused: str) -> str:
        """After a 401 with `refused`: another process's newer token, or a fresh one."""
        return self._refresh_under_lock(refused=refused)

    def status(self) -> ConnectionStatus:
        """The connection as stored, without its tokens."""
        with self._db.reading() as session, session.begin():
            row = connections.find(session, self._ledger, self._company)
        if row is None:
            raise self._not_connected()
        return _status(row)

    def _usable(self, row: StoredConnection, refused: str | None) -> bool:
        if row.access_expires_at - self._clock() <= self._margin:
            return False
        return refused is None or self._box.open(row.access_token_encrypted) != refused

    def _refresh_under_lock(self, refused: str | None) -> str:
        with self._db.session() as session:
            session.begin()
            row = self._checked(connections.lock(session, self._ledger, self._company))
            if self._usable(row, refused):
                return self._box.open(row.access_token_encrypted)  # another process refreshed
            try:
                tokens = self._refresh(self._box.open(row.refresh_token_encrypted))
            except RefreshRefused as exc:
                if exc.error == INVALID_GRANT:
                    self._mark_reconnect_required(session, row, exc)
                raise
            sealed = seal_tokens(self._box, tokens, self._clock())
            self._store(session, sealed, row.generation)
        log.info(
            "ledger token refreshed",
            extra={"event": "ledger_token_refreshed", **self._fields()},
        )
        return tokens.access_token

    def _store(self, session: Tx, sealed: SealedTokens, generation: int) -> None:
        """Commit the new token set; if the commit fails, commit again (never refresh again)."""
        try:
            self._save(session, sealed, generation)
            session.commit()
            return
        except Exception as exc:  # noqa: BLE001 - any database failure: keep the tokens still
            session.rollback()
            # The error's name only: its text may quote the statement's (sealed) parameters.
            log.warning(
                "refreshed ledger tokens not stored (%s); storing again",
                type(exc).__name__,
                extra={"event": "ledger_token_store_retry", **self._fields()},
            )
        for attempt in range(2, COMMIT_ATTEMPTS + 1):
            try:
                with self._db.transaction() as tx:
                    connections.lock(tx, self._ledger, self._company)
                    self._save(tx, sealed, generation)
                return
            except Exception:  # noqa: BLE001 - re-raised after the last attempt
                if attempt == COMMIT_ATTEMPTS:
                    log.error(
                        "refreshed ledger tokens could not be stored: the connection may need"
                        " reconnecting",
                        extra={"event": "ledger_token_store_failed", **self._fields()},
                    )
                    raise

    def _save(self, tx: Tx, sealed: SealedTokens, generation: int) -> None:
        saved = connections.save_tokens(
            tx, self._ledger, self._company, sealed, generation=generation, now=self._clock()
        )
        if not saved:  # only if the lock was lost: keep the newer row, use our token once
            log.warning(
                "refreshed ledger tokens not stored: the connection changed meanwhile",
                extra={"event": "ledger_token_store_skipped", **self._fields()},
            )

    def _mark_reconnect_required(
        self, session: Tx, row: StoredConnection, refused: RefreshRefused
    ) -> None:
        """Mark and commit reconnect_required, then raise ReconnectRequired.

        Only if the row is still the one whose refresh token was refused: if another writer
        stored a newer token set meanwhile, the refusal says nothing about it (the caller
        re-raises RefreshRefused, and the next call uses the newer set).
        """
        reason = f"the {self._ledger} token endpoint answered {refused.error}"
        marked = connections.mark_reconnect_required(
            session,
            self._ledger,
            self._company,
            reason,
            generation=row.generation,
            now=self._clock(),
        )
        session.commit()
        if not marked:
            return
        log.warning(
            "ledger connection needs reconnecting",
            extra={"event": "ledger_reconnect_required", "reason": reason, **self._fields()},
        )
        raise ReconnectRequired(self._reconnect_message(reason)) from refused

    def _fields(self) -> dict[str, str]:
        return {"ledger": self._ledger, "company_id": self._company}

    def _checked(self, row: StoredConnection | None) -> StoredConnection:
        if row is None:
            raise self._not_connected()
        if row.state == ConnectionState.RECONNECT_REQUIRED:
            raise ReconnectRequired(self._reconnect_message(row.state_reason))
        return row

    def _not_connected(self) -> NotConnected:
        return NotConnected(
            f"no {self._ledger} connection is stored for company {self._company}: connect it first"
        )

    def _reconnect_message(self, reason: str | None) -> str:
        why = f" ({reason})" if reason else ""
        # The command first: an outage alert shows the reason's first 200 characters.
        return (
            f"run `syncbot connect {self._ledger}`: the {self._ledger} connection for company"
            f" {self._company} must be reconnected{why}"
        )
