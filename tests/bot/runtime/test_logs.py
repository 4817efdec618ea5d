"""Structured logging: one JSON line per event, never a token or signing secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot.runtime.logs import configure_logging

pytestmark = pytest.mark.usefixtures("restore_logging")


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


def test_an_events_data_cannot_overwrite_the_lines_own_fields(capsys: pytest.CaptureFixture[str]) -> None:
    """Extra data named like a line's own field (level, event, ts, ...) is kept beside it, not over it."""
    configure_logging("INFO")
    logging.getLogger("test").warning(
        "assessment_completed",
        extra={"level": 2, "event": "spoof", "ts": "then", "logger": "x", "exception": "none", "score": 2.5},
    )
    (line,) = (json.loads(text) for text in capsys.readouterr().err.strip().splitlines())
    assert (line["level"], line["event"], line["logger"]) == ("warning", "assessment_completed", "test")
    assert line["ts"] != "then"
    assert "exception" not in line
    assert (line["extra_level"], line["extra_event"], line["extra_ts"]) == (2, "spoof", "then")
    assert (line["extra_logger"], line["extra_exception"], line["score"]) == ("x", "none", 2.5)


def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    """Configuring logging again replaces the handler, so each event is still written once."""
    configure_logging("INFO")
    configure_logging("DEBUG")
    logging.getLogger("test").debug("once")
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
