"""`syncbot serve` redacts the ledger's secrets: the token-sealing key and the QBO app secret."""

from __future__ import annotations

import io
import logging

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.logs import REDACTED, JsonLines
from bot.slack.server import ledger_secrets
from sync_engine.settings import Settings


def test_the_secret_key_each_rotated_key_and_the_qbo_client_secret_are_redacted() -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(
        secret_key=SecretStr(f"{new},{old}"),
        qbo_client_secret=SecretStr("qbo-app-client-secret-1234"),
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines(ledger_secrets(settings)))
    record = logging.makeLogRecord(
        {"msg": f"key {new} old {old} secret qbo-app-client-secret-1234", "levelno": 20}
    )
    handler.emit(record)
    line = stream.getvalue()
    assert new not in line and old not in line and "qbo-app-client-secret-1234" not in line
    assert line.count(REDACTED) == 3


def test_unset_ledger_secrets_add_nothing() -> None:
    assert ledger_secrets(Settings(secret_key=None, qbo_client_secret=None)) == []
