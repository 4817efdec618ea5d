"""The in-process check-in scheduler: once a minute, claim what is due and wake the dispatcher.

Claiming is exactly once in the database, so this loop can run in every instance, beside a cron
job running `python -m bot checkins`, without a check-in being posted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from bot.runtime.dispatcher import Dispatcher
from bot.services.checkins import CheckinService, RunReport
from bot.slack.failures import report_failure

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, checkins: CheckinService, dispatcher: Dispatcher, *, interval: float = 60.0):
        self.checkins = checkins
        self.dispatcher = dispatcher
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="checkin-scheduler")
        logger.info("scheduler_started", extra={"interval": self.interval})

    async def stop(self, grace: float = 10.0) -> None:
        """Stop after the pass under way (a pass is short: claims and queues, posts go via the outbox)."""
        self._stop.set()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace)
            if not done:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        logger.info("scheduler_stopped")

    async def run_once(self, now: datetime | None = None) -> RunReport:
        report = await self.checkins.run_due(now, on_queued=self.dispatcher.wake)
        if report.posted:
            logger.info(
                "checkins_run",
                extra={"posted": report.posted, "late": report.late, "skipped": report.skipped},
            )
        return report

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:
                report_failure(logger, "checkins_run_failed")
            # Wake at the start of the next minute (wall clock): check-ins are set to the minute.
            wait = (
                self.interval - (time.time() % self.interval) + 0.5 if self.interval >= 60 else self.interval
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)
