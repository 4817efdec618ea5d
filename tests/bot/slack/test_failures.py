"""The failure reporter, with real loggers and real exceptions: tracebacks for new kinds, counts for repeats.

Intervals are stepped with a clock the test moves; one test lets a real event loop end an interval.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.exc import OperationalError

from bot.slack.failures import FailureReporter, failure_kind, report_failure

EVENT = "click_failed"


class Clock:
    """Monotonic seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def log() -> logging.Logger:
    return logging.getLogger("tests.failures")


@pytest.fixture
def unopenable(tmp_path: Path) -> sqlalchemy.Engine:
    """A database that cannot be reached: its file's directory does not exist."""
    return sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'gone' / 'bot.db'}")


def outage(engine: sqlalchemy.Engine) -> OperationalError:
    """A fresh, real error from trying the unreachable database."""
    try:
        engine.connect()
    except OperationalError as error:
        return error
    raise AssertionError("the database was reachable")


def bug(step: int) -> KeyError:
    """A fresh, real KeyError, raised from the same line every time."""
    answers: dict[int, str] = {}
    try:
        _ = answers[step]
    except KeyError as error:
        return error
    raise AssertionError("unreachable")


def lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, bool, object]]:
    """(event, has a traceback, count) of every line written so far."""
    return [(r.getMessage(), r.exc_info is not None, getattr(r, "count", None)) for r in caplog.records]


def test_an_outage_logs_one_traceback_then_one_count_per_interval(
    log: logging.Logger, unopenable: sqlalchemy.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """50 database failures write one traceback; each later interval one count; a quiet one ends it."""
    clock = Clock()
    reporter = FailureReporter(interval=10, clock=clock)
    for _ in range(50):
        reporter.report(log, EVENT, outage(unopenable), {"action": "answer"})
    assert lines(caplog) == [(EVENT, True, None)]
    (first,) = caplog.records
    assert first.__dict__["failure"] == "OperationalError@database"
    assert first.__dict__["action"] == "answer"

    clock.now += 10  # still failing in the next interval: a count, no second traceback
    reporter.report(log, EVENT, outage(unopenable))
    clock.now += 10
    reporter.close_ended()
    assert lines(caplog)[1:] == [(f"{EVENT}_repeated", False, 49), (f"{EVENT}_repeated", False, 1)]

    clock.now += 10  # an interval without failures: the outage is over
    reporter.close_ended()
    reporter.report(log, EVENT, outage(unopenable))
    assert lines(caplog)[3:] == [(EVENT, True, None)]


def test_a_bug_keeps_its_traceback_a_few_times_per_interval_then_is_counted(
    log: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug in a hot loop writes five tracebacks and a count per interval; another bug has its own."""
    clock = Clock()
    reporter = FailureReporter(interval=10, bug_tracebacks=5, clock=clock)
    for step in range(100):
        reporter.report(log, EVENT, bug(step))
    assert lines(caplog) == [(EVENT, True, None)] * 5
    reporter.report(log, EVENT, ValueError("another bug"))
    assert lines(caplog)[5:] == [(EVENT, True, None)]
    clock.now += 10
    reporter.report(log, EVENT, bug(0))
    assert lines(caplog)[6:] == [(f"{EVENT}_repeated", False, 95), (EVENT, True, None)]


def test_kinds_are_the_class_and_the_database_or_the_line_that_raised(unopenable: sqlalchemy.Engine) -> None:
    """An outage's kind names the database; a bug's names the module and line, so two bugs differ."""
    assert failure_kind(outage(unopenable)).name == "OperationalError@database"
    assert failure_kind(outage(unopenable)).outage
    kind = failure_kind(bug(1))
    assert kind.name.startswith(f"KeyError@{__name__}:")
    assert not kind.outage
    assert failure_kind(bug(2)) == kind
    assert failure_kind(ValueError("raised nowhere")).name == "ValueError@unknown"


class Watch(logging.Handler):
    """Sets ``repeated`` when a count line arrives, so a test can await it instead of polling."""

    def __init__(self) -> None:
        super().__init__()
        self.repeated = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().endswith("_repeated"):
            self.repeated.set()


async def test_the_count_is_written_when_the_interval_ends_without_another_failure(
    log: logging.Logger, unopenable: sqlalchemy.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """With an event loop running, an interval's count is written when it ends, not at the next failure."""
    watch = Watch()
    log.addHandler(watch)
    try:
        reporter = FailureReporter(interval=0.2)
        for _ in range(3):
            reporter.report(log, EVENT, outage(unopenable))
        async with asyncio.timeout(5):
            await watch.repeated.wait()
    finally:
        log.removeHandler(watch)
    assert lines(caplog) == [(EVENT, True, None), (f"{EVENT}_repeated", False, 2)]


async def test_report_failure_logs_the_exception_being_handled_once_per_kind(
    log: logging.Logger, unopenable: sqlalchemy.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """In an except block, report_failure logs the first of a kind with its traceback and counts the rest."""
    for _ in range(3):
        try:
            unopenable.connect()
        except OperationalError:
            report_failure(log, EVENT, extra={"action": "answer"})
    assert lines(caplog) == [(EVENT, True, None)]
    with pytest.raises(RuntimeError, match="except blocks"):
        report_failure(log, EVENT)


def test_flush_writes_counts_of_intervals_still_running(caplog: pytest.LogCaptureFixture) -> None:
    """At shutdown, flush writes the count of an interval that has not ended yet, so nothing is untold."""
    reporter = FailureReporter(clock=lambda: 0.0)
    log = logging.getLogger("test.flush")
    for _ in range(4):
        try:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
        except OperationalError as error:
            reporter.report(log, "click_failed", error)
    reporter.flush()
    repeated = [r for r in caplog.records if r.getMessage() == "click_failed_repeated"]
    assert [getattr(r, "count", None) for r in repeated] == [3]
    reporter.flush()
    assert len([r for r in caplog.records if r.getMessage() == "click_failed_repeated"]) == 1
