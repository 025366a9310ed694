"""Secrets gathered from the environment in every shape, and masked in text, log records
and stored data (the end-to-end family is tests/e2e/test_secrets_e2e.py)."""

from __future__ import annotations

import logging

import pytest

from syncbot import cli as cli_module
from syncbot.redact import connection_secrets, redact_data, redact_text, redact_url
from syncbot.settings import Settings

ENV = {
    "ANTHROPIC_API_KEY": "  key-of-another-shape-42\n",
    "DATABASE_URL": "postgresql://app:us%40er-pw@db:5432/app?sslmode=require&password=query-pw-1",
    "REDIS_URL": "host=cache port=6379 password='kw pw \\' 2' user=x",
    "GITHUB_TOKEN": "gho_tokenvalue1234567890abcdef",
    "GH_TOKEN": "another-token-value-987",
}
SECRETS = (
    "key-of-another-shape-42",
    "us@er-pw",
    "query-pw-1",
    "kw pw ' 2",
    "gho_tokenvalue1234567890abcdef",
    "another-token-value-987",
)


def test_settings_gather_every_secret_and_strip_the_key() -> None:
    settings = Settings.from_env(ENV)
    assert settings.api_key == "key-of-another-shape-42" and settings.api_key_trimmed
    gathered = set(settings.secrets())
    assert set(SECRETS) <= gathered, gathered


@pytest.mark.parametrize("secret", SECRETS)
def test_each_secret_is_masked_in_text_and_stored_data(secret: str) -> None:
    secrets = Settings.from_env(ENV).secrets()
    text = f"failed: {secret} / {secret!r} / {ENV['DATABASE_URL']} / {ENV['REDIS_URL']}"
    masked = redact_text(text, secrets)
    assert secret not in masked and "***" in masked
    stored = redact_data({"journal": [{"error": text}], "n": 1}, secrets)
    assert secret not in str(stored) and stored["n"] == 1


def test_urls_show_hosts_but_no_password() -> None:
    shown = redact_url(ENV["DATABASE_URL"])
    assert shown == "postgresql://app:***@db:5432/app?sslmode=require&password=***"
    assert redact_url(ENV["REDIS_URL"]) == "host=cache port=6379 password=*** user=x"
    assert connection_secrets("redis://:pw-in-userinfo@h:6379/0") == {"pw-in-userinfo"}


def test_log_records_are_masked_once_the_cli_has_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "log-secret-value-77")
    assert cli_module.run(["--version"]) == 0
    with caplog.at_level(logging.WARNING):
        logging.getLogger("syncbot.targets.test").warning("key %s \x1b[8m", "log-secret-value-77")
    assert "log-secret-value-77" not in caplog.text and "\x1b" not in caplog.text
    assert "***" in caplog.text
