"""Settings read once, at start-up, from the environment and `.env`."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The accounting systems a ledger adapter exists for (`sync_engine.ledger.make_ledger`).
LedgerName = Literal["gateway"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every setting the engine and the command line need; passed down, never read globally."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field("sqlite:///syncbot.db", validation_alias=_env("SYNCBOT_DATABASE_URL"))
    ledger: LedgerName = Field("gateway", validation_alias=_env("ACCOUNTING_LEDGER"))
    gateway_url: str = Field(
        "http://127.0.0.1:8900", validation_alias=_env("ACCOUNTING_GATEWAY_URL")
    )
    gateway_token: str = Field("", validation_alias=_env("ACCOUNTING_GATEWAY_TOKEN"), repr=False)
    batch_size: int = Field(30, ge=1, le=30, validation_alias=_env("ACCOUNTING_GATEWAY_BATCH_SIZE"))
    concurrency: int = Field(
        5, ge=1, le=64, validation_alias=_env("ACCOUNTING_GATEWAY_CONCURRENCY")
    )
    rate_per_minute: int = Field(
        0, ge=0, validation_alias=_env("ACCOUNTING_GATEWAY_RATE_PER_MINUTE")
    )
    timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("ACCOUNTING_GATEWAY_TIMEOUT_SECONDS")
    )
    backoff_base_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("SYNCBOT_BACKOFF_BASE_SECONDS")
    )
    backoff_cap_seconds: float = Field(
        21600.0, gt=0, validation_alias=_env("SYNCBOT_BACKOFF_CAP_SECONDS")
    )
    max_auto_attempts: int = Field(8, ge=0, validation_alias=_env("SYNCBOT_MAX_AUTO_ATTEMPTS"))
    lease_seconds: float = Field(120.0, gt=0, validation_alias=_env("SYNCBOT_LEASE_SECONDS"))
    scheduler_interval_seconds: float = Field(
        15.0, gt=0, validation_alias=_env("SYNCBOT_SCHEDULER_INTERVAL_SECONDS")
    )
    outage_threshold: int = Field(5, ge=1, validation_alias=_env("SYNCBOT_OUTAGE_THRESHOLD"))
    probe_base_seconds: float = Field(
        15.0, gt=0, validation_alias=_env("SYNCBOT_PROBE_BASE_SECONDS")
    )
    probe_cap_seconds: float = Field(
        600.0, gt=0, validation_alias=_env("SYNCBOT_PROBE_CAP_SECONDS")
    )
    # Encrypts the ledger's OAuth tokens in the database (sync_engine/secret_box.py).
    secret_key: SecretStr | None = Field(None, validation_alias=_env("SYNCBOT_SECRET_KEY"))
