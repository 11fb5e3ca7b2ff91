"""SYNCBOT_SECRET_KEY: a missing or malformed key is a clear error; tokens never show in a repr."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from sync_engine.credentials import RefreshRefused, Tokens
from sync_engine.secret_box import MAKE_KEY, SecretBox, SecretKeyError
from sync_engine.settings import Settings


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_a_sealed_value_opens_and_is_not_the_clear_text() -> None:
    box = SecretBox(new_key())
    sealed = box.seal("RT1-secret-refresh")
    assert "RT1-secret-refresh" not in sealed
    assert box.open(sealed) == "RT1-secret-refresh"
    assert box.seal("x") != box.seal("x")  # Fernet's IV: equal tokens do not look equal


@pytest.mark.parametrize("key", [None, "", "  ", SecretStr("")])
def test_a_missing_key_names_the_variable_and_how_to_make_one(key: str | None) -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox(key)
    assert "SYNCBOT_SECRET_KEY is not set" in str(caught.value)
    assert MAKE_KEY in str(caught.value)


@pytest.mark.parametrize("key", ["not-a-key", "A" * 43, "é" * 44, "x" * 44])
def test_a_malformed_key_is_named_never_quoted(key: str) -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox(key)
    message = str(caught.value)
    assert "SYNCBOT_SECRET_KEY is not a valid Fernet key" in message
    assert MAKE_KEY in message
    assert key not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_value_sealed_under_another_key_is_a_clear_error() -> None:
    sealed = SecretBox(new_key()).seal("RT1-secret")
    with pytest.raises(SecretKeyError, match="cannot be decrypted with SYNCBOT_SECRET_KEY"):
        SecretBox(new_key()).open(sealed)


def test_a_rotated_key_still_opens_what_the_old_key_sealed() -> None:
    old, new = new_key(), new_key()
    sealed = SecretBox(old).seal("RT1-secret")
    rotated = SecretBox(f"{new}, {old}")
    assert rotated.open(sealed) == "RT1-secret"
    assert SecretBox(new).open(rotated.seal("RT2")) == "RT2"  # the first key seals


def test_the_setting_is_read_from_the_environment_and_kept_out_of_repr(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYNCBOT_SECRET_KEY", raising=False)
    assert Settings().secret_key is None
    key = new_key()
    monkeypatch.setenv("SYNCBOT_SECRET_KEY", key)
    settings = Settings()
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == key
    assert key not in repr(settings)
    assert SecretBox(settings.secret_key).open(SecretBox(key).seal("t")) == "t"
    assert key not in repr(SecretBox(key))


def test_tokens_never_show_in_repr_or_errors() -> None:
    tokens = Tokens("eyJ-access-secret", "RT1-refresh-secret", 3600, 8726400)
    for text in (repr(tokens), str(tokens)):
        assert "eyJ-access-secret" not in text and "RT1-refresh-secret" not in text
    assert "expires_in=3600" in repr(tokens)
    refused = RefreshRefused("invalid_grant", "Token invalid")
    assert str(refused) == "the token endpoint refused the refresh: invalid_grant (Token invalid)"
    assert refused.error_class == "auth"


def test_a_token_answer_is_read_with_qbo_lifetimes() -> None:
    tokens = Tokens.from_answer(
        {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 3600,
            "x_refresh_token_expires_in": "8726400",
        }
    )
    assert (tokens.expires_in, tokens.refresh_expires_in) == (3600.0, 8726400.0)
    assert tokens.refresh_hard_expires_in is None
    xero = Tokens.from_answer(
        {"access_token": "a", "refresh_token": "r", "expires_in": 1800},
        refresh_expires_in=60 * 86400,
    )
    assert (xero.expires_in, xero.refresh_expires_in) == (1800.0, 5184000.0)
    with pytest.raises(ValueError, match="no refresh_token"):
        Tokens.from_answer({"access_token": "a", "expires_in": 1800})
    with pytest.raises(ValueError, match="malformed expires_in"):
        Tokens.from_answer({"access_token": "a", "refresh_token": "r", "expires_in": "soon"})
