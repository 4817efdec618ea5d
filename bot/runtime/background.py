"""Work that runs after Slack has its acknowledgement: bounded, tracked, drained at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)

# At most this many pieces of work run at once. Generous on purpose: work mostly waits (on the
# database pool, on Slack), and a low cap would let a few hundred hanging replies hold every slot.
MAX_RUNNING = 500
# At most this many are accepted and not yet finished; past it, new work is refused
# (back-pressure) instead of piling up in memory while Slack keeps sending.
MAX_BACKLOG = 5000


class Background:
    """Starts tasks, keeps a reference to each until it ends, and drains them at shutdown.

    Listeners `await ack()` and hand the rest of their work here, so Bolt (run with
    process_before_response) answers Slack's HTTP request at once instead of polling for the
    acknowledgement every 10 ms. Concurrency and backlog are capped: ``spawn`` returns False when
    the backlog is full, and the caller tells the person to try again (or drops a repeatable click).
    """

    def __init__(self, max_running: int = MAX_RUNNING, max_backlog: int = MAX_BACKLOG) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_running)
        self.max_backlog = max_backlog
        self.refused = 0

    def has_room(self) -> bool:
        return len(self._tasks) < self.max_backlog

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> bool:
        """Run ``work`` when a slot is free; False (and ``work`` closed unrun) when the backlog is full."""
        if not self.has_room():
            work.close()
            self.refused += 1
            logger.warning("background_full", extra={"task": name, "backlog": len(self._tasks)})
            return False
        task = asyncio.create_task(self._in_slot(work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _in_slot(self, work: Coroutine[Any, Any, None]) -> None:
        async with self._slots:
            await work

    async def drain(self, grace: float = 10.0) -> None:
        """Wait for running work to finish (a reply half-sent is worse than a slower shutdown)."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=2)  # let cancelled work hand back what it holds
            logger.warning("background_work_cancelled", extra={"tasks": len(pending)})
