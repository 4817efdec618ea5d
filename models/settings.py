"""The one database setting, read from the environment, so migrations need nothing from bot/.

:class:`EnvSettings` is a small pydantic model that reads its fields from the environment and an
optional ``.env`` file, the way pydantic-settings would for these plain fields, without keeping that
package (about 5 MB) in every process: a field ``database_url`` comes from ``DATABASE_URL`` (any
case); the environment wins over ``.env``; keyword arguments win over both; values are validated by
pydantic as usual.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.db import DEFAULT_DATABASE_URL


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=value`` lines of a .env file (comments, blank lines and ``export`` allowed; quotes
    around a value removed); nothing when the file does not exist."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        found[key.strip().lower()] = value
    return found


class EnvSettings(BaseModel):
    """Fields read from the environment and ``_env_file`` (default ``.env``; None: no file)."""

    model_config = ConfigDict(extra="ignore")

    def __init__(self, _env_file: str | Path | None = ".env", **values: Any) -> None:
        names = set(type(self).model_fields)
        from_file = read_env_file(_env_file) if _env_file is not None else {}
        from_env = {key.lower(): value for key, value in os.environ.items() if key.lower() in names}
        found = {name: value for name, value in {**from_file, **from_env}.items() if name in names}
        super().__init__(**{**found, **values})


class DatabaseSettings(EnvSettings):
    """``DATABASE_URL`` (or ``.env``); the app's own settings class extends this one."""

    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
