"""The one database setting, read from the environment, so migrations need nothing from bot/."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.db import DEFAULT_DATABASE_URL


class DatabaseSettings(BaseSettings):
    """``DATABASE_URL`` (or ``.env``); the app's own settings class extends this one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
