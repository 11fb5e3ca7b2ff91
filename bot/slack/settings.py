"""The Slack bot's settings, read once at start-up from the environment and `.env`."""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Fifteen rows of the longest text the list builder allows (every field at its clipped
# maximum) stay under Slack's ~12,000 characters of block text; twenty would not.
MAX_PAGE_SIZE = 15


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class SlackSettings(BaseSettings):
    """Tokens, the Web API's base URL, the HTTP port, admins and the list's page size."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    bot_token: str = Field(validation_alias=_env("SLACK_BOT_TOKEN"), repr=False, min_length=1)
    signing_secret: str = Field("", validation_alias=_env("SLACK_SIGNING_SECRET"), repr=False)
    app_token: str | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"), repr=False)
    api_url: str = Field("https://slack.com/api/", validation_alias=_env("SLACK_API_URL"))
    http_host: str = Field("0.0.0.0", validation_alias=_env("SYNCBOT_HTTP_HOST"))
    http_port: int = Field(3000, ge=0, le=65535, validation_alias=_env("SYNCBOT_HTTP_PORT"))
    alert_channel: str | None = Field(None, validation_alias=_env("SYNCBOT_ALERT_CHANNEL"))
    alert_interval_seconds: float = Field(
        3.0, gt=0, le=3600, validation_alias=_env("SYNCBOT_ALERT_INTERVAL_SECONDS")
    )
    page_size: int = Field(10, ge=1, le=MAX_PAGE_SIZE, validation_alias=_env("SYNCBOT_PAGE_SIZE"))
    admin_users: str = Field("", validation_alias=_env("SYNCBOT_ADMIN_USERS"))
    admin_usergroup: str | None = Field(None, validation_alias=_env("SYNCBOT_ADMIN_USERGROUP"))
    # Let `/accounting failed`, `retry` and `history` post record data in public and Slack
    # Connect channels too (off: they answer there only that they work elsewhere).
    allow_public_channels: bool = Field(
        False, validation_alias=_env("SYNCBOT_ALLOW_PUBLIC_CHANNELS")
    )
    # Prometheus on its own listener, kept off the port Slack (and so the internet) reaches.
    metrics_host: str = Field("127.0.0.1", validation_alias=_env("SYNCBOT_METRICS_HOST"))
    metrics_port: int | None = Field(
        None, ge=0, le=65535, validation_alias=_env("SYNCBOT_METRICS_PORT")
    )

    @field_validator("api_url")
    @classmethod
    def _with_trailing_slash(cls, value: str) -> str:
        # WebClient joins method names onto the base URL; without the slash the last path
        # segment would be replaced ("http://host/api" + "chat.update" -> "http://host/chat.update").
        return value if value.endswith("/") else value + "/"

    @field_validator("app_token", "alert_channel", "admin_usergroup")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_port_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _http_needs_a_secret(self) -> SlackSettings:
        # Socket Mode needs no signature (Slack's connection is authenticated); HTTP mode does.
        if self.app_token is None and not self.signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is required unless SLACK_APP_TOKEN is set")
        return self

    @property
    def admins(self) -> frozenset[str]:
        """The Slack user ids named in SYNCBOT_ADMIN_USERS."""
        return frozenset(u.strip() for u in self.admin_users.split(",") if u.strip())

    @property
    def socket_mode(self) -> bool:
        """Whether the bot connects over Socket Mode (an app-level token is set)."""
        return self.app_token is not None
