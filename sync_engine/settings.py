"""Settings read once, at start-up, from the environment and `.env`."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# The accounting systems a ledger adapter exists for (`sync_engine.ledger.make_ledger`).
LedgerName = Literal["gateway", "quickbooks", "xero"]
BillStatus = Literal["AUTHORISED", "DRAFT"]


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
    # QuickBooks Online (ACCOUNTING_LEDGER=quickbooks): its contract's sections 0 and 8.
    qbo_api_base_url: str = Field(
        "https://quickbooks.api.intuit.com", validation_alias=_env("QBO_API_BASE_URL")
    )
    qbo_auth_url: str = Field(
        "https://appcenter.intuit.com/connect/oauth2", validation_alias=_env("QBO_AUTH_URL")
    )
    qbo_token_url: str = Field(
        "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        validation_alias=_env("QBO_TOKEN_URL"),
    )
    qbo_revoke_url: str = Field(
        "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        validation_alias=_env("QBO_REVOKE_URL"),
    )
    qbo_client_id: str = Field("", validation_alias=_env("QBO_CLIENT_ID"), repr=False)
    qbo_client_secret: SecretStr | None = Field(None, validation_alias=_env("QBO_CLIENT_SECRET"))
    qbo_redirect_uri: str = Field("", validation_alias=_env("QBO_REDIRECT_URI"))
    qbo_realm_id: str = Field("", validation_alias=_env("QBO_REALM_ID"))
    qbo_minor_version: int = Field(75, ge=75, validation_alias=_env("QBO_MINOR_VERSION"))
    qbo_account_reimbursement: str | None = Field(
        None, validation_alias=_env("QBO_ACCOUNT_REIMBURSEMENT")
    )
    qbo_account_honorarium: str | None = Field(
        None, validation_alias=_env("QBO_ACCOUNT_HONORARIUM")
    )
    qbo_ledger_timezone: str = Field("UTC", validation_alias=_env("QBO_LEDGER_TIMEZONE"))
    qbo_due_days: int = Field(0, ge=0, le=3650, validation_alias=_env("QBO_DUE_DAYS"))
    qbo_concurrency: int = Field(4, ge=1, le=10, validation_alias=_env("QBO_CONCURRENCY"))
    qbo_rate_per_second: int = Field(8, ge=1, validation_alias=_env("QBO_RATE_PER_SECOND"))
    qbo_rate_per_minute: int = Field(400, ge=1, validation_alias=_env("QBO_RATE_PER_MINUTE"))
    qbo_batch_size: int = Field(30, ge=1, le=30, validation_alias=_env("QBO_BATCH_SIZE"))
    qbo_batch_per_minute: int = Field(30, ge=1, validation_alias=_env("QBO_BATCH_PER_MINUTE"))
    qbo_timeout_seconds: float = Field(60.0, gt=0, validation_alias=_env("QBO_TIMEOUT_SECONDS"))
    qbo_settle_seconds: float = Field(180.0, ge=0, validation_alias=_env("QBO_SETTLE_SECONDS"))

    # Xero (ACCOUNTING_LEDGER=xero): its contract's sections 0 and 8.
    xero_api_base_url: str = Field(
        "https://api.xero.com/api.xro/2.0", validation_alias=_env("XERO_API_BASE_URL")
    )
    xero_connections_url: str = Field(
        "https://api.xero.com/connections", validation_alias=_env("XERO_CONNECTIONS_URL")
    )
    xero_auth_url: str = Field(
        "https://login.xero.com/identity/connect/authorize", validation_alias=_env("XERO_AUTH_URL")
    )
    xero_token_url: str = Field(
        "https://identity.xero.com/connect/token", validation_alias=_env("XERO_TOKEN_URL")
    )
    xero_client_id: str = Field("", validation_alias=_env("XERO_CLIENT_ID"), repr=False)
    xero_client_secret: SecretStr | None = Field(None, validation_alias=_env("XERO_CLIENT_SECRET"))
    xero_redirect_uri: str = Field("", validation_alias=_env("XERO_REDIRECT_URI"))
    xero_tenant_id: str = Field("", validation_alias=_env("XERO_TENANT_ID"))
    xero_scopes: str = Field(
        "offline_access accounting.invoices accounting.contacts.read accounting.settings.read",
        validation_alias=_env("XERO_SCOPES"),
    )
    xero_bill_status: BillStatus = Field("AUTHORISED", validation_alias=_env("XERO_BILL_STATUS"))
    xero_account_reimbursement: str | None = Field(
        None, validation_alias=_env("XERO_ACCOUNT_REIMBURSEMENT")
    )
    xero_account_honorarium: str | None = Field(
        None, validation_alias=_env("XERO_ACCOUNT_HONORARIUM")
    )
    xero_ledger_timezone: str = Field("UTC", validation_alias=_env("XERO_LEDGER_TIMEZONE"))
    xero_due_days: int = Field(0, ge=0, le=3650, validation_alias=_env("XERO_DUE_DAYS"))
    # Xero allows 5 calls in progress, 60 a minute and 5,000 a day per organisation.
    xero_concurrency: int = Field(3, ge=1, le=5, validation_alias=_env("XERO_CONCURRENCY"))
    xero_rate_per_minute: int = Field(
        50, ge=1, le=60, validation_alias=_env("XERO_RATE_PER_MINUTE")
    )
    xero_daily_budget: int = Field(4500, ge=1, validation_alias=_env("XERO_DAILY_BUDGET"))
    xero_batch_size: int = Field(30, ge=1, le=50, validation_alias=_env("XERO_BATCH_SIZE"))
    xero_timeout_seconds: float = Field(60.0, gt=0, validation_alias=_env("XERO_TIMEOUT_SECONDS"))
    # Xero keeps an Idempotency-Key 6 minutes: the window must stay inside them.
    xero_key_window_seconds: float = Field(
        300.0, ge=0, le=330, validation_alias=_env("XERO_KEY_WINDOW_SECONDS")
    )
    xero_settle_seconds: float = Field(180.0, ge=0, validation_alias=_env("XERO_SETTLE_SECONDS"))

    def ledger_company(self) -> str | None:
        """The company the chosen ledger posts to (QBO_REALM_ID, XERO_TENANT_ID), None if it
        names none."""
        if self.ledger == "quickbooks":
            return self.qbo_realm_id or None
        if self.ledger == "xero":
            return self.xero_tenant_id or None
        return None
