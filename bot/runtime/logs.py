"""Structured logging: one JSON object per line, secrets scrubbed before anything is written."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

# Slack tokens (bot, user, app-level, config) look like xoxb-..., xoxp-..., xapp-..., xoxe-...
_TOKEN = re.compile(r"\bx(?:ox[abpers]|app)-[A-Za-z0-9-]+")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class Redactor(logging.Filter):
    """Replaces Slack tokens and any configured secret value with a placeholder."""

    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        self.secrets = [s for s in (secrets or []) if s and len(s) >= 6]

    def scrub(self, text: str) -> str:
        text = _TOKEN.sub("[redacted]", text)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.scrub(value))
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor):
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                # An event's own data never overwrites the line's fields (ts, level, logger, ...).
                line[f"extra_{key}" if key in line or key == "exception" else key] = value
        if record.exc_info:
            line["exception"] = self.redactor.scrub(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO", secrets: list[str] | None = None) -> None:
    """Send every log record to stderr as one JSON line, with secrets redacted."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Bolt and aiohttp are chatty at INFO (every request); keep their warnings and errors.
    for noisy in ("slack_bolt", "slack_sdk", "aiohttp.access", "sqlalchemy.engine", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
