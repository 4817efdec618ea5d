"""Settings from the environment: defaults, modes and what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.runtime.settings import Settings


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "DATABASE_URL",
        "PORT",
        "SLACK_API_URL",
        "FLOWS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of the box: HTTP mode on port 3000, an SQLite file, Slack's own API URL."""
    s = settings(monkeypatch)
    assert (s.port, s.socket_mode, s.slack_api_url) == (3000, False, "https://slack.com/api/")
    assert s.database_url.startswith("sqlite+aiosqlite:///")
    assert s.missing_credentials() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]


def test_socket_mode_needs_the_app_token_not_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """With SLACK_APP_TOKEN set the app runs in Socket Mode and no signing secret is needed."""
    s = settings(monkeypatch, SLACK_APP_TOKEN="xapp-1", SLACK_BOT_TOKEN="xoxb-1")
    assert s.socket_mode
    assert s.missing_credentials() == []


def test_api_url_gets_a_trailing_slash_and_blank_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """SLACK_API_URL works with or without its slash; an empty token counts as missing."""
    s = settings(monkeypatch, SLACK_API_URL="https://slack-gov.com/api", SLACK_BOT_TOKEN=" ")
    assert s.slack_api_url == "https://slack-gov.com/api/"
    assert "SLACK_BOT_TOKEN" in s.missing_credentials()


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printing the settings never shows a token, secret or database password."""
    s = settings(
        monkeypatch,
        SLACK_BOT_TOKEN="xoxb-secret",
        SLACK_SIGNING_SECRET="shh-secret",
        DATABASE_URL="postgres://u:pw-secret@h/db",
    )
    assert "secret" not in repr(s)


def test_a_dot_env_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`.env` lines (comments, `export`, quotes) fill what the environment does not set; explicit
    arguments win over both; names match in any case."""
    for name in ("SLACK_BOT_TOKEN", "PORT", "LOG_LEVEL", "MIGRATE_ON_START", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# local settings\n"
        "export SLACK_BOT_TOKEN='xoxb-from-file'\n"
        "PORT=4000  # a comment\n"
        'log_level="DEBUG"\n'
        "MIGRATE_ON_START=0\n"
        "not a setting line\n"
    )
    monkeypatch.setenv("PORT", "5000")
    s = Settings(_env_file=env_file)
    assert (s.slack_bot_token, s.port, s.log_level, s.migrate_on_start) == (
        "xoxb-from-file",
        5000,
        "DEBUG",
        False,
    )
    assert Settings(_env_file=env_file, port=6000).port == 6000
    assert Settings(_env_file=tmp_path / "missing.env").slack_bot_token is None


def test_a_bad_value_is_refused_with_the_settings_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        Settings(_env_file=None)
