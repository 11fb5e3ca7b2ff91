"""Encrypts the ledger's OAuth tokens for the database with `SYNCBOT_SECRET_KEY` (Fernet).

The key may list several Fernet keys separated by commas: the first encrypts, every one is
tried to decrypt, so a key can be rotated (put the new key first, keep the old one until each
connection has refreshed once, which re-encrypts its tokens under the new key).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from sync_engine.errors import SyncEngineError

KEY_VARIABLE = "SYNCBOT_SECRET_KEY"
MAKE_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class SecretKeyError(SyncEngineError):
    """SYNCBOT_SECRET_KEY is missing or malformed, or does not open what the database holds."""


class SecretBox:
    """Seals and opens short secrets (tokens) with the Fernet key(s) of SYNCBOT_SECRET_KEY."""

    def __init__(self, key: str | SecretStr | None) -> None:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        keys = [part.strip() for part in (raw or "").split(",") if part.strip()]
        if not keys:
            raise SecretKeyError(
                f"{KEY_VARIABLE} is not set: it encrypts the accounting ledger's tokens in the"
                f" database. Make one with: {MAKE_KEY}"
            )
        self._fernet = MultiFernet([_fernet(number, part) for number, part in enumerate(keys, 1)])

    def __repr__(self) -> str:
        return "SecretBox(<redacted>)"

    def seal(self, plain: str) -> str:
        """The ciphertext of `plain`, as text for a database column."""
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The clear text of a value `seal` made; a clear error if no key given opens it."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise SecretKeyError(
                f"the stored ledger credentials cannot be decrypted with {KEY_VARIABLE}: was the"
                " key changed? List the old key after the new one (comma-separated), or"
                " reconnect the ledger."
            ) from exc


def _fernet(number: int, key: str) -> Fernet:
    try:
        return Fernet(key.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError):
        # `from None`: the underlying error may quote the key.
        raise SecretKeyError(
            f"{KEY_VARIABLE} is not a valid Fernet key (key {number}: it must be 32 url-safe"
            f" base64-encoded bytes, 44 characters). Make one with: {MAKE_KEY}"
        ) from None
