"""Structured logging: one JSON line per event, never a token or signing secret, no flood in an outage."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError

from bot.runtime.logs import configure_logging
from bot.slack.failures import FailureReporter

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


def test_an_outage_costs_one_traceback_and_one_count_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """200 clicks failing on an unreachable database write two JSON lines: one traceback, then the count."""
    configure_logging("INFO")
    now = [0.0]
    reporter = FailureReporter(interval=10, clock=lambda: now[0])
    unreachable = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'gone' / 'bot.db'}")
    listener = logging.getLogger("bot.slack.listeners.actions")
    for _ in range(200):
        try:
            unreachable.connect()
        except OperationalError as error:
            reporter.report(listener, "click_failed", error, {"action": "answer"})
    now[0] = 10
    reporter.close_ended()
    written = capsys.readouterr().err
    first, repeated = (json.loads(line) for line in written.strip().splitlines())
    assert (first["event"], first["action"]) == ("click_failed", "answer")
    assert first["failure"] == "OperationalError@database"
    assert "unable to open database file" in first["exception"]
    assert (repeated["event"], repeated["level"]) == ("click_failed_repeated", "error")
    assert (repeated["failure"], repeated["count"], repeated["seconds"]) == (
        "OperationalError@database",
        199,
        10,
    )
    assert "exception" not in repeated
    assert len(written) < 20_000  # one traceback's worth, where every click used to write its own
