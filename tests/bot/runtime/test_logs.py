"""Structured logging: one JSON line per event, never a token or signing secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot.runtime.logs import configure_logging


def test_one_json_line_per_event_with_secrets_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    """Tokens in the message, in extra fields and in tracebacks are replaced; the line is JSON."""
    configure_logging("INFO", secrets=["signing-secret-value"])
    log = logging.getLogger("test")
    log.info("sent with xoxb-123-456-abc", extra={"header": "Bearer xapp-1-A1-xyz", "n": 3})
    try:
        raise RuntimeError("bad secret signing-secret-value")
    except RuntimeError:
        log.exception("failed")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "sent with [redacted]"
    assert first["header"] == "Bearer [redacted]"
    assert first["n"] == 3
    assert first["level"] == "info"
    assert "RuntimeError" in second["exception"]
    assert "signing-secret-value" not in "\n".join(lines)
    assert "xoxb-" not in "\n".join(lines)
    logging.getLogger().handlers.clear()
