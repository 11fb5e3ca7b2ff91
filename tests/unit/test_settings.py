"""Settings come from the environment (and `.env`) under the names the docs give."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from storage.db import normalise_url
from sync_engine.settings import Settings

NAMES = {
    "SYNCBOT_DATABASE_URL": ("database_url", "sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    "ACCOUNTING_LEDGER": ("ledger", "gateway", "gateway"),
    "ACCOUNTING_GATEWAY_URL": ("gateway_url", "http://127.0.0.1:9", "http://127.0.0.1:9"),
    "ACCOUNTING_GATEWAY_TOKEN": ("gateway_token", "s3cret", "s3cret"),
    "ACCOUNTING_GATEWAY_BATCH_SIZE": ("batch_size", "1", 1),
    "ACCOUNTING_GATEWAY_CONCURRENCY": ("concurrency", "10", 10),
    "ACCOUNTING_GATEWAY_RATE_PER_MINUTE": ("rate_per_minute", "60", 60),
    "ACCOUNTING_GATEWAY_TIMEOUT_SECONDS": ("timeout_seconds", "2.5", 2.5),
    "SYNCBOT_BACKOFF_BASE_SECONDS": ("backoff_base_seconds", "0.25", 0.25),
    "SYNCBOT_BACKOFF_CAP_SECONDS": ("backoff_cap_seconds", "600", 600.0),
    "SYNCBOT_MAX_AUTO_ATTEMPTS": ("max_auto_attempts", "3", 3),
    "SYNCBOT_LEASE_SECONDS": ("lease_seconds", "0.5", 0.5),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults():
    s = Settings()
    assert (s.database_url, s.batch_size, s.concurrency, s.rate_per_minute) == (
        "sqlite:///syncbot.db",
        30,
        5,
        0,
    )
    assert (s.timeout_seconds, s.backoff_base_seconds, s.backoff_cap_seconds) == (30, 60, 21600)
    assert (s.max_auto_attempts, s.lease_seconds) == (8, 120)
    assert s.ledger == "gateway"


@pytest.mark.parametrize("name", NAMES)
def test_each_variable_is_read(monkeypatch, name):
    field, raw, value = NAMES[name]
    monkeypatch.setenv(name, raw)
    assert getattr(Settings(), field) == value


def test_dot_env_is_read(tmp_path):
    (tmp_path / ".env").write_text("ACCOUNTING_GATEWAY_BATCH_SIZE=7\n", encoding="utf-8")
    assert Settings().batch_size == 7


def test_the_token_never_shows_in_repr(monkeypatch):
    monkeypatch.setenv("ACCOUNTING_GATEWAY_TOKEN", "s3cret")
    assert "s3cret" not in repr(Settings())


@pytest.mark.parametrize(
    ("name", "raw"),
    [("ACCOUNTING_GATEWAY_BATCH_SIZE", "abc"), ("ACCOUNTING_GATEWAY_BATCH_SIZE", "31")],
)
def test_bad_values_name_the_variable(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert name in str(caught.value)


@pytest.mark.parametrize("raw", ["sage", "Gateway", ""])
def test_an_unknown_ledger_names_the_variable_and_the_accepted_values(monkeypatch, raw):
    monkeypatch.setenv("ACCOUNTING_LEDGER", raw)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [
        (("ACCOUNTING_LEDGER",), "Input should be 'gateway', 'quickbooks' or 'xero'")
    ]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/test",
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
        ),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///syncbot.db", "sqlite:///syncbot.db"),
    ],
)
def test_plain_postgresql_means_psycopg3(url, expected):
    assert normalise_url(url) == expected
