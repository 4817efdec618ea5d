"""Settings, read from the environment (and an optional .env file) in exactly one place."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from bot.slack.away import DEFAULT_AWAY
from models.settings import DatabaseSettings

SLACK_API_URL = "https://slack.com/api/"


class Settings(DatabaseSettings):
    """Everything the bot reads from its environment; ``DATABASE_URL`` comes from the base class."""

    slack_bot_token: str | None = Field(default=None, repr=False)
    slack_signing_secret: str | None = Field(default=None, repr=False)
    slack_app_token: str | None = Field(default=None, repr=False)
    # The app's id (A…, Basic Information); when set, start-up checks the token is this app's.
    slack_app_id: str | None = None
    port: int = Field(default=3000, ge=0, le=65535)  # 0: any free port (tests, benchmarks)
    host: str = "0.0.0.0"
    flows_dir: Path | None = None
    slack_api_url: str = SLACK_API_URL
    log_level: str = "INFO"
    # Whether the app upgrades the database itself at start-up (the Procfile's release phase
    # also does it; upgrading twice is a no-op).
    migrate_on_start: bool = True
    # How long the click that completes an assessment waits for its result to reach the channel
    # before telling the person it is queued (it is posted as soon as Slack lets us either way).
    result_post_wait: float = Field(default=5.0, ge=0, le=60)
    # Whether `python -m bot` runs the check-in scheduler itself (once a minute). Off when a cron
    # job or platform scheduler runs `python -m bot checkins` instead (both at once is safe too).
    checkins_in_process: bool = True
    # Slack status emoji and words that mean someone is away, so check-ins do not nudge them.
    away_statuses: str = DEFAULT_AWAY
    # A team (channel) is shown on the leaderboard once this many members have a result there, so
    # no one's own level can be read off it.
    leaderboard_min_members: int = Field(default=3, ge=2, le=100)

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        # slack_sdk joins base_url and method name by plain concatenation.
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", "flows_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def missing_credentials(self) -> list[str]:
        """Environment variables the chosen mode needs but does not have."""
        needed = {"SLACK_BOT_TOKEN": self.slack_bot_token}
        if self.socket_mode:
            needed["SLACK_APP_TOKEN"] = self.slack_app_token
        else:
            needed["SLACK_SIGNING_SECRET"] = self.slack_signing_secret
        return [name for name, value in needed.items() if not value]
