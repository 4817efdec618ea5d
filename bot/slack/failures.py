"""Our own failures, logged so that an outage cannot flood the log.

A failure's kind is its exception class and where it comes from: ``database`` when the database is
down, frozen or overloaded (every request then fails the same way, so the first traceback tells
the whole story), otherwise the line that raised it (a bug, whose traceback is written each time,
up to a few per interval, so a hot loop cannot flood either). Further failures of a kind within
the interval are counted, and one ``<event>_repeated`` line carries the count when the interval
ends. The person is still answered every time; that is the caller's job.

It lives here, not in bot/runtime/logs.py, because the listeners call it and bot/slack must not
import bot/runtime; /health (bot/runtime) uses it too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from models.db import is_unreachable

# A database outage or a hot bug is summarised once per this many seconds: short enough that the
# log still shows when it ended, long enough that a 10 s outage under load costs a few lines
# rather than one 7.6 KB traceback per click (3.8 MB).
INTERVAL = 10.0
# Tracebacks written per interval for one kind of bug: enough to see it is not a one-off and to
# compare a few requests, few enough that a loop failing a thousand times a second writes 5.
BUG_TRACEBACKS = 5


@dataclass(frozen=True)
class FailureKind:
    """What makes two failures "the same": e.g. ``OperationalError@database``, ``KeyError@bot.x:12``."""

    name: str
    outage: bool  # the database's, not our code's


def failure_kind(error: BaseException) -> FailureKind:
    kind = type(error).__name__
    if is_unreachable(error):
        return FailureKind(f"{kind}@database", outage=True)
    return FailureKind(f"{kind}@{_origin(error)}", outage=False)


def _origin(error: BaseException) -> str:
    """The module and line that raised ``error`` (the innermost frame of its traceback)."""
    traceback = error.__traceback__
    if traceback is None:
        return "unknown"
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    module = traceback.tb_frame.f_globals.get("__name__", "unknown")
    return f"{module}:{traceback.tb_lineno}"


@dataclass(frozen=True)
class _Key:
    logger: logging.Logger
    event: str
    kind: FailureKind


@dataclass
class _Tally:
    ends: float  # on the reporter's clock
    tracebacks_left: int
    counted: int = 0


class FailureReporter:
    """Logs failures per (logger, event, kind): a few with their traceback, the rest as a count.

    ``clock`` (monotonic seconds) is a parameter so tests can step through intervals. With an event
    loop running, each interval's count is written when the interval ends; without one, when the
    next failure arrives (or :meth:`close_ended` is called).
    """

    def __init__(
        self,
        interval: float = INTERVAL,
        bug_tracebacks: int = BUG_TRACEBACKS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.interval = interval
        self.bug_tracebacks = bug_tracebacks
        self._clock = clock
        self._tallies: dict[_Key, _Tally] = {}

    def report(
        self,
        logger: logging.Logger,
        event: str,
        error: BaseException,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """Log ``error`` as ``event`` with its traceback, or count it if its kind has had its share."""
        self.close_ended()
        kind = failure_kind(error)
        key = _Key(logger, event, kind)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._open(key, self._clock(), tracebacks=1 if kind.outage else self.bug_tracebacks)
        if tally.tracebacks_left > 0:
            tally.tracebacks_left -= 1
            logger.error(event, exc_info=error, extra={**(extra or {}), "failure": kind.name})
        else:
            tally.counted += 1

    def close_ended(self) -> None:
        """Write the count of every interval that has ended, and forget kinds that went quiet."""
        now = self._clock()
        for key, tally in list(self._tallies.items()):
            current: _Tally | None = tally
            while current is not None and now >= current.ends:
                current = self._close(key, current)

    def flush(self) -> None:
        """Write every count so far, ended interval or not (at shutdown), and start afresh."""
        for key, tally in list(self._tallies.items()):
            del self._tallies[key]
            if tally.counted:
                key.logger.error(
                    f"{key.event}_repeated",
                    extra={"failure": key.kind.name, "count": tally.counted, "seconds": self.interval},
                )

    def _open(self, key: _Key, start: float, tracebacks: int) -> _Tally:
        tally = self._tallies[key] = _Tally(ends=start + self.interval, tracebacks_left=tracebacks)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return tally  # no loop: counts are written when the next failure comes
        loop.call_later(max(0.0, tally.ends - self._clock()), self.close_ended)
        return tally

    def _close(self, key: _Key, tally: _Tally) -> _Tally | None:
        del self._tallies[key]
        if not tally.counted:
            return None
        key.logger.error(
            f"{key.event}_repeated",
            extra={"failure": key.kind.name, "count": tally.counted, "seconds": self.interval},
        )
        # Still failing: keep counting in the next interval. An outage's story was told by its
        # first traceback; a bug gets a fresh allowance, so each interval shows a few of its own.
        return self._open(key, tally.ends, tracebacks=0 if key.kind.outage else self.bug_tracebacks)


# One reporter per event loop: a process serves its whole app from one loop, and the interval
# timers belong to that loop (each test, with its own loop, starts with a clean slate).
_REPORTERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FailureReporter] = (
    weakref.WeakKeyDictionary()
)


def reporter() -> FailureReporter:
    """The running event loop's reporter."""
    loop = asyncio.get_running_loop()
    found = _REPORTERS.get(loop)
    if found is None:
        found = _REPORTERS[loop] = FailureReporter()
    return found


def report_failure(logger: logging.Logger, event: str, extra: Mapping[str, object] | None = None) -> None:
    """Log the exception being handled as ``event``, throttled per kind (call it in an ``except``)."""
    error = sys.exception()
    if error is None:
        raise RuntimeError("report_failure() is for except blocks: no exception is being handled")
    reporter().report(logger, event, error, extra)
